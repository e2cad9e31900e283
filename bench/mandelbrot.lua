-- mandelbrot.lua: the points c of an 800x600 grid over [-2, 0.5) x
-- [-1.25, 1.25) for which none of z0 ... z99 of z = z^2 + c leaves the
-- circle of radius 2, and the iterations made in all, as mandelbrot.iasm.
-- Every float operation is the one mandelbrot.iasm makes, in its order.
local inside, total = 0, 0
for py = 0, 599 do
  local cy = py / 240 - 1.25
  for px = 0, 799 do
    local cx = px / 320 - 2
    local zx, zy = 0.0, 0.0
    local n = 0
    while n < 100 do
      local zx2, zy2 = zx * zx, zy * zy
      if zx2 + zy2 > 4 then break end
      zy = 2 * zx * zy + cy
      zx = zx2 - zy2 + cx
      n = n + 1
    end
    if n == 100 then inside = inside + 1 end
    total = total + n
  end
end
io.write(inside, " ", total, "\n")
