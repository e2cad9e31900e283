-- lexer.lua: a lexer as a state machine over 2,000,000 generated
-- characters, as lexer.iasm.
local chars = { 97, 98, 101, 120, 122, 48, 49, 55, 32, 32, 10, 43, 40, 41, 34, 35 }
local n = 2000000
local text = {}
local x = 1
for i = 1, n do
  x = (x * 75 + 74) % 65537
  text[i] = chars[(x & 15) + 1]
end
local idents, hash, numbers, numsum, strings, comments, lines, ops, depth, unbalanced = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
local len, value = 0, 0
local state = 0
for i = 1, n do
  local c = text[i]
  local again = true
  while again do
    again = false
    if state == 0 then
      if c >= 97 and c <= 122 then
        state = 1
        len = 1
      elseif c >= 48 and c <= 57 then
        state = 2
        value = c - 48
      elseif c == 32 then
      elseif c == 10 then
        lines = lines + 1
      elseif c == 34 then
        state = 3
      elseif c == 35 then
        state = 4
      else
        ops = ops + 1
        if c == 40 then
          depth = depth + 1
        elseif c == 41 then
          if depth == 0 then
            unbalanced = unbalanced + 1
          else
            depth = depth - 1
          end
        end
      end
    elseif state == 1 then
      if (c >= 97 and c <= 122) or (c >= 48 and c <= 57) then
        len = len + 1
      else
        idents = idents + 1
        hash = (hash * 31 + len) % 1000003
        state = 0
        again = true
      end
    elseif state == 2 then
      if c >= 48 and c <= 57 then
        value = (value * 10 + c - 48) & 65535
      else
        numbers = numbers + 1
        numsum = (numsum + value) & 65535
        state = 0
        again = true
      end
    elseif state == 3 then
      if c == 34 then
        strings = strings + 1
        state = 0
      end
    else
      if c == 10 then
        comments = comments + 1
        lines = lines + 1
        state = 0
      end
    end
  end
end
print(idents .. " " .. hash .. " " .. numbers .. " " .. numsum .. " " .. strings .. " " .. comments .. " " .. lines .. " " .. ops .. " " .. unbalanced)
