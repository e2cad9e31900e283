-- stackvm.lua: a stack machine interpreted, as stackvm.iasm. Its code is
-- an array of words (an opcode, then an operand for some), its locals
-- another, its operand stack a third. Dispatch is an if-chain in opcode
-- order:
--   0 HALT   1 PUSH k   2 LOAD s   3 STORE s   4 ADD   5 SUB   6 MUL
--   7 MOD    8 LT (pops b, a; pushes 1 if a < b, else 0)
--   9 JZ t (pops; jumps if 0)   10 JMP t   11 INC s
-- The guest counts the primes below 40,000 by trial division (d from 2
-- while d*d < i+1) and leaves the count in local 0. Prints it and the
-- guest instructions executed.
local N = 40000
local code = {
  1, 0, 3, 0,           -- 0: count = 0
  1, 2, 3, 1,           -- 4: i = 2
  2, 1, 1, N, 8, 9, 62, -- 8: L1: if not (i < N) goto END
  1, 2, 3, 2,           -- 15: d = 2
  1, 1, 3, 3,           -- 19: isp = 1
  2, 2, 2, 2, 6,        -- 23: L2: d*d
  2, 1, 1, 1, 4, 8,     -- 28: < i+1
  9, 51,                -- 34: else goto L3
  2, 1, 2, 2, 7, 9, 47, -- 36: if i % d == 0 goto COMP
  11, 2, 10, 23,        -- 43: d++; goto L2
  1, 0, 3, 3,           -- 47: COMP: isp = 0
  2, 0, 2, 3, 4, 3, 0,  -- 51: L3: count = count + isp
  11, 1, 10, 8,         -- 58: i++; goto L1
  0,                    -- 62: END
}
local c = {}
for k = 1, #code do c[k - 1] = code[k] end
local loc = {0, 0, 0, 0}
loc[0] = 0
local st = {}
local sp = 0
local pc = 0
local steps = 0
while true do
  local op = c[pc]
  steps = steps + 1
  if op == 0 then
    break
  elseif op == 1 then
    st[sp] = c[pc + 1]; sp = sp + 1; pc = pc + 2
  elseif op == 2 then
    st[sp] = loc[c[pc + 1]]; sp = sp + 1; pc = pc + 2
  elseif op == 3 then
    sp = sp - 1; loc[c[pc + 1]] = st[sp]; pc = pc + 2
  elseif op == 4 then
    sp = sp - 1; st[sp - 1] = st[sp - 1] + st[sp]; pc = pc + 1
  elseif op == 5 then
    sp = sp - 1; st[sp - 1] = st[sp - 1] - st[sp]; pc = pc + 1
  elseif op == 6 then
    sp = sp - 1; st[sp - 1] = st[sp - 1] * st[sp]; pc = pc + 1
  elseif op == 7 then
    sp = sp - 1; st[sp - 1] = st[sp - 1] % st[sp]; pc = pc + 1
  elseif op == 8 then
    sp = sp - 1
    if st[sp - 1] < st[sp] then st[sp - 1] = 1 else st[sp - 1] = 0 end
    pc = pc + 1
  elseif op == 9 then
    sp = sp - 1
    if st[sp] == 0 then pc = c[pc + 1] else pc = pc + 2 end
  elseif op == 10 then
    pc = c[pc + 1]
  elseif op == 11 then
    local s = c[pc + 1]
    loc[s] = loc[s] + 1; pc = pc + 2
  end
end
io.write(loc[0], " ", steps, "\n")
