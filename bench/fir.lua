-- fir.lua: a 16-tap FIR filter over 800,000 samples, as fir.iasm.
local n = 800000
local taps = {}
for j = 0, 15 do taps[j + 1] = (j * 7) % 11 - 5 end
local s = {}
local x = 1
for i = 1, n + 15 do
  x = (x * 75 + 74) % 65537
  s[i] = x % 1000 - 500
end
local sum, pos, neg, zero, largest = 0, 0, 0, 0, -2147483648
for i = 0, n - 1 do
  local y = 0
  for j = 1, 16 do
    y = y + taps[j] * s[i + j]
  end
  sum = (sum + y) & 0xfffff
  if y > largest then largest = y end
  if y > 0 then
    pos = pos + 1
  elseif y == 0 then
    zero = zero + 1
  else
    neg = neg + 1
  end
end
print(sum .. " " .. pos .. " " .. neg .. " " .. zero .. " " .. largest)
