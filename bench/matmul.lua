-- matmul.lua: C = A x B for 300x300 integer matrices, filled as in
-- matmul.iasm; prints the sum of C's elements.
local n = 300
local x = 1
local function matrix()
  local m = {}
  for i = 1, n do
    local row = {}
    for j = 1, n do
      x = (x * 75 + 74) % 65537
      row[j] = x % 10
    end
    m[i] = row
  end
  return m
end
local a = matrix()
local b = matrix()
local c = {}
for i = 1, n do
  local ai, ci = a[i], {}
  for j = 1, n do
    local s = 0
    for k = 1, n do
      s = s + ai[k] * b[k][j]
    end
    ci[j] = s
  end
  c[i] = ci
end
local sum = 0
for i = 1, n do
  local ci = c[i]
  for j = 1, n do
    sum = sum + ci[j]
  end
end
print(sum)
