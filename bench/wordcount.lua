-- wordcount.lua: the text of wordcount.iasm (8,000,000 bytes from an LCG,
-- a space when x mod 8 < 2, else 'a' + x mod 26) in a table of bytes,
-- then a scan counting words, letters and 'e's.
local n = 8000000
local text = {}
local x = 1
for i = 0, n - 1 do
  x = (x * 75 + 74) % 65537
  if x % 8 < 2 then
    text[i] = 32
  else
    text[i] = 97 + x % 26
  end
end
local words, letters, es = 0, 0, 0
local inword = false
for i = 0, n - 1 do
  local c = text[i]
  if c == 32 then
    inword = false
  else
    letters = letters + 1
    if c == 101 then es = es + 1 end
    if not inword then
      words = words + 1
      inword = true
    end
  end
end
print(words .. " " .. letters .. " " .. es)
