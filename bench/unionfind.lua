-- unionfind.lua: union-find with union by size and path compression over
-- N = 300,000 elements, as unionfind.iasm: 450,000 unions of pairs drawn
-- from x = (x*1103515245 + 12345) & 0x7FFFFFFF (from 1; an element is
-- (x >> 8) mod N), then 300,000 queries of whether two drawn elements are
-- connected. Prints the unions that merged two sets, the sets left, the
-- largest set, the links walked to find roots and the connected queries.
local n = 300000
local parent, size = {}, {}
for i = 0, n - 1 do
  parent[i] = i
  size[i] = 1
end
local steps = 0
local function find(a)
  local r = a
  while parent[r] ~= r do
    r = parent[r]
    steps = steps + 1
  end
  while parent[a] ~= r do
    local up = parent[a]
    parent[a] = r
    a = up
  end
  return r
end
local x = 1
local function draw()
  x = (x * 1103515245 + 12345) & 0x7FFFFFFF
  return (x >> 8) % n
end
local merges, largest = 0, 1
for _ = 1, 450000 do
  local a = find(draw())
  local b = find(draw())
  if a ~= b then
    if size[a] < size[b] then a, b = b, a end
    parent[b] = a
    size[a] = size[a] + size[b]
    if size[a] > largest then largest = size[a] end
    merges = merges + 1
  end
end
local connected = 0
for _ = 1, 300000 do
  if find(draw()) == find(draw()) then connected = connected + 1 end
end
print(merges .. " " .. (n - merges) .. " " .. largest .. " " .. steps .. " " .. connected)
