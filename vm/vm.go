package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// epsilon is the machine epsilon of float64, the tolerance of EQF64.
const epsilon = 2.220446049250313e-16

// keepHeap is the largest heap capacity that Load keeps for reuse; a bigger
// heap is released.
const keepHeap = 1 << 20

// VM is one Iridium machine. It is not safe for concurrent use, except for
// Abort, which any goroutine may call while another runs the VM.
type VM struct {
	regs  [32]int32
	fregs [32]float64
	fr    *[32]float64 // &fregs, set by New and Fork: the dispatch loop's way to them (_exec.go)

	prog  Program // the program as written; owned by the VM
	insts []inst  // its pre-decoded form plus the opEnd sentinel

	pc    int // byte offset of the next instruction
	flag  bool
	rem   int32   // remainder of the last DIV
	lc    uint32  // loop counter (CLOOP, LOOP)
	stack []int32 // the stack's storage, never longer than the limit
	sp    int     // stack depth: stack[:sp] is in use
	fb    int     // frame base: stack depth at entry of the current call; 0 with no call
	heap  []byte
	held  int // bytes of heap storage taken from cfg.HeapAccount: cap(heap), with an account
	// bytes of stack storage taken from cfg.HeapAccount: 4*len(stack), with an account
	stackHeld int

	cfg    Config
	abort  atomic.Bool
	stopAt atomic.Int64 // during a Run: stop at a taken jump once this many steps ran
	steps  int64        // instructions executed by the last Run
	base   int64        // during a Run, while parked: steps = base + pc/4
	events []Event
	buf    [32]byte // PRTI's and PRTF's scratch space
	out    []byte   // output not yet written, with Config.OutputBuffer

	shared   bool  // prog and insts are shared with a forked VM: copy before changing
	timedOut bool  // a parked RECVT's time is up (TimeOut)
	parked   bool  // the last run stopped in RECV, RECVT or at its slice's end: the next one resumes it
	slice    int64 // Resume's slice: stop after about this many instructions (0: none)
	calls    int   // the slice's SPAWN, SEND and MONITOR so far (see countCall)
	waiting  Wait  // what the last run that parked returned
	running  bool  // a run is under way (see ErrRunning)
}

// New makes a VM with no program. It refuses a Config with negative or
// out-of-range limits. A new VM takes well under 64 KiB: its stack and heap
// grow on demand.
func New(cfg Config) (*VM, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	m := &VM{cfg: cfg}
	m.fr = &m.fregs
	m.insts = predecode(nil, 0, nil)
	return m, nil
}

// Load verifies p and makes it the VM's program, starting at pc 0. It resets
// the stack and call frames, the heap, the loop counter, the flag and the
// remainder, and keeps the integer and float registers. The VM keeps a copy
// of p. On error the VM is unchanged.
func (m *VM) Load(p *Program) error {
	if m.running {
		return ErrRunning
	}
	if p == nil {
		return errors.New("vm: nil program")
	}
	if err := Verify(p); err != nil {
		return err
	}
	m.unshare()
	m.prog.Code = append(m.prog.Code[:0], p.Code...)
	m.prog.ROData = append(m.prog.ROData[:0], p.ROData...)
	m.insts = predecode(m.prog.Code, 0, m.insts)
	m.reset()
	return nil
}

// reset clears everything Load resets.
func (m *VM) reset() {
	m.pc = 0
	m.flag = false
	m.timedOut, m.parked = false, false
	m.rem = 0
	m.lc = 0
	m.sp = 0
	m.fb = 0
	if cap(m.heap) > keepHeap {
		m.releaseHeap()
	}
	m.heap = m.heap[:0]
}

// Release empties the heap and the stack and lets their storage go,
// giving its bytes back to the HeapAccount. The owner of a VM calls it
// when it drops the VM (a process that ended), so that the account does
// not wait for the garbage collector. Only the goroutine that runs the VM
// may call it, and nothing runs the VM after it.
func (m *VM) Release() {
	m.releaseHeap()
	m.stack, m.sp, m.fb = nil, 0, 0
	if m.stackHeld > 0 {
		m.cfg.HeapAccount.Give(m.stackHeld)
		m.stackHeld = 0
	}
}

