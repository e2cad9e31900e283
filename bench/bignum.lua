-- bignum.lua: 3^E in base 10,000 by binary exponentiation, as bignum.iasm,
-- each product by schoolbook multiplication with a DIV and a MOD per limb
-- product. Limbs are little-endian. Prints the number of decimal digits
-- and their sum, then the number itself.
local E = 50000
local BASE = 10000
local function mul(a, la, b, lb, r)
  for k = 1, la + lb do r[k] = 0 end
  for i = 1, la do
    local ai = a[i]
    local carry = 0
    local k = i
    for j = 1, lb do
      local t = r[k] + ai * b[j] + carry
      r[k] = t % BASE
      carry = t // BASE
      k = k + 1
    end
    r[k] = carry
  end
  local n = la + lb
  while n > 1 and r[n] == 0 do n = n - 1 end
  return n
end

local r, lr = { 1 }, 1
local b, lb = { 3 }, 1
local t = {}
local e = E
while e > 0 do
  if e % 2 == 1 then
    lr = mul(r, lr, b, lb, t)
    r, t = t, r
  end
  e = e // 2
  if e > 0 then
    lb = mul(b, lb, b, lb, t)
    b, t = t, b
  end
end

local top = r[lr]
local nd = (lr - 1) * 4
while top > 0 do
  nd = nd + 1
  top = top // 10
end
local sum = 0
for i = 1, lr do
  local v = r[i]
  while v > 0 do
    sum = sum + v % 10
    v = v // 10
  end
end
print(nd .. " " .. sum)
io.write(r[lr])
for i = lr - 1, 1, -1 do io.write(string.format("%04d", r[i])) end
io.write("\n")
