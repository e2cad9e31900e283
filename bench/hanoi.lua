-- hanoi.lua: Towers of Hanoi with 22 discs, as hanoi.iasm.
local moves, sum = 0, 0
local function hanoi(n, from, to, via)
  if n == 0 then return end
  hanoi(n - 1, from, via, to)
  moves = moves + 1
  sum = (sum * 7 + from * 3 + to) % 1000003
  hanoi(n - 1, via, to, from)
end
hanoi(22, 1, 3, 2)
print(moves .. " " .. sum)
