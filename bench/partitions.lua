-- partitions.lua: ways(n, k, lo, hi), the number of ways to write n as a
-- sum of k parts lo <= p1 <= ... <= pk <= hi, by plain recursion, as
-- partitions.iasm; prints ways(N, k, 1, H) for k = 1..K and the calls made.
local calls = 0
local function ways(n, k, lo, hi)
  calls = calls + 1
  if k == 0 then
    if n == 0 then return 1 end
    return 0
  end
  local total = 0
  local v = lo
  while v <= hi and v * k <= n do
    total = total + ways(n - v, k - 1, v, hi)
    v = v + 1
  end
  return total
end
local N, H, K = 85, 40, 10
for k = 1, K do
  io.write(ways(N, k, 1, H), " ")
end
io.write(calls, "\n")
