-- xorshift.lua: 12,000,000 steps of a 31-bit xorshift generator, summing
-- the low byte of every value, as xorshift.iasm.
local h, sum = 12345, 0
for i = 1, 12000000 do
  h = (h ~ (h << 5)) & 0x7fffffff
  h = h ~ (h >> 7)
  h = (h ~ (h << 3)) & 0x7fffffff
  sum = sum + (h & 255)
end
io.write(sum, "\n")
