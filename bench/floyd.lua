-- floyd.lua: all-pairs shortest paths by Floyd-Warshall on a directed graph
-- of N = 300 nodes, as floyd.iasm. The edge i -> j (i ~= j) exists when
-- x mod 8 == 0 and then costs x mod 100 + 1, where x = (x*75 + 74) mod
-- 65537 from 1 draws a value for every pair, row by row. Prints the sum of
-- the finite distances, the unreachable pairs and the longest shortest path.
local n = 300
local inf = 1000000
local d = {}
local x = 1
for i = 1, n do
  local row = {}
  for j = 1, n do
    x = (x * 75 + 74) % 65537
    if i == j then
      row[j] = 0
    elseif x % 8 == 0 then
      row[j] = x % 100 + 1
    else
      row[j] = inf
    end
  end
  d[i] = row
end
for k = 1, n do
  local dk = d[k]
  for i = 1, n do
    local di = d[i]
    local dik = di[k]
    if dik < inf then
      for j = 1, n do
        local t = dik + dk[j]
        if t < di[j] then di[j] = t end
      end
    end
  end
end
local sum, unreach, longest = 0, 0, 0
for i = 1, n do
  local di = d[i]
  for j = 1, n do
    local v = di[j]
    if v >= inf then
      unreach = unreach + 1
    else
      sum = sum + v
      if v > longest then longest = v end
    end
  end
end
print(sum .. " " .. unreach .. " " .. longest)
