-- bstree.lua: an unbalanced binary search tree, as bstree.iasm. Inserts
-- 100,000 keys x mod 200,000 (x = x*1002 mod 1000003 from 1; a repeated
-- key counts up its node), then walks it in order (a hash of the keys and
-- the counts), measures its height by recursion, and looks up 100,000 more
-- keys of the same sequence. Prints the nodes, the hash, the height and
-- the hits.
local x = 1
local function rnd()
  x = x * 1002 % 1000003
  return x % 200000
end
local root = nil
local nodes = 0
local function insert(key)
  if root == nil then
    root = { key = key, count = 1 }
    nodes = nodes + 1
    return
  end
  local t = root
  while true do
    if key == t.key then
      t.count = t.count + 1
      return
    elseif key < t.key then
      if t.left == nil then
        t.left = { key = key, count = 1 }
        nodes = nodes + 1
        return
      end
      t = t.left
    else
      if t.right == nil then
        t.right = { key = key, count = 1 }
        nodes = nodes + 1
        return
      end
      t = t.right
    end
  end
end
local hash = 0
local function walk(t)
  if t == nil then return end
  walk(t.left)
  hash = (hash * 31 + t.key) % 1000003
  hash = (hash * 31 + t.count) % 1000003
  walk(t.right)
end
local function height(t)
  if t == nil then return 0 end
  local l = height(t.left)
  local r = height(t.right)
  if l > r then return l + 1 end
  return r + 1
end
local function find(key)
  local t = root
  while t ~= nil do
    if key == t.key then return true end
    if key < t.key then t = t.left else t = t.right end
  end
  return false
end
local N = 100000
for _ = 1, N do insert(rnd()) end
walk(root)
local h = height(root)
local hits = 0
for _ = 1, N do
  if find(rnd()) then hits = hits + 1 end
end
print(nodes .. " " .. hash .. " " .. h .. " " .. hits)
