-- sieve.lua: count the primes below 8,000,000 with the sieve of
-- Eratosthenes, the algorithm of sieve.iasm.
local n = 8000000
local composite = {}
for i = 1, n do
  composite[i] = false
end
local i = 2
while i * i < n do
  if not composite[i] then
    for j = i * i, n - 1, i do
      composite[j] = true
    end
  end
  i = i + 1
end
local count = 0
for k = 2, n - 1 do
  if not composite[k] then
    count = count + 1
  end
end
print(count)
