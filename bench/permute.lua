-- permute.lua: all permutations of 0..N-1 by recursive swapping, as
-- permute.iasm. For each permutation: its digits read as a number (Horner,
-- base 10) go into an order-dependent hash, h = (h*3 + code) mod 1000003,
-- and its fixed points are counted. Prints the permutations, the hash,
-- the derangements and the fixed points in all, over 3 rounds (each
-- starting from the order the last one left).
local N = 9
local a = {}
for i = 0, N - 1 do a[i] = i end
local perms, hash, derange, fixed = 0, 0, 0, 0
local function visit()
  local code, f = 0, 0
  for i = 0, N - 1 do
    local v = a[i]
    code = code * 10 + v
    if v == i then f = f + 1 end
  end
  perms = perms + 1
  hash = (hash * 3 + code) % 1000003
  if f == 0 then derange = derange + 1 end
  fixed = fixed + f
end
local function permute(k)
  if k == N - 1 then
    visit()
    return
  end
  for i = k, N - 1 do
    a[k], a[i] = a[i], a[k]
    permute(k + 1)
    a[k], a[i] = a[i], a[k]
  end
end
for _ = 1, 3 do permute(0) end
print(perms .. " " .. hash .. " " .. derange .. " " .. fixed)
