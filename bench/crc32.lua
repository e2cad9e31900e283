-- crc32.lua: CRC-32 (IEEE, reflected, table-driven) and run-length
-- statistics over a generated buffer, as crc32.iasm. The table is built
-- bit by bit; the buffer holds 1,000,000 bytes 'a'..'d' from
-- x = (x*75 + 74) mod 65537. Prints the CRC of 8 passes (each pass starts
-- from the previous CRC) as two 16-bit halves, the number of runs and the
-- longest run.
local tab = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c & 1 == 1 then
      c = 0xEDB88320 ~ (c >> 1)
    else
      c = c >> 1
    end
  end
  tab[i] = c
end
local n = 1000000
local buf = {}
local x = 1
for i = 1, n do
  x = (x * 75 + 74) % 65537
  buf[i] = 97 + (x >> 7) % 4
end
local crc = 0
for pass = 1, 8 do
  crc = crc ~ 0xFFFFFFFF
  for i = 1, n do
    crc = tab[(crc ~ buf[i]) & 0xFF] ~ (crc >> 8)
  end
  crc = crc ~ 0xFFFFFFFF
end
local runs, longest, len, prev = 0, 0, 0, -1
for i = 1, n do
  local b = buf[i]
  if b == prev then
    len = len + 1
  else
    runs = runs + 1
    len = 1
    prev = b
  end
  if len > longest then longest = len end
end
print((crc >> 16) .. " " .. (crc & 0xFFFF) .. " " .. runs .. " " .. longest)
