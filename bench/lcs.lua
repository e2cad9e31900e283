-- lcs.lua: the length of the longest common subsequence of two sequences
-- of 3,000 symbols from {0,1,2,3} (made by the LCG x = (x*75+74) mod 65537,
-- symbol x mod 4 for a, (x / 8) mod 4 for b), by the full dynamic-
-- programming table, as lcs.iasm. Prints the length and a checksum of
-- the last row.
local n, m = 3000, 3000
local a, b = {}, {}
local x = 1
for i = 1, n do
  x = (x * 75 + 74) % 65537
  a[i] = x % 4
end
for j = 1, m do
  x = (x * 75 + 74) % 65537
  b[j] = (x // 8) % 4
end
local d = {}
for i = 0, n do
  local row = {}
  for j = 0, m do row[j] = 0 end
  d[i] = row
end
for i = 1, n do
  local ai = a[i]
  local prev, cur = d[i - 1], d[i]
  for j = 1, m do
    if ai == b[j] then
      cur[j] = prev[j - 1] + 1
    else
      local up, left = prev[j], cur[j - 1]
      if up >= left then cur[j] = up else cur[j] = left end
    end
  end
end
local sum = 0
for j = 0, m do sum = (sum * 31 + d[n][j]) % 1000003 end
print(d[n][m] .. " " .. sum)
