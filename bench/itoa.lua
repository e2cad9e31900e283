-- itoa.lua: 1,200,000 pseudo-random integers (x = (x*1103515245+12345)
-- & 0x7fffffff from 7; v = x mod 20000003 - 10000001) written in decimal
-- into a byte buffer, comma after each, as itoa.iasm: digits lowest
-- first onto a stack, then popped into the buffer. When the buffer holds
-- over 60,000 bytes it is flushed: its bytes go into h = (h*31 + b) &
-- 0xffffff. Prints h and the bytes written.
local buf = {}
local stk = {}
local pos, h, total = 0, 0, 0
local x = 7
local function flush()
  for i = 0, pos - 1 do h = (h * 31 + buf[i]) & 0xffffff end
  total = total + pos
  pos = 0
end
for k = 1, 1200000 do
  x = (x * 1103515245 + 12345) & 0x7fffffff
  local v = x % 20000003 - 10000001
  if v < 0 then buf[pos] = 45; pos = pos + 1; v = -v end
  local sp = 0
  repeat
    stk[sp] = v % 10; sp = sp + 1
    v = v // 10
  until v == 0
  repeat
    sp = sp - 1
    buf[pos] = 48 + stk[sp]; pos = pos + 1
  until sp == 0
  buf[pos] = 44; pos = pos + 1
  if pos > 60000 then flush() end
end
flush()
io.write(h, " ", total, "\n")
