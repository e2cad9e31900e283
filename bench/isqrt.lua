-- isqrt.lua: integer square roots by Newton's method (x = (x + n/x) / 2
-- from x = n until it stops falling) of n = 1000*i + i mod 1000 for i = 1..1,500,000,
-- as isqrt.iasm. Prints the sum of the roots mod 1000000007 and how many
-- of the n are perfect squares.
local function isqrt(n)
  if n < 2 then return n end
  local x = n
  local y = (x + n // x) // 2
  while y < x do
    x = y
    y = (x + n // x) // 2
  end
  return x
end
local sum, squares = 0, 0
for i = 1, 1500000 do
  local n = 1000 * i + i % 1000
  local r = isqrt(n)
  sum = (sum + r) % 1000000007
  if r * r == n then squares = squares + 1 end
end
print(sum .. " " .. squares)
