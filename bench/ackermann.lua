-- ackermann.lua: Ackermann's function A(3, n) for n = 1..10, the
-- algorithm of ackermann.iasm; prints one value a line.
local function ack(m, n)
  if m == 0 then
    return n + 1
  end
  if n == 0 then
    return ack(m - 1, 1)
  end
  return ack(m - 1, ack(m, n - 1))
end
for n = 1, 10 do
  print(ack(3, n))
end
