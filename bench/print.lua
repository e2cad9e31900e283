-- print.lua: print the numbers from 4,000,000 down to 1, one a line, as
-- print.iasm does. io.write, not print: Lua 5.4's print flushes stdout
-- at every line (a write system call per number), while Iridium's
-- output is buffered.
for i = 4000000, 1, -1 do
  io.write(i, "\n")
end
