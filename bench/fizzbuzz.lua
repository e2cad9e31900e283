-- fizzbuzz.lua: FizzBuzz from 1 to 6,000,000, one a line, as fizzbuzz.iasm.
local write = io.write
for i = 1, 6000000 do
  if i % 15 == 0 then
    write("FizzBuzz\n")
  elseif i % 3 == 0 then
    write("Fizz\n")
  elseif i % 5 == 0 then
    write("Buzz\n")
  else
    write(i, "\n")
  end
end
