-- hashtab.lua: open addressing with linear probing, 2,000,003 slots,
-- h = key mod 2000003, as hashtab.iasm.
local size = 2000003
local t = {}
for i = 0, size - 1 do t[i] = 0 end
local n = 1300000
local x, y = 1, 7
local inserted, found, probes = 0, 0, 0
for _ = 1, n do
  x = (x * 75 + 74) % 65537
  y = (y * 263 + 71) % 100003
  local key = x * 16384 + (y & 16383) + 1
  local h = key % size
  while true do
    local v = t[h]
    if v == 0 then
      t[h] = key
      inserted = inserted + 1
      break
    elseif v == key then
      break
    end
    h = h + 1
    probes = probes + 1
    if h == size then h = 0 end
  end
end
x, y = 1, 7
for i = 0, n - 1 do
  x = (x * 75 + 74) % 65537
  y = (y * 263 + 71) % 100003
  local key = x * 16384 + (y & 16383) + 1 + (i & 1)
  local h = key % size
  while true do
    local v = t[h]
    if v == 0 then
      break
    elseif v == key then
      found = found + 1
      break
    end
    h = h + 1
    probes = probes + 1
    if h == size then h = 0 end
  end
end
print(inserted .. " " .. found .. " " .. probes)
