// Package assembler turns Iridium assembly (.iasm) into vm.Program bytes
// and back.
//
// # Syntax
//
// One instruction or directive per line; blank lines and ';' comments (to
// the end of the line) are fine. Mnemonics and directives are
// case-insensitive; label names are case-sensitive. Operands are separated
// by blanks (no commas):
//
//	$0 .. $31          a register (float instructions name float registers the same way)
//	#123 #-5 #0x1F     an integer, decimal or hex (0x or 0X), optional sign
//	@name              a label use
//	'text'             a string, with the escapes \n \t \\ \' \0 and \xHH
//
// A label is "name:" (a letter or '_', then letters, digits, '_') at the
// start of a line, alone or before an instruction or directive. A code
// label's value is the code address of the next instruction, a data label's
// the read-only offset of the next datum. A line holds at most one label.
//
// Sections: ".data" and ".code" switch sections; with neither, everything is
// code. In .data:
//
//	name: .asciiz 'text'    the bytes of text and a NUL
//	name: .ascii 'text'     the bytes of text, no NUL (extension)
//	name: .integer #500     an int32, little-endian, 4 bytes, unpadded
//
// A data label must be followed by data in the same section. In .code, as an
// extension for the disassembler, ".word #0xOOAABBCC" places four raw bytes
// (byte 0 = OO, the opcode position) as they are. Assemble keeps any such
// word, so that a listing of code vm.Verify refuses assembles back to the
// same bytes; Load and a Session, which assemble programs to run, report a
// word vm.Verify would refuse as an error at its line.
//
// Instruction operands follow the opcode table (vm.Info.Shape):
//
//	LOAD $r #v       any int32; v outside 0..65535 becomes LOAD $r #(v>>16)
//	                 then LUI $r #(v&0xFFFF), two instructions
//	LOAD $r @name    the label's value (code address or read-only offset),
//	                 also two instructions when the value needs more than 16 bits
//	LUI, LOADF64     $r #0..65535
//	SHL, SHR         $r [#0..255]; without #n byte 2 is 0 (the VM shifts by
//	                 16); #n puts n in byte 2, except #0 which is encoded as
//	                 32 (shifts are mod 32, and byte 0 would mean 16)
//	DJMPE DJMP DJMPNE LOOP CALL   @codelabel or #address (a multiple of 4, at
//	                 most the end of the code, that of a Session included)
//	PRTS             @datalabel or #offset (0..16777215)
//	CLOOP            #0..16777215
//
// Addresses account for two-instruction LOADs: pass 1 parses every line,
// then sizes every LOAD of a label in one sweep over the program (a LOAD
// that grows moves the labels after it, which can make more LOADs grow;
// the sweep finds the smallest sizes that agree, in time about linear in
// the program's length).
//
// # Errors
//
// Assembly reports every error it finds, up to 1,000 (then one more says
// it stopped there, and it does), as Error values (LINE:COL: message)
// gathered in a *multierror.Error sorted by position; its Error() is one
// error per line, the first 20 of them, then "... and N more errors". Lines
// and columns count from 1, and columns count characters (runes), so a tab
// is one column. Garbage the lexer reports holds the place of the operand
// it spoils, so the rest of its line is still checked (not the operand
// count: garbage may stand for one operand or several). Errors extracts
// them all; FormatErrors writes them as the message does, with a prefix
// (say, the file name) on each. On error no program is returned.
//
// A whole file (Assemble, AssembleFile, Load) that holds a NUL byte is not
// assembly source but binary: it gets one error, an Error at its first NUL
// that says so and wraps ErrNotText.
//
// AssembleContext, AssembleFileContext and LoadContext stop when their
// context is done (they look at it every 1024 lines or instructions) and
// return an error wrapping context.Cause.
//
// # Sessions
//
// Session assembles chunk after chunk for the REPL: each chunk's addresses
// continue from the code and read-only data assembled before, earlier labels
// are visible, and the section in effect carries over from one chunk to the
// next. A chunk with an error changes nothing.
//
// # Disassembly
//
// Disassemble prints a program in this syntax, in a form that assembles to
// the same bytes; see its documentation for the layout.
package assembler
