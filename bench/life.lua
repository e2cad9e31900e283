-- life.lua: Conway's game of life on a 64 x 64 torus for 1500 generations,
-- as life.iasm. A cell starts alive when x mod 3 == 0, x = (x*75 + 74) mod
-- 65537 from 1, drawn row by row. Prints the population at the end, the
-- sum of the populations of all generations and the cells that were ever
-- born.
local w, h, gens = 64, 64, 1500
local cur, nxt = {}, {}
local x = 1
for r = 1, h do
  cur[r], nxt[r] = {}, {}
  for c = 1, w do
    x = (x * 75 + 74) % 65537
    if x % 3 == 0 then cur[r][c] = 1 else cur[r][c] = 0 end
  end
end
local total, births = 0, 0
for _ = 1, gens do
  local pop = 0
  for r = 1, h do
    local up = r - 1
    if up < 1 then up = h end
    local down = r + 1
    if down > h then down = 1 end
    local ru, rc, rd, out = cur[up], cur[r], cur[down], nxt[r]
    for c = 1, w do
      local left = c - 1
      if left < 1 then left = w end
      local right = c + 1
      if right > w then right = 1 end
      local n = ru[left] + ru[c] + ru[right] + rc[left] + rc[right]
        + rd[left] + rd[c] + rd[right]
      local v = 0
      if n == 3 then
        v = 1
        if rc[c] == 0 then births = births + 1 end
      elseif n == 2 then
        v = rc[c]
      end
      out[c] = v
      pop = pop + v
    end
  end
  cur, nxt = nxt, cur
  total = total + pop
end
local pop = 0
for r = 1, h do
  for c = 1, w do pop = pop + cur[r][c] end
end
print(pop .. " " .. total .. " " .. births)
