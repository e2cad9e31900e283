-- balls.lua: four balls bouncing in a 10 x 10 box under gravity, as
-- balls.iasm.
local dt = 1 / 1000
local gdt = 98 / 10 * dt
local e = 9 / 10
local hits = 0
local sx, sy = 0.0, 0.0
for b = 0, 3 do
  local x, y = (1 + 2 * b) + 0.0, (5 + b) + 0.0
  local vx, vy = (3 + 7 * b) + 0.0, 0.0
  for s = 1, 3000000 do
    vy = vy - gdt
    x = x + vx * dt
    y = y + vy * dt
    if x < 0 then
      x = -x
      vx = -vx
      hits = hits + 1
    elseif x > 10 then
      x = 20 - x
      vx = -vx
      hits = hits + 1
    end
    if y < 0 then
      y = -y
      vy = -(vy * e)
      hits = hits + 1
      if vy < 5 then vy = vy + 30 end
    elseif y > 10 then
      y = 20 - y
      vy = -vy
      hits = hits + 1
    end
  end
  sx = sx + x
  sy = sy + y
end
local function trunc(v)
  if v >= 0 then return math.floor(v) else return math.ceil(v) end
end
print(hits .. " " .. trunc(sx * 1000) .. " " .. trunc(sy * 1000))
