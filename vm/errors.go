package vm

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every fault the VM reports wraps exactly one of them, so
// callers test with errors.Is.
var (
	// Loading and verification.
	ErrBadHeader     = errors.New("bad bytecode header")
	ErrBadVersion    = errors.New("unsupported bytecode version")
	ErrTruncated     = errors.New("truncated bytecode")
	ErrCodeLength    = errors.New("code length is not a multiple of 4")
	ErrCodeSize      = errors.New("code larger than the 24-bit address space")
	ErrUnknownOpcode = errors.New("unknown opcode")
	ErrBadRegister   = errors.New("register operand out of range")
	ErrBadOperand    = errors.New("unused operand byte is not zero")
	ErrBadTarget     = errors.New("jump target outside the code or not a multiple of 4")

	// Execution.
	ErrIllegalOpcode   = errors.New("illegal instruction")
	ErrDivideByZero    = errors.New("division by zero")
	ErrBadJump         = errors.New("jump to an address outside the code or not a multiple of 4")
	ErrBadEntry        = errors.New("entry address outside the code or not a multiple of 4")
	ErrHeapAccess      = errors.New("heap access out of range")
	ErrBadAlloc        = errors.New("allocation of a negative size or past the heap limit")
	ErrHeapTotal       = errors.New("allocation past the heap total of the node's processes")
	ErrStackOverflow   = errors.New("stack overflow")
	ErrStackTotal      = errors.New("stack growth past the memory total of the node's processes")
	ErrStackUnderflow  = errors.New("pop below the current call frame")
	ErrNoFrame         = errors.New("return with no call frame")
	ErrBadString       = errors.New("string offset outside the read-only data or not NUL-terminated")
	ErrInterrupted     = errors.New("interrupted")
	ErrBudgetExhausted = errors.New("instruction budget exhausted")
	ErrOutput          = errors.New("writing the output failed")
	ErrInternal        = errors.New("internal error in the VM")

	// Use: Load, Append, ClearProgram, Run, RunContext or Resume called
	// while the VM runs, from its Output, its Runtime or its HeapAccount
	// (the one goroutine that may call them is inside the run then).
	ErrRunning = errors.New("the VM is running")
)

// Fault is an error tied to one instruction: a verification failure or a
// run-time fault. PC is the byte offset of the instruction in the code.
type Fault struct {
	PC  int
	Op  Opcode
	Err error // one of the sentinels above
}

func (f *Fault) Error() string {
	return fmt.Sprintf("%v at pc %s (%v)", f.Err, FormatAddress(f.PC), f.Op)
}

func (f *Fault) Unwrap() error { return f.Err }

func fault(pc int, op Opcode, err error) *Fault { return &Fault{PC: pc, Op: op, Err: err} }

// FormatAddress writes a code address or read-only offset the one way that
// listings and error messages show it, so that an address in a message can
// be found in the listing: 0x and at least four lower-case hex digits.
func FormatAddress(addr int) string {
	if addr < 0 { // a computed address gone wrong; uint negates MinInt too
		return fmt.Sprintf("-0x%04x", -uint(addr))
	}
	return fmt.Sprintf("0x%04x", addr)
}
