-- exprparse.lua: a recursive-descent evaluator, as exprparse.iasm. Each
-- round generates a random expression (numbers 0..99, + - * /, brackets)
-- into a token array by recursion, then evaluates it mod 10007 with
-- expr/term/factor functions. Prints the sum of the values mod 10007 and
-- the number of tokens.
local PLUS, MINUS, MUL, DIV, LP, RP, END = 100, 101, 102, 103, 104, 105, 106
local M = 10007
local x = 1
local function rnd()
  x = (x * 1103 + 12345) % 1000003
  return x
end
local tok = {}
local n = 0
local ops = { PLUS, MINUS, MUL, DIV, PLUS, MUL }
local function gen(d)
  if d == 0 or rnd() % 4 == 0 then
    n = n + 1
    tok[n] = rnd() % 100
    return
  end
  local r = rnd() % 8
  if r < 2 then
    n = n + 1
    tok[n] = LP
    gen(d - 1)
    n = n + 1
    tok[n] = RP
  else
    gen(d - 1)
    n = n + 1
    tok[n] = ops[r - 1]
    gen(d - 1)
  end
end

local pos = 1
local expr
local function factor()
  local t = tok[pos]
  pos = pos + 1
  if t == LP then
    local v = expr()
    pos = pos + 1 -- the closing bracket
    return v
  end
  return t
end
local function term()
  local v = factor()
  while true do
    local t = tok[pos]
    if t == MUL then
      pos = pos + 1
      v = v * factor() % M
    elseif t == DIV then
      pos = pos + 1
      local w = factor()
      if w ~= 0 then v = v // w end
    else
      return v
    end
  end
end
expr = function()
  local v = term()
  while true do
    local t = tok[pos]
    if t == PLUS then
      pos = pos + 1
      v = (v + term()) % M
    elseif t == MINUS then
      pos = pos + 1
      v = (v - term() + M) % M
    else
      return v
    end
  end
end

local total, tokens = 0, 0
for round = 1, 10000 do
  n = 0
  gen(14)
  n = n + 1
  tok[n] = END
  tokens = tokens + n
  pos = 1
  total = (total + expr()) % M
end
print(total .. " " .. tokens)
