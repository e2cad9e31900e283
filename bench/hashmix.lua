-- hashmix.lua: an xor-shift-multiply hash of 1..5,500,000 counted into
-- 1021 buckets, as hashmix.iasm (32-bit arithmetic by masks).
local cnt = {}
for b = 1, 1021 do cnt[b] = 0 end
local acc = 0
for i = 1, 5500000 do
  local h = i
  h = h ~ (h >> 16)
  h = (h * 0x45d9f3b) & 0xffffffff
  h = h ~ (h >> 16)
  h = (h * 0x45d9f3b) & 0xffffffff
  h = h ~ (h >> 16)
  acc = acc ~ h
  local b = (h & 0x7fffffff) % 1021 + 1
  cnt[b] = cnt[b] + 1
end
local most, least = 0, 0x7fffffff
for b = 1, 1021 do
  local c = cnt[b]
  if c > most then most = c end
  if c < least then least = c end
end
print((acc & 0x7fffffff) .. " " .. most .. " " .. least)