// releaseHeap empties the heap and lets its storage go, giving its bytes
// back to the HeapAccount.
func (m *VM) releaseHeap() {
	m.heap = nil
	if m.held > 0 {
		m.cfg.HeapAccount.Give(m.held)
		m.held = 0
	}
}

// Append adds p after the current program, as the REPL does with each line,
// and sets pc to the first appended instruction. p's addresses are already
// absolute: it was assembled with its code starting at len(current code)
// and its read-only data at len(current read-only data). Its code is
// verified as part of the whole, so its jumps may target any instruction.
// Nothing else changes: registers, stack, heap and flag carry over. On error
// the VM is unchanged.
func (m *VM) Append(p *Program) error {
	if m.running {
		return ErrRunning
	}
	if p == nil {
		return errors.New("vm: nil program")
	}
	m.unshare()
	old := len(m.prog.Code)
	// Appending may write into spare capacity past len(m.prog.Code); that
	// is invisible until m.prog.Code is reassigned below.
	code := append(m.prog.Code, p.Code...)
	if err := verifyCode(code, old); err != nil {
		return err
	}
	m.prog.Code = code
	m.prog.ROData = append(m.prog.ROData, p.ROData...)
	m.insts = predecode(code, old, m.insts)
	m.pc = old
	return nil
}

// Program returns a copy of the program as written (loaded and appended).
func (m *VM) Program() *Program {
	return &Program{ROData: bytes.Clone(m.prog.ROData), Code: bytes.Clone(m.prog.Code)}
}

// ProgramMemory is how many bytes the VM's program takes in memory: the
// program as written and its pre-decoded form (16 bytes an instruction),
// about five times its code. A forked VM shares them with its parent.
func (m *VM) ProgramMemory() int {
	return cap(m.prog.Code) + cap(m.prog.ROData) + cap(m.insts)*int(unsafe.Sizeof(inst{}))
}

// ClearProgram empties the code and the read-only data and, as Load of an
// empty program would, resets pc, stack, frames, heap, loop counter, flag
// and remainder. Registers are kept.
func (m *VM) ClearProgram() error {
	if m.running {
		return ErrRunning
	}
	m.unshare()
	m.prog.Code = m.prog.Code[:0]
	m.prog.ROData = m.prog.ROData[:0]
	m.insts = predecode(nil, 0, m.insts)
	m.reset()
	return nil
}

// Registers returns the integer registers.
func (m *VM) Registers() [32]int32 { return m.regs }

// FloatRegisters returns the float registers.
func (m *VM) FloatRegisters() [32]float64 { return m.fregs }

// SetRegister sets integer register i (0..31; anything else panics).
func (m *VM) SetRegister(i int, v int32) { m.regs[i] = v }

// SetFloatRegister sets float register i (0..31; anything else panics).
func (m *VM) SetFloatRegister(i int, v float64) { m.fregs[i] = v }

// ClearRegisters zeroes the integer and the float registers.
func (m *VM) ClearRegisters() {
	m.regs = [32]int32{}
	m.fregs = [32]float64{}
}

// PC is the byte offset of the next instruction to run.
func (m *VM) PC() int { return m.pc }

// Remainder is the remainder of the last DIV.
func (m *VM) Remainder() int32 { return m.rem }

// Flag is the comparison flag.
func (m *VM) Flag() bool { return m.flag }

// LoopCounter is the counter set by CLOOP and counted down by LOOP.
func (m *VM) LoopCounter() int { return int(m.lc) }

// HeapSize is the size of the heap in bytes.
func (m *VM) HeapSize() int { return len(m.heap) }

