-- gcd.lua: the sum of gcd(i, j) over 1 <= i, j <= 2000, by Euclid's
-- algorithm, as in gcd.iasm.
local function gcd(a, b)
  while b ~= 0 do
    a, b = b, a % b
  end
  return a
end
local n = 2000
local sum = 0
for i = 1, n do
  for j = 1, n do
    sum = sum + gcd(i, j)
  end
end
print(sum)
