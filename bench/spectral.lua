-- spectral.lua: spectral-norm with the vectors kept as fixed-point
-- integers (value * 2^20, truncated), as spectral.iasm, which has no
-- float loads or stores. n = 800, u = 1; 5 rounds of v = AtA u,
-- u = AtA v, each product through a temporary vector; every element
-- A(i,j) = 1/((i+j)(i+j+1)/2 + i + 1) comes from a function call. Prints
-- 10^8 * (u.v)/(v.v), truncated (the square of the norm), and u[0]*1000,
-- truncated.
local n = 800
local scale = 1048576.0
local inv = 1.0 / scale
local function A(i, j)
  return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
end
local function trunc(f)
  if f >= 0 then return math.floor(f) else return math.ceil(f) end
end
local function mulAv(v, out)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + A(i, j) * (v[j] * inv) end
    out[i] = trunc(sum * scale)
  end
end
local function mulAtv(v, out)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + A(j, i) * (v[j] * inv) end
    out[i] = trunc(sum * scale)
  end
end
local u, v, t = {}, {}, {}
for i = 0, n - 1 do u[i] = 1048576; v[i] = 0; t[i] = 0 end
for r = 1, 5 do
  mulAv(u, t); mulAtv(t, v)
  mulAv(v, t); mulAtv(t, u)
end
local vBv, vv = 0.0, 0.0
for i = 0, n - 1 do
  local ui, vi = u[i] * inv, v[i] * inv
  vBv = vBv + ui * vi
  vv = vv + vi * vi
end
io.write(trunc(vBv / vv * 100000000), " ", trunc(u[0] * inv * 1000), "\n")
