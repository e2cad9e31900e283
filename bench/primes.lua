-- primes.lua: count the primes below 600,000 by trial division (d from 2
-- while d*d <= n, stop at the first divisor), printing the running count
-- at every 100,000; the algorithm of primes.iasm.
local limit = 600000
local count = 0
for n = 2, limit - 1 do
  local d = 2
  local prime = true
  while d * d <= n do
    if n % d == 0 then
      prime = false
      break
    end
    d = d + 1
  end
  if prime then
    count = count + 1
  end
  if n % 100000 == 99999 then
    print((n + 1) .. " " .. count)
  end
end
