-- bsearch.lua: binary search over a sorted array of 100,000 numbers
-- (a[i] = 3i + 1 for i = 0 .. n-1), 10 rounds of 100,000 queries, the
-- algorithm of bsearch.iasm. Keys are 5x for the successive values of
-- x = (x*75 + 74) mod 65537 from x = 1. Prints the number of keys found
-- and the sum of their indexes mod 1000003.
local n = 100000
local a = {}
for i = 0, n - 1 do
  a[i + 1] = 3 * i + 1
end
local x = 1
local found, sum = 0, 0
for round = 1, 10 do
  for q = 1, 100000 do
    x = (x * 75 + 74) % 65537
    local key = x * 5
    local lo, hi = 0, n - 1
    while lo <= hi do
      local mid = (lo + hi) // 2
      local v = a[mid + 1]
      if v == key then
        found = found + 1
        sum = (sum + mid) % 1000003
        break
      elseif v < key then
        lo = mid + 1
      else
        hi = mid - 1
      end
    end
  end
end
print(found .. " " .. sum)
