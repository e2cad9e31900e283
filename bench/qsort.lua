-- qsort.lua: quicksort (Lomuto's partition, the last element as pivot) of
-- 500,000 pseudo-random numbers without recursion, the ranges still to
-- sort on a stack of (lo, hi) pairs, as qsort.iasm.
local n = 500000
local a = {}
local x = 1
for k = 0, n - 1 do
  x = (x * 75 + 74) % 65537
  a[k] = x
end
local stack, top = { 0, n - 1 }, 2
while top > 0 do
  local hi, lo = stack[top], stack[top - 1]
  top = top - 2
  if lo < hi then
    local pivot = a[hi]
    local i = lo
    for j = lo, hi - 1 do
      local v = a[j]
      if v < pivot then
        a[j] = a[i]
        a[i] = v
        i = i + 1
      end
    end
    a[hi] = a[i]
    a[i] = pivot
    stack[top + 1], stack[top + 2] = lo, i - 1
    stack[top + 3], stack[top + 4] = i + 1, hi
    top = top + 4
  end
end
local wrong = 0
for k = 0, n - 2 do
  if a[k] > a[k + 1] then wrong = wrong + 1 end
end
io.write(a[0], " ", a[n / 2], " ", a[n - 1], " ", wrong, "\n")
