-- rk4.lua: the Henon-Heiles system (x' = px, y' = py, px' = -x - 2xy,
-- py' = -y - x^2 + y^2) integrated by classical Runge-Kutta (RK4) with
-- dt = 1/100 from (x, y, px, py) = (0, 1/10, 7/20, 0), 2,000,000 steps,
-- as rk4.iasm, where the derivative is a subroutine called four times a
-- step. Counts the steps at which x goes from negative to non-negative
-- with px > 0 (Poincare section crossings); prints the count, 10^6 * the
-- final x, y, and 10^9 * the energy, truncated.
local function trunc(f)
  if f >= 0 then return math.floor(f) else return math.ceil(f) end
end
local function deriv(x, y, px, py)
  return px, py, (0.0 - x) - 2.0 * x * y, (0.0 - y) - x * x + y * y
end
local dt = 1.0 / 100.0
local h2 = dt / 2.0
local h6 = dt / 6.0
local x, y, px, py = 0.0, 1.0 / 10.0, 7.0 / 20.0, 0.0
local cross = 0
for s = 1, 2000000 do
  local a1, b1, c1, d1 = deriv(x, y, px, py)
  local a2, b2, c2, d2 = deriv(x + h2 * a1, y + h2 * b1, px + h2 * c1, py + h2 * d1)
  local a3, b3, c3, d3 = deriv(x + h2 * a2, y + h2 * b2, px + h2 * c2, py + h2 * d2)
  local a4, b4, c4, d4 = deriv(x + dt * a3, y + dt * b3, px + dt * c3, py + dt * d3)
  local nx = x + h6 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
  local ny = y + h6 * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
  local npx = px + h6 * (c1 + 2.0 * c2 + 2.0 * c3 + c4)
  local npy = py + h6 * (d1 + 2.0 * d2 + 2.0 * d3 + d4)
  if x < 0.0 and nx >= 0.0 and npx > 0.0 then cross = cross + 1 end
  x, y, px, py = nx, ny, npx, npy
end
local e = 0.5 * (px * px + py * py) + 0.5 * (x * x + y * y) + x * x * y - y * y * y / 3.0
io.write(cross, " ", trunc(x * 1000000), " ", trunc(y * 1000000), " ", trunc(e * 1000000000), "\n")
