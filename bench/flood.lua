-- flood.lua: regions of open cells on a 1000 x 1000 grid by a recursive
-- flood fill, as flood.iasm.
local W, H = 1000, 1000
local g = {}
local x = 1
for p = 1, W * H do
  x = (x * 75 + 74) % 65537
  if x < 32768 then g[p] = 1 else g[p] = 0 end
end
local label, size = 1, 0
local function fill(x, y)
  if x < 0 or x >= W or y < 0 or y >= H then return end
  local p = y * W + x + 1
  if g[p] ~= 1 then return end
  g[p] = label
  size = size + 1
  fill(x + 1, y)
  fill(x - 1, y)
  fill(x, y + 1)
  fill(x, y - 1)
end
local regions, largest, big = 0, 0, 0
for c = 0, W * H - 1 do
  if g[c + 1] == 1 then
    label = label + 1
    size = 0
    fill(c % W, c // W)
    regions = regions + 1
    if size > largest then largest = size end
    if size >= 10 then big = big + 1 end
  end
end
print(regions .. " " .. largest .. " " .. big)
