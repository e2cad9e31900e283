-- knapsack.lua: 0/1 knapsack by dynamic programming over one array, as
-- knapsack.iasm: 1200 items of weight 1..100 and value 1..1000
-- (x = (x*1103 + 12345) mod 1000003 from 1, weight then value for each
-- item), capacity 10,000. Prints the best values for capacities W, W/2
-- and W/4 and the number of improvements made.
local W, items = 10000, 1200
local dp = {}
for w = 0, W do dp[w] = 0 end
local x = 1
local better = 0
for _ = 1, items do
  x = (x * 1103 + 12345) % 1000003
  local wt = x % 100 + 1
  x = (x * 1103 + 12345) % 1000003
  local val = x % 1000 + 1
  for w = W, wt, -1 do
    local v = dp[w - wt] + val
    if v > dp[w] then
      dp[w] = v
      better = better + 1
    end
  end
end
print(dp[W] .. " " .. dp[W // 2] .. " " .. dp[W // 4] .. " " .. better)
