-- heapsort.lua: heap sort of 600,000 pseudo-random numbers
-- (x = (x*75+74) mod 65537 from 1), as heapsort.iasm. Prints the first,
-- middle and last elements and the places out of order.
local n = 600000
local a = {}
local x = 1
for i = 0, n - 1 do
  x = (x * 75 + 74) % 65537
  a[i] = x
end
local function siftdown(root, last)
  local v = a[root]
  while true do
    local child = 2 * root + 1
    if child > last then break end
    if child < last and a[child] < a[child + 1] then child = child + 1 end
    local c = a[child]
    if c <= v then break end
    a[root] = c
    root = child
  end
  a[root] = v
end
for start = n // 2 - 1, 0, -1 do
  siftdown(start, n - 1)
end
for last = n - 1, 1, -1 do
  a[0], a[last] = a[last], a[0]
  siftdown(0, last - 1)
end
local wrong = 0
for k = 0, n - 2 do
  if a[k] > a[k + 1] then wrong = wrong + 1 end
end
print(a[0] .. " " .. a[n // 2] .. " " .. a[n - 1] .. " " .. wrong)
