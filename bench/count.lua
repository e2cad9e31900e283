-- count.lua: count i from 0 to 100,000,000. The loop is count.iasm's:
-- compare with the limit, increment, branch back while not equal.
local n = 100000000
local i = 0
while i ~= n do
  i = i + 1
end
print(i)
