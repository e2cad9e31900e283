-- interp.lua: a small register machine interpreted, as interp.iasm. Its
-- code is an array of (op, a, b, c); its eight registers an array.
--   0 HALT          1 LDI  r[a] = c        2 ADD  r[a] = r[b] + r[c]
--   3 ADDI r[a] = r[b] + c               4 MUL  r[a] = r[b] * r[c]
--   5 ANDI r[a] = r[b] & c               6 XOR  r[a] = r[b] ~ r[c]
--   7 JLT  if r[a] < r[b] then pc = c
-- The guest program runs i from 0 to 2,000,000, adding ((i & 4095)^2 ~ i)
-- & 1048575 to an accumulator kept below 2^24; prints the accumulator
-- and the guest instructions executed.
local code = {
  1, 0, 0, 0,        -- 0: r0 = 0          i
  1, 1, 0, 2000000,  -- 1: r1 = 2000000
  1, 2, 0, 0,        -- 2: r2 = 0          acc
  5, 3, 0, 4095,     -- 3: r3 = r0 & 4095
  4, 3, 3, 3,        -- 4: r3 = r3 * r3
  6, 3, 3, 0,        -- 5: r3 = r3 ~ r0
  5, 3, 3, 1048575,  -- 6: r3 = r3 & 1048575
  2, 2, 2, 3,        -- 7: r2 = r2 + r3
  5, 2, 2, 16777215, -- 8: r2 = r2 & 16777215
  3, 0, 0, 1,        -- 9: r0 = r0 + 1
  7, 0, 1, 3,        -- 10: if r0 < r1 goto 3
  0, 0, 0, 0,        -- 11: halt
}
local r = { [0] = 0, 0, 0, 0, 0, 0, 0, 0 }
local pc, count = 0, 0
while true do
  local base = pc * 4 + 1
  local op, a, b, c = code[base], code[base + 1], code[base + 2], code[base + 3]
  pc = pc + 1
  count = count + 1
  if op == 1 then
    r[a] = c
  elseif op == 2 then
    r[a] = r[b] + r[c]
  elseif op == 3 then
    r[a] = r[b] + c
  elseif op == 4 then
    r[a] = r[b] * r[c]
  elseif op == 5 then
    r[a] = r[b] & c
  elseif op == 6 then
    r[a] = r[b] ~ r[c]
  elseif op == 7 then
    if r[a] < r[b] then pc = c end
  else
    break
  end
end
print(r[2] .. " " .. count)
