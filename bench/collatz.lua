-- collatz.lua: the start below 100,000 with the longest Collatz chain and
-- the chain's length in steps, the algorithm of collatz.iasm.
local limit = 100000
local best, beststart = 0, 0
for start = 1, limit - 1 do
  local n, steps = start, 0
  while n ~= 1 do
    if n % 2 == 0 then
      n = n // 2
    else
      n = 3 * n + 1
    end
    steps = steps + 1
  end
  if steps > best then
    best, beststart = steps, start
  end
end
print(beststart .. " " .. best)
