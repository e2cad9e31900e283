package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
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

	cfg    Config
	abort  atomic.Bool
	stopAt atomic.Int64 // during a Run: stop at a taken jump once this many steps ran
	steps  int64        // instructions executed by the last Run
	base   int64        // during a Run, while parked: steps = base + pc/4
	events []Event
	buf    [32]byte // PRTI's and PRTF's scratch space

	shared   bool  // prog and insts are shared with a forked VM: copy before changing
	timedOut bool  // a parked RECVT's time is up (TimeOut)
	parked   bool  // the last run stopped in RECV, RECVT or at its slice's end: the next one resumes it
	slice    int64 // Resume's slice: stop after about this many instructions (0: none)
	waiting  Wait  // what the last run that parked returned
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
	m.insts = predecode(nil, 0, nil)
	return m, nil
}

// Load verifies p and makes it the VM's program, starting at pc 0. It resets
// the stack and call frames, the heap, the loop counter, the flag and the
// remainder, and keeps the integer and float registers. The VM keeps a copy
// of p. On error the VM is unchanged.
func (m *VM) Load(p *Program) error {
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
		m.heap = nil
	}
	m.heap = m.heap[:0]
}

// Append adds p after the current program, as the REPL does with each line,
// and sets pc to the first appended instruction. p's addresses are already
// absolute: it was assembled with its code starting at len(current code)
// and its read-only data at len(current read-only data). Its code is
// verified as part of the whole, so its jumps may target any instruction.
// Nothing else changes: registers, stack, heap and flag carry over. On error
// the VM is unchanged.
func (m *VM) Append(p *Program) error {
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

// ClearProgram empties the code and the read-only data and, as Load of an
// empty program would, resets pc, stack, frames, heap, loop counter, flag
// and remainder. Registers are kept.
func (m *VM) ClearProgram() {
	m.unshare()
	m.prog.Code = m.prog.Code[:0]
	m.prog.ROData = m.prog.ROData[:0]
	m.insts = predecode(nil, 0, m.insts)
	m.reset()
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
	m.slice = slice
	return m.run()
}

// RunContext is Run, also interrupted when ctx is done; the Fault then wraps
// both ErrInterrupted and the context's cause. A ctx that is already done
// interrupts the run before its first instruction.
func (m *VM) RunContext(ctx context.Context) (exitCode int, err error) {
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
// should be none) into a Fault.
func (m *VM) run() (exitCode int, err error) {
	if !m.parked { // a resumed wait goes on with the run it belongs to
		m.record(EventStart, 0, nil)
	}
	m.parked = false
	defer func() {
		if r := recover(); r != nil {
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
	return m.exec()
}

// opAt is the opcode at byte offset pc as written, or HLT past the end.
func (m *VM) opAt(pc int) Opcode {
	if pc >= 0 && pc < len(m.prog.Code) {
		return Opcode(m.prog.Code[pc])
	}
	return OpHlt
}

// exec is the dispatch loop over the pre-decoded instructions. The hot
// state (instruction index, flag, step base, the stack and frame base, the
// code and register arrays) lives in locals. No call in the loop has any of
// them live across it: the few instructions that call out (growing the
// stack or heap, writing output) park the locals in the VM first and
// unpark them after, and the exits hand them to save. Otherwise the
// compiler would spill them on every dispatch. Register operands are masked
// with &31: Verify guarantees they are below 32, and the mask lets the
// compiler drop the bounds checks.
//
// Steps: while the loop runs, base + ip is the number of instructions
// executed before the one at ip. Straight-line code only increments ip; a
// taken jump from ip to target moves base by ip+1-target.
//
// Control flow inside: an ordinary instruction falls out of the switch to
// ip++; a taken jump sets target (an instruction index) and jumps to label
// jump, a jump through a register sets target to a byte address and jumps
// to regjump; compare-and-branch forms go to the label of their kind with
// ip at the compare; the ways out are halt (HLT and the end of the code),
// fault and stop (interrupt or budget).
func (m *VM) exec() (int, error) {
	code := m.insts
	end := len(code) - 1 // index of the opEnd sentinel
	regs := &m.regs
	fregs := &m.fregs
	ip := m.pc / InstructionSize
	flag := m.flag
	st, sp, fb := m.stack, m.sp, m.fb
	base := -int64(ip)
	limit := int64(math.MaxInt64)
	if m.cfg.Budget > 0 {
		limit = m.cfg.Budget
	}
	if m.slice > 0 && m.slice < limit {
		limit = m.slice
	}
	// Abort sets stopAt to MinInt64, so one comparison at a taken jump
	// checks both the budget and an interrupt. Abort stores abort before
	// stopAt, so an Abort that this Store overwrites is seen below.
	m.stopAt.Store(limit)
	var target int
	var err error

	if m.abort.Load() {
		goto stop
	}
	for {
		in := &code[ip]
		switch in.op {
		case OpLoad:
			regs[in.a&31] = in.imm
		case OpAdd:
			regs[in.c&31] = regs[in.a&31] + regs[in.b&31]
		case OpSub:
			regs[in.c&31] = regs[in.a&31] - regs[in.b&31]
		case OpMul:
			regs[in.c&31] = regs[in.a&31] * regs[in.b&31]
		case OpDiv:
			a, b := regs[in.a&31], regs[in.b&31]
			if b == 0 {
				err = ErrDivideByZero
				goto fault
			}
			// Go defines MinInt32 / -1 as MinInt32 (remainder 0): no trap.
			regs[in.c&31] = a / b
			m.rem = a % b
		case OpHlt:
			base++ // HLT counts as executed; pc stays at it
			goto halt
		case OpJmp:
			target = int(regs[in.a&31])
			goto regjump
		case OpJmpf:
			target = ip*InstructionSize + int(regs[in.a&31])
			goto regjump
		case OpJmpb:
			target = ip*InstructionSize - int(regs[in.a&31])
			goto regjump
		case OpEq:
			flag = regs[in.a&31] == regs[in.b&31]
		case OpNeq:
			flag = regs[in.a&31] != regs[in.b&31]
		case OpGte:
			flag = regs[in.a&31] >= regs[in.b&31]
		case OpLte:
			flag = regs[in.a&31] <= regs[in.b&31]
		case OpLt:
			flag = regs[in.a&31] < regs[in.b&31]
		case OpGt:
			flag = regs[in.a&31] > regs[in.b&31]
		case OpJmpe:
			if flag {
				target = int(regs[in.a&31])
				goto regjump
			}
		case OpNop:
		case OpAloc:
			n := int(regs[in.a&31])
			if n < 0 || n > m.cfg.HeapLimit-len(m.heap) {
				err = ErrBadAlloc
				goto fault
			}
			m.park(ip, flag, base, sp, fb)
			m.heap = append(m.heap, make([]byte, n)...)
			ip, flag, base, st, sp, fb = m.unpark()
		case OpInc:
			regs[in.a&31]++
		case OpDec:
			regs[in.a&31]--
		case OpDjmpe:
			if flag {
				target = int(in.imm)
				goto jump
			}
		case OpPrts:
			m.park(ip, flag, base, sp, fb)
			err = m.prts(int(in.imm))
			ip, flag, base, st, sp, fb = m.unpark()
			if err != nil {
				goto fault
			}
		case OpLoadF64:
			fregs[in.a&31] = float64(in.imm)
		case OpAddF64:
			fregs[in.c&31] = fregs[in.a&31] + fregs[in.b&31]
		case OpSubF64:
			fregs[in.c&31] = fregs[in.a&31] - fregs[in.b&31]
		case OpMulF64:
			fregs[in.c&31] = fregs[in.a&31] * fregs[in.b&31]
		case OpDivF64:
			fregs[in.c&31] = fregs[in.a&31] / fregs[in.b&31]
		case OpEqF64:
			flag = math.Abs(fregs[in.a&31]-fregs[in.b&31]) < epsilon
		case OpNeqF64:
			flag = !(math.Abs(fregs[in.a&31]-fregs[in.b&31]) < epsilon)
		case OpGtF64:
			flag = fregs[in.a&31] > fregs[in.b&31]
		case OpGteF64:
			flag = fregs[in.a&31] >= fregs[in.b&31]
		case OpLtF64:
			flag = fregs[in.a&31] < fregs[in.b&31]
		case OpLteF64:
			flag = fregs[in.a&31] <= fregs[in.b&31]
		case OpShl:
			regs[in.a&31] <<= in.b // in.b is n mod 32, decoded
		case OpShr:
			regs[in.a&31] >>= in.b // arithmetic: int32
		case OpAnd:
			regs[in.c&31] = regs[in.a&31] & regs[in.b&31]
		case OpOr:
			regs[in.c&31] = regs[in.a&31] | regs[in.b&31]
		case OpXor:
			regs[in.c&31] = regs[in.a&31] ^ regs[in.b&31]
		case OpNot:
			regs[in.b&31] = ^regs[in.a&31]
		case OpLui:
			regs[in.a&31] = int32(uint32(regs[in.a&31])<<16 | uint32(in.imm))
		case OpCloop:
			m.lc = uint32(in.imm)
		case OpLoop:
			if m.lc != 0 {
				m.lc--
				target = int(in.imm)
				goto jump
			}
		case OpLoadm:
			addr := int(regs[in.a&31])
			if addr < 0 || addr > len(m.heap)-4 {
				err = ErrHeapAccess
				goto fault
			}
			regs[in.b&31] = int32(le.Uint32(m.heap[addr:]))
		case OpSetm:
			addr := int(regs[in.a&31])
			if addr < 0 || addr > len(m.heap)-4 {
				err = ErrHeapAccess
				goto fault
			}
			le.PutUint32(m.heap[addr:], uint32(regs[in.b&31]))
		case OpPush:
			// The stack's storage is st; it is never longer than the
			// limit, so sp < len(st) is the only test on the fast path.
			if uint(sp) < uint(len(st)) {
				st[sp] = regs[in.a&31]
				sp++
				break
			}
			goto growPush
		case OpPop:
			if s := sp - 1; s >= fb && uint(s) < uint(len(st)) {
				regs[in.a&31] = st[s]
				sp = s
				break
			}
			err = ErrStackUnderflow
			goto fault
		case OpCall:
			goto call
		case OpRet:
			goto ret
		case OpMod:
			a, b := regs[in.a&31], regs[in.b&31]
			if b == 0 {
				err = ErrDivideByZero
				goto fault
			}
			regs[in.c&31] = a % b
		case OpDjmp:
			target = int(in.imm)
			goto jump
		case OpDjmpne:
			if !flag {
				target = int(in.imm)
				goto jump
			}
		case OpMov:
			regs[in.b&31] = regs[in.a&31]
		case OpPrti:
			m.park(ip, flag, base, sp, fb)
			err = m.prti(regs[in.a&31])
			ip, flag, base, st, sp, fb = m.unpark()
			if err != nil {
				goto fault
			}

		case opEnd:
			goto halt

		// Superinstructions. Each part runs exactly as it would alone, in
		// order; ip moves to each part before it runs, so a fault in a
		// later part names that part, and a taken branch counts all.
		case opMulAdd:
			regs[in.c&31] = regs[in.a&31] * regs[in.b&31]
			ip++
			regs[in.f&31] = regs[in.d&31] + regs[in.e&31]
		case opAddMod:
			regs[in.c&31] = regs[in.a&31] + regs[in.b&31]
			ip++
			a, b := regs[in.d&31], regs[in.e&31]
			if b == 0 {
				err = ErrDivideByZero
				goto fault
			}
			regs[in.f&31] = a % b
		case opMulAddMod:
			regs[in.c&31] = regs[in.a&31] * regs[in.b&31]
			ip++
			regs[in.f&31] = regs[in.d&31] + regs[in.e&31]
			ip++
			a, b := regs[in.imm2>>16&31], regs[in.imm2>>8&31]
			if b == 0 {
				err = ErrDivideByZero
				goto fault
			}
			regs[in.imm2&31] = a % b

		// Stack and call superinstructions: a register save or restore, an
		// argument or a result set up next to the CALL or RET.
		case opPushPush:
			if uint(sp)+1 < uint(len(st)) {
				st[sp] = regs[in.a&31]
				st[sp+1] = regs[in.d&31]
				sp += 2
				ip++
				break
			}
			if uint(sp) < uint(len(st)) { // room for the first only
				st[sp] = regs[in.a&31]
				sp++
				ip++
			}
			goto growPush // grow for the PUSH at ip, then run on from it
		case opPopPop:
			if s := sp - 2; s >= fb && uint(s)+1 < uint(len(st)) {
				regs[in.a&31] = st[s+1]
				regs[in.d&31] = st[s]
				sp = s
				ip++
				break
			}
			if s := sp - 1; s >= fb && uint(s) < uint(len(st)) {
				regs[in.a&31] = st[s] // the first POP works, the second faults
				sp = s
				ip++
			}
			err = ErrStackUnderflow
			goto fault
		case opPushCall:
			if uint(sp) < uint(len(st)) {
				st[sp] = regs[in.a&31]
				sp++
				ip++
				goto call
			}
			goto growPush
		case opIncCall:
			regs[in.a&31]++
			ip++
			goto call
		case opDecCall:
			regs[in.a&31]--
			ip++
			goto call
		case opMovCall:
			regs[in.b&31] = regs[in.a&31]
			ip++
			goto call
		case opMovRet:
			regs[in.b&31] = regs[in.a&31]
			ip++
			goto ret
		case opAddRet:
			regs[in.c&31] = regs[in.a&31] + regs[in.b&31]
			ip++
			goto ret
		case opPopRet:
			if s := sp - 1; s >= fb && uint(s) < uint(len(st)) {
				regs[in.a&31] = st[s]
				sp = s
				ip++
				goto ret
			}
			err = ErrStackUnderflow
			goto fault

		case opCB + kEqJe:
			goto eqJe
		case opCB + kEqJne:
			goto eqJne
		case opCB + kNeqJe:
			goto neqJe
		case opCB + kNeqJne:
			goto neqJne
		case opCB + kGteJe:
			goto gteJe
		case opCB + kGteJne:
			goto gteJne
		case opCB + kLteJe:
			goto lteJe
		case opCB + kLteJne:
			goto lteJne
		case opCB + kLtJe:
			goto ltJe
		case opCB + kLtJne:
			goto ltJne
		case opCB + kGtJe:
			goto gtJe
		case opCB + kGtJne:
			goto gtJne

		case opIncCB + kEqJe:
			regs[in.a&31]++
			ip++
			goto eqJe
		case opIncCB + kEqJne:
			regs[in.a&31]++
			ip++
			goto eqJne
		case opIncCB + kNeqJe:
			regs[in.a&31]++
			ip++
			goto neqJe
		case opIncCB + kNeqJne:
			regs[in.a&31]++
			ip++
			goto neqJne
		case opIncCB + kGteJe:
			regs[in.a&31]++
			ip++
			goto gteJe
		case opIncCB + kGteJne:
			regs[in.a&31]++
			ip++
			goto gteJne
		case opIncCB + kLteJe:
			regs[in.a&31]++
			ip++
			goto lteJe
		case opIncCB + kLteJne:
			regs[in.a&31]++
			ip++
			goto lteJne
		case opIncCB + kLtJe:
			regs[in.a&31]++
			ip++
			goto ltJe
		case opIncCB + kLtJne:
			regs[in.a&31]++
			ip++
			goto ltJne
		case opIncCB + kGtJe:
			regs[in.a&31]++
			ip++
			goto gtJe
		case opIncCB + kGtJne:
			regs[in.a&31]++
			ip++
			goto gtJne

		case opLoadCB + kEqJe:
			regs[in.a&31] = in.imm2
			ip++
			goto eqJe
		case opLoadCB + kEqJne:
			regs[in.a&31] = in.imm2
			ip++
			goto eqJne
		case opLoadCB + kNeqJe:
			regs[in.a&31] = in.imm2
			ip++
			goto neqJe
		case opLoadCB + kNeqJne:
			regs[in.a&31] = in.imm2
			ip++
			goto neqJne
		case opLoadCB + kGteJe:
			regs[in.a&31] = in.imm2
			ip++
			goto gteJe
		case opLoadCB + kGteJne:
			regs[in.a&31] = in.imm2
			ip++
			goto gteJne
		case opLoadCB + kLteJe:
			regs[in.a&31] = in.imm2
			ip++
			goto lteJe
		case opLoadCB + kLteJne:
			regs[in.a&31] = in.imm2
			ip++
			goto lteJne
		case opLoadCB + kLtJe:
			regs[in.a&31] = in.imm2
			ip++
			goto ltJe
		case opLoadCB + kLtJne:
			regs[in.a&31] = in.imm2
			ip++
			goto ltJne
		case opLoadCB + kGtJe:
			regs[in.a&31] = in.imm2
			ip++
			goto gtJe
		case opLoadCB + kGtJne:
			regs[in.a&31] = in.imm2
			ip++
			goto gtJne

		default:
			// Opcodes 53-64 (processes, ITOF, FTOI, PRTF, REM) run out of
			// line, from here: as cases of their own they slowed the other
			// instructions more (bench/README.md). Verified code holds no
			// other opcode but IGL.
			if in.op < OpSelf || in.op > OpRem {
				err = ErrIllegalOpcode
				goto fault
			}
			m.park(ip, flag, base, sp, fb)
			err = m.process(in.op, in.a&31, in.b&31, in.c&31)
			ip, flag, base, st, sp, fb = m.unpark()
			if err != nil {
				goto fault // errWait included: fault tells them apart
			}
		}
		ip++
		continue

		// Compare and branch: ip is at the compare, registers in d and e,
		// the branch's target in imm. Set the flag as the compare does,
		// then behave as the branch at ip+1.
	eqJe:
		ip++
		if flag = regs[in.d&31] == regs[in.e&31]; flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	eqJne:
		ip++
		if flag = regs[in.d&31] == regs[in.e&31]; !flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	neqJe:
		ip++
		if flag = regs[in.d&31] != regs[in.e&31]; flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	neqJne:
		ip++
		if flag = regs[in.d&31] != regs[in.e&31]; !flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	gteJe:
		ip++
		if flag = regs[in.d&31] >= regs[in.e&31]; flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	gteJne:
		ip++
		if flag = regs[in.d&31] >= regs[in.e&31]; !flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	lteJe:
		ip++
		if flag = regs[in.d&31] <= regs[in.e&31]; flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	lteJne:
		ip++
		if flag = regs[in.d&31] <= regs[in.e&31]; !flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	ltJe:
		ip++
		if flag = regs[in.d&31] < regs[in.e&31]; flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	ltJne:
		ip++
		if flag = regs[in.d&31] < regs[in.e&31]; !flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	gtJe:
		ip++
		if flag = regs[in.d&31] > regs[in.e&31]; flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue
	gtJne:
		ip++
		if flag = regs[in.d&31] > regs[in.e&31]; !flag {
			target = int(in.imm)
			goto jump
		}
		ip++
		continue

	growPush: // the PUSH at ip has no room: grow the stack and run it again
		if sp >= m.cfg.StackLimit {
			err = ErrStackOverflow
			goto fault
		}
		m.park(ip, flag, base, sp, fb)
		m.growStack(1)
		ip, flag, base, st, sp, fb = m.unpark()
		continue

	call: // the CALL at ip, target index in imm
		if uint(sp)+2 > uint(len(st)) {
			if sp > m.cfg.StackLimit-2 {
				err = ErrStackOverflow
				goto fault
			}
			m.park(ip, flag, base, sp, fb)
			m.growStack(2)
			ip, flag, base, st, sp, fb = m.unpark()
			continue // run the CALL (its own entry) again, with room now
		}
		st[sp+1] = int32(fb)
		st[sp] = int32((ip + 1) * InstructionSize)
		sp += 2
		fb = sp
		target = int(in.imm)
		goto jump

	ret: // the RET at ip
		if fb < 2 || fb > len(st) {
			err = ErrNoFrame
			goto fault
		}
		// The callee cannot pop below fb, so st[fb-2:fb] is still the
		// return address that CALL pushed and the caller's frame base.
		// Code only grows while frames live (Load and ClearProgram empty
		// the stack), so the address is valid; the test costs one compare.
		target = int(uint32(st[fb-2]) / InstructionSize)
		sp = fb - 2
		fb = int(st[fb-1])
		if target > end {
			err = ErrBadJump
			goto fault
		}
		goto jump

	regjump: // target is a byte address computed at run time
		if target < 0 || target > end*InstructionSize || target%InstructionSize != 0 {
			err = ErrBadJump
			goto fault
		}
		target /= InstructionSize
	jump: // the instruction at ip is taken: go to instruction index target
		base += int64(ip + 1 - target)
		ip = target
		if base+int64(ip) >= m.stopAt.Load() {
			goto stop
		}
	}

halt: // at HLT (ip is past it, counted) or the sentinel
	m.save(ip, flag, base, sp, fb)
	return 0, nil

fault:
	if err == errWait { // the RECV or RECVT at ip waits; it runs again when the VM does
		m.save(ip, flag, base, sp, fb)
		return 0, m.wait()
	}
	m.save(ip, flag, base+1, sp, fb) // the faulting instruction counts
	return 1, m.fault(err)

stop:
	m.save(ip, flag, base, sp, fb)
	if ip == end {
		return 0, nil // the jump went to the end: that is a normal end
	}
	if m.sliced() && !m.abort.Load() {
		return 0, ErrSliceDone
	}
	return 1, m.stopFault()
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

// park and unpark keep the loop's locals in the VM (the stack's storage
// is always m.stack: only growStack changes it) across the calls that
// some instructions make (growing the stack or the heap, writing output).
// Values live across a call must be spilled, and the compiler would spill
// them on the path of every instruction; parking by hand confines the cost
// to the instructions that call.
func (m *VM) park(ip int, flag bool, base int64, sp, fb int) {
	m.pc, m.flag, m.base, m.sp, m.fb = ip*InstructionSize, flag, base, sp, fb
}

func (m *VM) unpark() (ip int, flag bool, base int64, st []int32, sp, fb int) {
	return m.pc / InstructionSize, m.flag, m.base, m.stack, m.sp, m.fb
}

// growStack makes room for at least need more entries on the stack (the
// caller checked that the limit allows them), doubling its storage but
// never past the limit: the storage is m.stack[:len], and len(m.stack)
// never exceeds the limit, so the dispatch loop's PUSH tests only that.
//
//go:noinline
func (m *VM) growStack(need int) {
	n := min(max(2*len(m.stack), 64, m.sp+need), m.cfg.StackLimit)
	m.stack = slices.Grow(m.stack, n-len(m.stack))[:n]
}

// save writes the loop's locals back; ip is the index of the next
// instruction, base + ip the steps executed.
func (m *VM) save(ip int, flag bool, base int64, sp, fb int) {
	m.pc = ip * InstructionSize
	m.flag = flag
	m.steps = base + int64(ip)
	m.sp, m.fb = sp, fb
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

func (m *VM) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := m.cfg.Output.Write(b); err != nil {
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	return nil
}