// StackDepth is the number of int32 entries on the stack, call frames
// (two entries each) included.
func (m *VM) StackDepth() int { return m.sp }

// Steps is the number of instructions the last Run executed.
func (m *VM) Steps() int64 { return m.steps }

// Events returns a copy of the event log: a Start for each Run, then a
// GracefulStop or a Crash. The log keeps the latest events only (about a
// thousand).
func (m *VM) Events() []Event { return append([]Event(nil), m.events...) }

// Abort makes a Run in progress return soon with ErrInterrupted. It is safe
// to call from any goroutine. It has no effect on a Run that starts after
// it: each Run clears the request when it starts.
func (m *VM) Abort() {
	m.abort.Store(true)
	m.stopAt.Store(math.MinInt64)
}

// Run executes the program from the current pc until HLT or the end of the
// code (exit code 0 and a nil error) or a fault (exit code 1 and a *Fault
// naming the pc and the opcode, wrapping one of the Err sentinels).
//
// Afterwards pc is where the run stopped: at the HLT, at the end of the
// code, or at the faulting instruction; Steps counts the instructions run.
//
// Interrupts (Abort, RunContext) and the budget are checked at every taken
// jump, call and return, after it is taken, and never per instruction: a
// Fault with ErrInterrupted or ErrBudgetExhausted names the instruction
// about to run, so a later Run resumes the program there. Code between two
// taken jumps runs straight through, at most once over the whole code, so
// the checks are never far apart. The budget stops a run at the first taken
// jump once Budget instructions have run; straight-line code after the last
// jump finishes.
func (m *VM) Run() (exitCode int, err error) {
	if m.running {
		return 1, ErrRunning
	}
	m.abort.Store(false)
	m.slice = 0
	return m.run()
}

// ClearAbort forgets an Abort that no run has seen yet.
func (m *VM) ClearAbort() { m.abort.Store(false) }

// Resume is Run for a process runtime. It keeps an Abort that came while
// the VM was not running (a process killed while it waited or was queued),
// so that the run stops before its first instruction. With slice > 0 it
// runs about that many instructions (to the first taken jump past them)
// and returns ErrSliceDone, not a fault: the run goes on at the next
// Resume, so that one process cannot keep a worker from the others.
func (m *VM) Resume(slice int64) (exitCode int, err error) {
	if m.running {
		return 1, ErrRunning
	}
	m.slice, m.calls = slice, 0
	return m.run()
}

// RunContext is Run, also interrupted when ctx is done; the Fault then wraps
// both ErrInterrupted and the context's cause. A ctx that is already done
// interrupts the run before its first instruction.
func (m *VM) RunContext(ctx context.Context) (exitCode int, err error) {
	if m.running {
		return 1, ErrRunning
	}
	m.abort.Store(false)
	m.slice = 0
	if ctx.Done() != nil {
		if ctx.Err() != nil {
			m.abort.Store(true)
		} else {
			done := make(chan struct{})
			stop := context.AfterFunc(ctx, func() {
				m.Abort()
				close(done)
			})
			defer func() {
				if !stop() {
					<-done // the Abort is under way: let it finish before we return
				}
			}()
		}
	}
	exitCode, err = m.run()
	if f, ok := err.(*Fault); ok && f.Err == ErrInterrupted && ctx.Err() != nil {
		f.Err = fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
	}
	return exitCode, err
}

