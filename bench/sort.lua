-- sort.lua: insertion sort of 10,000 pseudo-random numbers, generated as
-- in sort.iasm; prints the smallest, the largest and a checksum of the
-- sorted array.
local n = 10000
local a = {}
local x = 1
for i = 1, n do
  x = (x * 75 + 74) % 65537
  a[i] = x
end
for i = 2, n do
  local v = a[i]
  local j = i - 1
  while j >= 1 and a[j] > v do
    a[j + 1] = a[j]
    j = j - 1
  end
  a[j + 1] = v
end
local sum = 0
for i = 1, n do
  sum = (sum * 31 + a[i]) % 1000003
end
print(a[1] .. " " .. a[n] .. " " .. sum)
