-- strsearch.lua: naive substring search of four patterns in a text of
-- 1,500,000 letters, as strsearch.iasm.
local n = 1500000
local text = {}
local x = 1
for i = 1, n do
  x = (x * 75 + 74) % 65537
  text[i] = 97 + x % 4
end
local function count(pat, m)
  local c, s = 0, 0
  for i = 1, n - m + 1 do
    local j = 0
    while j < m and text[i + j] == pat[j + 1] do
      j = j + 1
    end
    if j == m then
      c = c + 1
      s = (s + i - 1) % 1000003
    end
  end
  return c, s
end
local out = {}
local pats = { { 97, 98, 99, 97 }, { 100, 97, 100, 100 }, { 98, 99, 97, 98, 100 }, { 97, 97, 97, 98 } }
local c, s
for k = 1, 4 do
  c, s = count(pats[k], #pats[k])
  out[#out + 1] = c
end
print(table.concat(out, " ") .. " " .. s)
