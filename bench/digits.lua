-- digits.lua: for every number from 1 to 4,000,000, its decimal digits
-- (lowest first, by division by 10) run through a small state machine
-- that says whether even and odd digits alternate; the algorithm of
-- digits.iasm. Prints how many numbers alternate and the sum of the
-- digits of all 4,000,000 numbers.
local N = 4000000
local alt, total = 0, 0
for i = 1, N do
  local n = i
  local state = 0 -- 0 start, 1 last digit even, 2 last digit odd, 3 failed
  while n > 0 do
    local d = n % 10
    n = n // 10
    total = total + d
    local odd = d % 2 == 1
    if state == 0 then
      if odd then state = 2 else state = 1 end
    elseif state == 1 then
      if odd then state = 2 else state = 3 end
    elseif state == 2 then
      if odd then state = 3 else state = 1 end
    end
  end
  if state ~= 3 then
    alt = alt + 1
  end
end
print(alt .. " " .. total)
