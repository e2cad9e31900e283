-- queens.lua: the number of ways to place N queens on an N x N board for
-- N = 8..12, by backtracking row by row, with the columns and both
-- diagonals marked in arrays; the algorithm of queens.iasm. Prints
-- 92 352 724 2680 14200, one a line.
local MAXN = 12
local col, up, down = {}, {}, {}
for i = 1, 2 * MAXN do
  col[i], up[i], down[i] = 0, 0, 0
end
local N
local count
local function place(r)
  if r > N then
    count = count + 1
    return
  end
  for c = 1, N do
    if col[c] == 0 and up[r + c] == 0 and down[r - c + N] == 0 then
      col[c], up[r + c], down[r - c + N] = 1, 1, 1
      place(r + 1)
      col[c], up[r + c], down[r - c + N] = 0, 0, 0
    end
  end
end
for n = 8, MAXN do
  N = n
  count = 0
  place(1)
  print(count)
end