// run records the events of one Run around exec, and turns a panic (there
// should be none) into a Fault. While it runs, the VM refuses to change
// its program or to start another run (ErrRunning): exec reads its
// entries without bounds checks, trusting that they stay where they were
// (its comment). Should one of exec's invariants ever break, a read of
// memory that is not mapped panics here too (SetPanicOnFault) instead of
// ending the process.
func (m *VM) run() (exitCode int, err error) {
	if !m.parked { // a resumed wait goes on with the run it belongs to
		m.record(EventStart, 0, nil)
	}
	m.parked = false
	m.running = true
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		m.running = false
		if r := recover(); r != nil {
			m.flushAfterPanic()
			exitCode, err = 1, &Fault{PC: m.pc, Op: m.opAt(m.pc), Err: fmt.Errorf("%w: %v", ErrInternal, r)}
		}
		switch {
		case err == ErrSliceDone || errors.Is(err, ErrWaiting):
			m.parked = true // not ended: the run goes on when the VM runs again
		case err != nil:
			m.record(EventCrash, exitCode, err)
		default:
			m.record(EventGracefulStop, exitCode, nil)
		}
	}()
	if m.pc < 0 || m.pc/InstructionSize >= len(m.insts) { // exec trusts it (its comment)
		return 1, m.fault(ErrBadJump)
	}
	exitCode, err = m.exec()
	if ferr := m.flushOutput(); ferr != nil && exitCode == 0 {
		// The run ended or parked, but what it printed cannot be written:
		// a fault, as it would have been at the PRT* without a buffer.
		exitCode, err = 1, m.fault(ferr)
	}
	return exitCode, err
}

// opAt is the opcode at byte offset pc as written, or HLT past the end.
func (m *VM) opAt(pc int) Opcode {
	if pc >= 0 && pc < len(m.prog.Code) {
		return Opcode(m.prog.Code[pc])
	}
	return OpHlt
}

// sliced reports whether this run stops at the end of Resume's slice
// rather than at the Config's budget. It is computed at the stop, not kept
// in a local: a value live across the whole dispatch loop would take a
// register from every instruction.
func (m *VM) sliced() bool {
	return m.slice > 0 && (m.cfg.Budget == 0 || m.slice < m.cfg.Budget)
}

// fault is the Fault for err at m.pc.
func (m *VM) fault(err error) error {
	return &Fault{PC: m.pc, Op: m.opAt(m.pc), Err: err}
}

// stopFault is the Fault of a run stopped at m.pc by an interrupt or the
// budget.
func (m *VM) stopFault() error {
	err := ErrBudgetExhausted
	if m.abort.Load() {
		err = ErrInterrupted
	}
	return &Fault{PC: m.pc, Op: m.opAt(m.pc), Err: err}
}

// park and unpark keep the loop's locals in the VM across the calls that
// some instructions make (growing the stack or the heap, writing output).
// Values live across a call must be spilled, and the compiler would spill
// them on the path of every instruction; parking by hand confines the cost
// to the instructions that call.
//
// ip is the loop's, one past the instruction running, and m.pc holds it
// as it is: no arithmetic here, since these are inlined into many cases and
// even a +1 changed the register allocation of the whole loop
// (bench/README.md). So while parked, m.pc is the next instruction's.
func (m *VM) park(ip int, flag bool, base int64, sp int) {
	m.pc, m.flag, m.base, m.sp = ip*InstructionSize, flag, base, sp
}

func (m *VM) unpark() (ip int, flag bool, base int64, sp int) {
	return m.pc / InstructionSize, m.flag, m.base, m.sp
}

// growStack makes room for at least need more entries on the stack (the
// caller checked that the limit allows them), doubling its storage but
// never past the limit: the storage is m.stack[:len], and len(m.stack)
// never exceeds the limit, so the dispatch loop's PUSH tests only that.
// With a HeapAccount, the stack's storage counts in it as the heap's does
// (a node's processes could otherwise hold 4 MiB of stack each, past any
// total), and the room to double shrinks to what the account allows;
// ErrStackTotal when not even need more entries fit.
//
//go:noinline
func (m *VM) growStack(need int) error {
	size := m.sp + need
	n, ok := m.reserve(size, min(max(2*len(m.stack), 64, size), m.cfg.StackLimit), 4, &m.stackHeld)
	if !ok {
		return ErrStackTotal
	}
	s := make([]int32, n)
	copy(s, m.stack)
	m.stack = s
	return nil
}

