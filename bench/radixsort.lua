-- radixsort.lua: LSD radix sort, a byte at a time (4 passes, each a
-- counting sort into a second array), of 500,000 31-bit numbers from
-- x = (x*1103515245 + 12345) & 0x7FFFFFFF (from 1), as radixsort.iasm.
-- The digit of a pass is (v // place) & 255, place = 1, 256, 65536,
-- 16777216. Prints the smallest, the middle and the largest number, the
-- pairs out of order after the sort, and a hash of the sorted order
-- (h = (h*31 + v mod 1024) mod 1000003).
local n = 500000
local a, b = {}, {}
local x = 1
for i = 1, n do
  x = (x * 1103515245 + 12345) & 0x7FFFFFFF
  a[i] = x
end
local count = {}
local place = 1
for _ = 1, 4 do
  for d = 0, 255 do count[d] = 0 end
  for i = 1, n do
    local d = (a[i] // place) & 255
    count[d] = count[d] + 1
  end
  local pos = 1
  for d = 0, 255 do
    local c = count[d]
    count[d] = pos
    pos = pos + c
  end
  for i = 1, n do
    local v = a[i]
    local d = (v // place) & 255
    b[count[d]] = v
    count[d] = count[d] + 1
  end
  a, b = b, a
  place = place * 256
end
local unsorted, h = 0, 0
for i = 1, n do
  if i < n and a[i] > a[i + 1] then unsorted = unsorted + 1 end
  h = (h * 31 + a[i] % 1024) % 1000003
end
print(a[1] .. " " .. a[n // 2] .. " " .. a[n] .. " " .. unsorted .. " " .. h)
