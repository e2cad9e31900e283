-- millerrabin.lua: Miller-Rabin primality tests of the odd numbers from
-- 1,000,000,001 to 1,000,015,999 with the bases 2, 3, 5 and 7 (exact below
-- 3,215,031,751), as millerrabin.iasm. Products mod n are made by doubling
-- and adding (n < 2^30, so no sum passes 2^31), powers by squaring. Prints
-- the primes found, the sum of their last three digits and the calls of
-- mulmod.
local calls = 0
local function mulmod(a, b, m)
  calls = calls + 1
  local r = 0
  while b > 0 do
    if b & 1 == 1 then
      r = r + a
      if r >= m then r = r - m end
    end
    a = a + a
    if a >= m then a = a - m end
    b = b >> 1
  end
  return r
end
local function powmod(a, e, m)
  local r = 1
  while e > 0 do
    if e & 1 == 1 then r = mulmod(r, a, m) end
    a = mulmod(a, a, m)
    e = e >> 1
  end
  return r
end
local bases = {2, 3, 5, 7}
local function isprime(n)
  local d, s = n - 1, 0
  while d & 1 == 0 do
    d = d >> 1
    s = s + 1
  end
  for _, a in ipairs(bases) do
    local x = powmod(a, d, n)
    if x ~= 1 and x ~= n - 1 then
      local i = 1
      while true do
        if i >= s then return false end
        x = mulmod(x, x, n)
        if x == n - 1 then break end
        i = i + 1
      end
    end
  end
  return true
end
local count, digits = 0, 0
for n = 1000000001, 1000015999, 2 do
  if isprime(n) then
    count = count + 1
    digits = digits + n % 1000
  end
end
print(count .. " " .. digits .. " " .. calls)
