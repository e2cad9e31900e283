-- sudoku.lua: solves a sudoku (Arto Inkala's "hardest", 21 clues) by plain
-- backtracking, as sudoku.iasm, three times: as given, turned by 180
-- degrees, and mirrored in the anti-diagonal (the clue at row r, column c
-- goes to row 10 - c, column 10 - r). The empty cells are taken in order
-- and the digits 1..9 in order, each tried against its row, column and box
-- by scanning them. Prints each solution, a row a line, followed by the
-- number of digits placed to find it.
local clues = {
  "800000000", "003600000", "070090200", "050007000", "000045700",
  "000100030", "001000068", "008500010", "090000400",
}
local g = {}
local placed
local function ok(r, c, d)
  local row = g[r]
  for i = 1, 9 do
    if row[i] == d then return false end
  end
  for i = 1, 9 do
    if g[i][c] == d then return false end
  end
  local br, bc = r - (r - 1) % 3, c - (c - 1) % 3
  for i = br, br + 2 do
    local gi = g[i]
    for j = bc, bc + 2 do
      if gi[j] == d then return false end
    end
  end
  return true
end
local function solve(pos)
  while pos < 81 and g[pos // 9 + 1][pos % 9 + 1] ~= 0 do pos = pos + 1 end
  if pos == 81 then return true end
  local r, c = pos // 9 + 1, pos % 9 + 1
  for d = 1, 9 do
    if ok(r, c, d) then
      g[r][c] = d
      placed = placed + 1
      if solve(pos + 1) then return true end
      g[r][c] = 0
    end
  end
  return false
end
for t = 1, 3 do
  for r = 1, 9 do g[r] = {} end
  for r = 1, 9 do
    for c = 1, 9 do
      local v = tonumber(clues[r]:sub(c, c))
      if t == 1 then
        g[r][c] = v
      elseif t == 2 then
        g[10 - r][10 - c] = v
      else
        g[10 - c][10 - r] = v
      end
    end
  end
  placed = 0
  solve(0)
  for r = 1, 9 do print(table.concat(g[r])) end
  print(placed)
end
