-- dijkstra.lua: shortest paths on a W x W grid with a binary heap, as
-- dijkstra.iasm. Each edge costs 1..9: h[i] between cells i and i+1, v[i]
-- between i and i+W (x = (x*1103 + 12345) mod 1000003 from 1, cost =
-- x mod 9 + 1, h[i] then v[i] for each i).
-- The heap holds (distance, cell) pairs in two arrays and may hold stale
-- entries, skipped when popped. Prints the distance from the top-left to
-- the bottom-right corner, the sum of all distances, and the pops.
local W = 500
local n = W * W
local hc, vc = {}, {}
local x = 1
for i = 0, n - 1 do
  x = (x * 1103 + 12345) % 1000003
  hc[i] = x % 9 + 1
  x = (x * 1103 + 12345) % 1000003
  vc[i] = x % 9 + 1
end
local dist = {}
for i = 0, n - 1 do dist[i] = 1000000000 end
local hd, hv = {}, {}
local size = 0

local function push(d, v)
  size = size + 1
  local i = size
  while i > 1 do
    local p = i // 2
    if hd[p] <= d then break end
    hd[i], hv[i] = hd[p], hv[p]
    i = p
  end
  hd[i], hv[i] = d, v
end

local function pop()
  local d, v = hd[1], hv[1]
  local ld, lv = hd[size], hv[size]
  size = size - 1
  local i = 1
  while true do
    local c = 2 * i
    if c > size then break end
    if c < size and hd[c + 1] < hd[c] then c = c + 1 end
    if ld <= hd[c] then break end
    hd[i], hv[i] = hd[c], hv[c]
    i = c
  end
  hd[i], hv[i] = ld, lv
  return d, v
end

local function relax(d, v)
  if d < dist[v] then
    dist[v] = d
    push(d, v)
  end
end

local pops = 0
dist[0] = 0
push(0, 0)
while size > 0 do
  local d, v = pop()
  pops = pops + 1
  if d == dist[v] then
    local r, c = v // W, v % W
    if r > 0 then relax(d + vc[v - W], v - W) end
    if r < W - 1 then relax(d + vc[v], v + W) end
    if c > 0 then relax(d + hc[v - 1], v - 1) end
    if c < W - 1 then relax(d + hc[v], v + 1) end
  end
end
local sum = 0
for i = 0, n - 1 do sum = sum + dist[i] end
print(dist[n - 1] .. " " .. sum .. " " .. pops)
