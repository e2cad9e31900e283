-- bf.lua: a Brainfuck interpreter running the program of bf.iasm.
local src = "+++++[>+++++<-]>[>-[>-[>+>+++<<-]<-]>>>.<<<<-]>>>>."
local code, match, stack = {}, {}, {}
for i = 1, #src do
  local c = src:byte(i)
  local op
  if c == 43 then op = 0
  elseif c == 45 then op = 1
  elseif c == 62 then op = 2
  elseif c == 60 then op = 3
  elseif c == 91 then
    op = 4
    stack[#stack + 1] = i
  elseif c == 93 then
    op = 5
    local j = stack[#stack]
    stack[#stack] = nil
    match[i] = j
    match[j] = i
  else op = 6 end
  code[i] = op
end
code[#src + 1] = 7
local tape = {}
for i = 1, 1000 do tape[i] = 0 end
local pc, ptr = 1, 1
while true do
  local op = code[pc]
  if op == 0 then tape[ptr] = (tape[ptr] + 1) & 255
  elseif op == 1 then tape[ptr] = (tape[ptr] - 1) & 255
  elseif op == 2 then ptr = ptr + 1
  elseif op == 3 then ptr = ptr - 1
  elseif op == 4 then
    if tape[ptr] == 0 then pc = match[pc] end
  elseif op == 5 then
    if tape[ptr] ~= 0 then pc = match[pc] end
  elseif op == 6 then io.write(tape[ptr], " ")
  else break end
  pc = pc + 1
end
io.write("\n")
