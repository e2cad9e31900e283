-- arith.lua: 20,000,000 iterations of acc = (acc * 3 + i) mod 1000003,
-- the loop of arith.iasm.
local n = 20000000
local acc = 0
local i = 0
while i < n do
  acc = (acc * 3 + i) % 1000003
  i = i + 1
end
print(acc)
