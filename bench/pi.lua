-- pi.lua: pi by the midpoint rule, the integral of 4/(1+x^2) over [0, 1]
-- in 20,000,000 steps, as pi.iasm, each float operation in its order;
-- prints the approximation times 1,000,000, truncated.
local n = 20000000
local h = 1 / n
local sum = 0.0
for i = 0, n - 1 do
  local x = (i + 0.5) * h
  sum = sum + 4 / (1 + x * x)
end
io.write(math.floor(sum * h * 1000000), "\n")
