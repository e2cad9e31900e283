-- detmod.lua: the determinant modulo p = 32749 of a 480 x 480 matrix
-- (x = (x*75+74) mod 65537 from 3, entry x mod p, row by row), by Gaussian
-- elimination, as detmod.iasm: the pivot is the first non-zero entry at
-- or below the diagonal (a swap negates the determinant), its inverse by
-- the extended Euclidean algorithm, and each row below gets
-- a[r][k] = (a[r][k] + (p - f)*a[c][k]) mod p, f = a[r][c]*inv mod p, for
-- k from c to n-1. Prints the determinant and the sum of the diagonal.
local n, p = 480, 32749
local a = {}
local x = 3
for i = 0, n * n - 1 do
  x = (x * 75 + 74) % 65537
  a[i] = x % p
end
local function inverse(v)
  local r0, r1, t0, t1 = p, v, 0, 1
  while r1 ~= 0 do
    local q = r0 // r1
    r0, r1 = r1, r0 - q * r1
    t0, t1 = t1, t0 - q * t1
  end
  if t0 < 0 then t0 = t0 + p end
  return t0
end
local det = 1
for c = 0, n - 1 do
  local piv = c
  while piv < n and a[piv * n + c] == 0 do piv = piv + 1 end
  if piv == n then det = 0; break end
  if piv ~= c then
    for k = 0, n - 1 do
      a[piv * n + k], a[c * n + k] = a[c * n + k], a[piv * n + k]
    end
    det = (p - det) % p
  end
  local pv = a[c * n + c]
  det = det * pv % p
  local inv = inverse(pv)
  local crow = c * n
  for r = c + 1, n - 1 do
    local row = r * n
    local f = a[row + c] * inv % p
    if f ~= 0 then
      local g = p - f
      for k = c, n - 1 do
        a[row + k] = (a[row + k] + g * a[crow + k]) % p
      end
    end
  end
end
local trace = 0
for i = 0, n - 1 do trace = trace + a[i * n + i] end
io.write(det, " ", trace, "\n")