// aloc is ALOC of n bytes: the heap grows by n zero bytes, within
// HeapLimit and what the HeapAccount allows. Kept out of the dispatch
// loop, as a call between park and unpark.
//
//go:noinline
func (m *VM) aloc(n int32) error {
	if n < 0 || int(n) > m.cfg.HeapLimit-len(m.heap) {
		return ErrBadAlloc
	}
	return m.growHeap(int(n))
}

// growHeap adds n zero bytes to the end of the heap (the caller checked
// the limit). Past the heap's capacity it takes a new array from make,
// which the runtime zeroes in chunks it can preempt, or not at all when
// the memory is fresh from the operating system. Appending a make would
// clear the new bytes in one call that cannot be preempted, which a
// collection then waits on (bench/README.md: "ALOC without a clear"). The
// new array has room to double into, or as much of it as the HeapAccount
// allows.
func (m *VM) growHeap(n int) error {
	size := len(m.heap) + n
	if size <= cap(m.heap) {
		old := len(m.heap)
		m.heap = m.heap[:size]
		clear(m.heap[old:]) // Load keeps a small heap's array, bytes and all
		return nil
	}
	c, ok := m.reserve(size, max(size, min(2*cap(m.heap), m.cfg.HeapLimit)), 1, &m.held)
	if !ok {
		return ErrHeapTotal
	}
	h := make([]byte, size, c)
	copy(h, m.heap)
	m.heap = h
	return nil
}

// reserve is how many elements of unit bytes a heap or stack growing to
// size elements gets: want, the room to double into, or as much of it as
// the HeapAccount allows, halving what is asked past size (storage of
// exactly size would make every later growth, however small, copy it
// all); false when not even size fits. held is the bytes the storage
// holds in the account, which reserve moves to the new storage's.
func (m *VM) reserve(size, want, unit int, held *int) (int, bool) {
	a := m.cfg.HeapAccount
	if a == nil {
		return want, true
	}
	for !a.Take(unit*want - *held) {
		if want == size {
			return 0, false
		}
		want = size + (want-size)/2
	}
	*held = unit * want
	return want, true
}

// save writes the loop's locals back; ip is the index of the next
// instruction, base + ip the steps executed.
func (m *VM) save(ip int, flag bool, base int64, sp int) {
	m.pc = ip * InstructionSize
	m.flag = flag
	m.steps = base + int64(ip)
	m.sp = sp
}

// prts writes the NUL-terminated string at read-only offset off.
func (m *VM) prts(off int) error {
	ro := m.prog.ROData
	if off > len(ro) {
		return ErrBadString
	}
	n := bytes.IndexByte(ro[off:], 0)
	if n < 0 {
		return ErrBadString
	}
	return m.write(ro[off : off+n])
}

// prti writes v in decimal, with no allocation.
func (m *VM) prti(v int32) error {
	return m.write(strconv.AppendInt(m.buf[:0], int64(v), 10))
}

// write writes b to the Config's Output, through the output buffer if
// there is one.
func (m *VM) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if size := m.cfg.OutputBuffer; size > 0 {
		if len(m.out)+len(b) > size {
			if err := m.flushOutput(); err != nil {
				return err
			}
		}
		if len(b) <= size {
			if m.out == nil {
				m.out = make([]byte, 0, size)
			}
			m.out = append(m.out, b...)
			return nil
		}
	}
	if _, err := m.cfg.Output.Write(b); err != nil {
		if err == ErrOutputFull && m.cfg.OutputBuffer == 0 {
			return errWaitOutput
		}
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return nil
}

// flushAfterPanic writes out what the output buffer holds after a panic
// (there should be none), which Output itself may have raised: a second
// one is ignored.
func (m *VM) flushAfterPanic() {
	defer func() { recover() }()
	m.flushOutput()
}

// flushOutput writes out the output buffer.
func (m *VM) flushOutput() error {
	if len(m.out) == 0 {
		return nil
	}
	_, err := m.cfg.Output.Write(m.out)
	m.out = m.out[:0]
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return nil
}
