-- bintrees.lua: binary-trees without recursion, as bintrees.iasm. Nodes
-- are (left, right) pairs in a pool (0 is nil), handed out by a bump
-- counter; a complete tree of depth d is built from a work stack of
-- (node, depth) pairs and checked (its nodes counted) with a stack of
-- nodes. Max depth 16: a stretch tree of depth 17, a long-lived tree of
-- depth 16, then for d = 4, 6, ..., 16, 2^(16-d+4) trees of depth d, the
-- pool reset to just past the long-lived tree before each. Prints each
-- check, and the long-lived tree's check at the end.
local maxd = 16
local left, right = {}, {}
local top = 1
local stk = {}
local function build(depth)
  local root = top; top = top + 1
  local sp = 0
  stk[sp] = root; stk[sp + 1] = depth; sp = sp + 2
  while sp > 0 do
    sp = sp - 2
    local n, d = stk[sp], stk[sp + 1]
    if d > 0 then
      local l = top
      local r = top + 1
      top = top + 2
      left[n] = l; right[n] = r
      stk[sp] = l; stk[sp + 1] = d - 1
      stk[sp + 2] = r; stk[sp + 3] = d - 1
      sp = sp + 4
    else
      left[n] = 0; right[n] = 0
    end
  end
  return root
end
local function check(root)
  local count = 0
  local sp = 0
  stk[sp] = root; sp = sp + 1
  while sp > 0 do
    sp = sp - 1
    local n = stk[sp]
    count = count + 1
    local l = left[n]
    if l ~= 0 then
      stk[sp] = l; stk[sp + 1] = right[n]; sp = sp + 2
    end
  end
  return count
end
local t = build(maxd + 1)
io.write(check(t), "\n")
top = 1
local long = build(maxd)
local mark = top
for d = 4, maxd, 2 do
  local iters = 1 << (maxd - d + 4)
  local sum = 0
  for k = 1, iters do
    top = mark
    sum = sum + check(build(d))
  end
  io.write(iters, " ", d, " ", sum, "\n")
end
io.write(check(long), "\n")
