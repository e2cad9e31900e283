-- newton.lua: square roots by Newton's method in floats, as newton.iasm:
-- the sum of sqrt(i) for i = 1..N, each by x = (x + a/x)/2 from x = a
-- until x stops decreasing, and the number of Newton steps. Prints the
-- integer part of the sum, the first six decimals, and the steps.
local steps = 0
local function fsqrt(a)
  local x = a
  while true do
    local y = (x + a / x) * 0.5
    steps = steps + 1
    if y >= x then return x end
    x = y
  end
end
local s = 0.0
for i = 1, 800000 do
  s = s + fsqrt(i)
end
local ip = math.floor(s)
print(ip .. " " .. math.floor((s - ip) * 1000000) .. " " .. steps)
