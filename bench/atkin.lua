-- atkin.lua: the primes up to 3,000,000 by the sieve of Atkin, as
-- atkin.iasm: flips for 4x^2+y^2 (n mod 12 in {1,5}), 3x^2+y^2 (7) and
-- 3x^2-y^2 with x > y (11), then multiples of squares of the primes
-- struck out. Prints the count and the sum of the last 100 primes.
local L = 3000000
local is = {}
for i = 0, L do is[i] = 0 end
local x = 1
while x * x <= L do
  local y = 1
  while y * y <= L do
    local xx, yy = x * x, y * y
    local n = 4 * xx + yy
    if n <= L then
      local m = n % 12
      if m == 1 or m == 5 then is[n] = is[n] ~ 1 end
    end
    n = 3 * xx + yy
    if n <= L and n % 12 == 7 then is[n] = is[n] ~ 1 end
    if x > y then
      n = 3 * xx - yy
      if n <= L and n % 12 == 11 then is[n] = is[n] ~ 1 end
    end
    y = y + 1
  end
  x = x + 1
end
local r = 5
while r * r <= L do
  if is[r] == 1 then
    local s = r * r
    local i = s
    while i <= L do is[i] = 0; i = i + s end
  end
  r = r + 1
end
local count, last, sum = 2, 0, 0
for i = 5, L do
  count = count + is[i]
end
local i = L
while last < 100 do
  if is[i] == 1 then last = last + 1; sum = sum + i end
  i = i - 1
end
io.write(count, " ", sum, "\n")
