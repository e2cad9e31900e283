package vm

import (
	"fmt"
	"io"
	"math"
)

// Defaults of Config (README "Instruction set").
const (
	DefaultHeapLimit  = 64 << 20  // bytes
	DefaultStackLimit = 1_048_576 // int32 entries
)

// maxOutputBuffer bounds Config.OutputBuffer: a buffer is there to batch
// short writes, and one much larger only holds output back.
const maxOutputBuffer = 1 << 20

// Config sets up a VM. A zero limit means its default, so Config{} is usable;
// DefaultConfig returns every field filled in.
type Config struct {
	// Output is where PRTS, PRTI and PRTF write; nil means io.Discard. Its
	// Write may return ErrOutputFull to make the instruction wait.
	Output io.Writer
	// OutputBuffer, if positive, is the size of a buffer in which the VM
	// collects its output, so that a program printing many short pieces
	// makes one Write per buffer rather than one per instruction. The VM
	// writes the buffer out when it is full, when a run returns (it ended,
	// faulted, was stopped, or waits in RECV or at a slice's end) and
	// before SEND, SPAWN and MONITOR: what another process can learn of
	// (a message, a spawn, an exit) comes after the output printed before
	// it. It suits an Output that nobody watches as it comes (a file, a
	// pipe, a buffer written out at the end); 0 writes each piece at once,
	// as a terminal wants.
	OutputBuffer int
	// HeapLimit caps the heap in bytes; 0 means DefaultHeapLimit. The heap
	// starts empty and grows with ALOC. Heap addresses are int32, so the
	// limit is at most math.MaxInt32.
	HeapLimit int
	// StackLimit caps the stack in int32 entries; 0 means
	// DefaultStackLimit. The stack grows on demand. At most math.MaxInt32.
	StackLimit int
	// Budget caps the instructions one Run may execute; 0 means no limit.
	// It is checked at every taken jump, call and return: the run stops
	// with ErrBudgetExhausted at the first one taken once Budget
	// instructions have run (see Run).
	Budget int64
	// Runtime runs this VM as a process (README "Processes"); nil: a lone
	// process.
	Runtime Runtime
	// HeapAccount, if set, holds the heap and stack storage of several
	// VMs (a node's processes) within one total: a VM takes from it the
	// bytes of storage it is about to allocate for its heap or its stack
	// and gives them back when it lets the storage go (Load, ClearProgram
	// and Release for the heap, Release for the stack). ALOC faults with
	// ErrHeapTotal, and a PUSH or CALL that needs a larger stack with
	// ErrStackTotal, when the account refuses. nil: no total, only
	// HeapLimit and StackLimit.
	HeapAccount HeapAccount
}

// HeapAccount keeps the total of heap and stack storage that several VMs
// hold. Its
// methods may be called by several goroutines at once.
type HeapAccount interface {
	// Take reports whether n more bytes (n > 0) fit in the total, and
	// counts them if so.
	Take(n int) bool
	// Give counts n bytes less.
	Give(n int)
}

// DefaultConfig returns a Config with every field at its default: no output,
// a 64 MiB heap limit, a stack of 1,048,576 entries, no budget, no runtime.
func DefaultConfig() Config {
	return Config{
		Output:     io.Discard,
		HeapLimit:  DefaultHeapLimit,
		StackLimit: DefaultStackLimit,
	}
}

// normalize validates c and fills in the defaults of its zero fields.
func (c Config) normalize() (Config, error) {
	switch {
	case c.HeapLimit < 0 || c.HeapLimit > math.MaxInt32:
		return c, fmt.Errorf("vm: heap limit %d outside 0..%d", c.HeapLimit, math.MaxInt32)
	case c.StackLimit < 0 || c.StackLimit > math.MaxInt32:
		return c, fmt.Errorf("vm: stack limit %d outside 0..%d", c.StackLimit, math.MaxInt32)
	case c.Budget < 0:
		return c, fmt.Errorf("vm: negative instruction budget %d", c.Budget)
	case c.OutputBuffer < 0 || c.OutputBuffer > maxOutputBuffer:
		return c, fmt.Errorf("vm: output buffer %d outside 0..%d", c.OutputBuffer, maxOutputBuffer)
	}
	if c.Output == nil {
		c.Output = io.Discard
	}
	if c.HeapLimit == 0 {
		c.HeapLimit = DefaultHeapLimit
	}
	if c.StackLimit == 0 {
		c.StackLimit = DefaultStackLimit
	}
	return c, nil
}
