-- vanderpol.lua: the Van der Pol oscillator x'' = mu*(1 - x^2)*x' - x
-- (mu = 3/2) integrated by classical Runge-Kutta (RK4) with h = 1/1000
-- from x = 2, y = x' = 0 for 3,000,000 steps, as vanderpol.iasm. Prints
-- the times x crossed zero upwards, the largest |y| seen (times 1000,
-- truncated), and 1000000*x and 1000000*y at the end, truncated.
local mu = 3.0 / 2.0
local h = 1.0 / 1000.0
local h2 = h / 2.0
local h6 = h / 6.0
local x, y = 2.0, 0.0
local ups, ymax = 0, 0.0
local function trunc(v)
  if v >= 0 then return math.floor(v) end
  return math.ceil(v)
end
for _ = 1, 3000000 do
  local k1x = y
  local k1y = mu * (1.0 - x * x) * y - x
  local x2, y2 = x + h2 * k1x, y + h2 * k1y
  local k2x = y2
  local k2y = mu * (1.0 - x2 * x2) * y2 - x2
  local x3, y3 = x + h2 * k2x, y + h2 * k2y
  local k3x = y3
  local k3y = mu * (1.0 - x3 * x3) * y3 - x3
  local x4, y4 = x + h * k3x, y + h * k3y
  local k4x = y4
  local k4y = mu * (1.0 - x4 * x4) * y4 - x4
  local nx = x + h6 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
  y = y + h6 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
  if x < 0.0 and nx >= 0.0 then ups = ups + 1 end
  x = nx
  if y > ymax then ymax = y elseif -y > ymax then ymax = -y end
end
print(ups .. " " .. trunc(ymax * 1000.0) .. " " .. trunc(x * 1000000.0) .. " " .. trunc(y * 1000000.0))
