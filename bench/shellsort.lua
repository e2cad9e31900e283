-- shellsort.lua: Shell sort (gaps 1, 4, 13, 40, ...: h = 3h + 1) of
-- 300,000 pseudo-random numbers, the algorithm of shellsort.iasm; prints
-- the smallest, the largest and a checksum of the sorted array.
local n = 300000
local a = {}
local x = 1
for i = 1, n do
  x = (x * 75 + 74) % 65537
  a[i] = x
end
local h = 1
while h < n // 3 do
  h = 3 * h + 1
end
while h >= 1 do
  for i = h + 1, n do
    local v = a[i]
    local j = i
    while j > h and a[j - h] > v do
      a[j] = a[j - h]
      j = j - h
    end
    a[j] = v
  end
  h = h // 3
end
local sum = 0
for i = 1, n do
  sum = (sum * 31 + a[i]) % 1000003
end
print(a[1] .. " " .. a[n] .. " " .. sum)
