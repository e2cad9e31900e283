// Package vm is the Iridium register machine: 32 int32 registers, 32 float64
// registers, a byte heap, an int32 stack with call frames, and a read-only
// data section.
//
// Every instruction is four bytes:
//
//	byte:   0        1        2        3
//	      +--------+--------+--------+--------+
//	      | opcode |   a    |   b    |   c    |   register forms ($a $b $c)
//	      | opcode |   a    |     imm16       |   LOAD, LUI, LOADF64
//	      | opcode |     addr24 / imm24       |   DJMPE, CALL, CLOOP, PRTS ...
//	      +--------+--------+--------+--------+
//
// imm16 and addr24/imm24 are big-endian and unsigned. Unused bytes are zero.
//
// Code reaches the VM only as a verified Program (see Verify): opcodes are
// known, register bytes are below 32 and direct jump targets are in range.
// The dispatch loop relies on that and re-checks only what depends on values
// computed at run time (register jumps, heap and stack bounds, division).
//
// A VM (New, Config) runs one program at a time: Load replaces it, Append
// adds code after it as the REPL does line by line, Run executes it. Load
// and Append turn the verified bytes into a pre-decoded form once, with
// common sequences (a compare and its branch, a step then compare and
// branch, two straight-line instructions, one before a CALL, RET, DJMP or
// LOOP) fused into one dispatch that behaves exactly like its parts;
// where each part of such a sequence reads the register the part before
// wrote, the value goes from one to the next in a machine register as
// well as through the register file. Program always returns the bytes as
// written. The loop reads that form without bounds checks, so the program
// cannot change under a run: the Output, Runtime and HeapAccount a run
// calls out to get ErrRunning if they try to load, append, clear or run.
//
// The dispatch loop, exec_gen.go, is generated: _exec.go holds each
// instruction's body once, and internal/genexec builds every fused case
// from those bodies and its table of patterns (go generate). Faults are *Fault values wrapping the Err
// sentinels; Abort and RunContext interrupt a run from outside.
//
// The package knows nothing of text: the assembler and the disassembler live
// in package assembler and read the same opcode table (Info).
package vm

//go:generate go run ./internal/genexec
