-- lorenz.lua: the Lorenz system (s = 10, r = 28, b = 8/3) integrated with
-- Euler steps of dt = 1/1000 from (1, 1, 1), as lorenz.iasm. Counts the
-- steps at which x changes sign and prints that count and 1000*x, 1000*y,
-- 1000*z at the end, truncated.
local s, r, b = 10.0, 28.0, 8.0 / 3.0
local dt = 1.0 / 1000.0
local x, y, z = 1.0, 1.0, 1.0
local crossings = 0
local function trunc(v)
  if v >= 0 then return math.floor(v) end
  return math.ceil(v)
end
for _ = 1, 16000000 do
  local dx = s * (y - x)
  local dy = x * (r - z) - y
  local dz = x * y - b * z
  local nx = x + dt * dx
  if (nx < 0) ~= (x < 0) then crossings = crossings + 1 end
  x = nx
  y = y + dt * dy
  z = z + dt * dz
end
print(crossings .. " " .. trunc(x * 1000) .. " " .. trunc(y * 1000) .. " " .. trunc(z * 1000))
