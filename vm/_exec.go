//go:build ignore

// This file is the source of exec_gen.go: the dispatch loop with one case
// per instruction. internal/genexec copies it and adds a case for every
// superinstruction, built from the bodies below, so that each instruction's
// semantics is written here once. Edit this file, then run go generate.
//
// The rules a body keeps, so that it can run as a part of a
// superinstruction: it operates on the instruction in (its operands) and the
// loop's locals; it neither breaks nor continues; falling off its end means
// "go on with the next instruction"; it leaves only through the labels below
// (jump, regjump, call, ret, growPush, fault, halt).
//
// genexec copies the blocks labeled call, ret, regjump and jump into every
// goto that names them, and drops the labels: a taken jump, a call or a
// return then leaves its case for the next dispatch directly, not through
// one shared block (bench/README.md has what that bought).
//
// A body that uses the float registers reaches them through m.fr, a
// pointer to them, not at their offset in the VM: an offset past 127
// bytes makes every float instruction 4 bytes longer, and the float
// cases ran at half the speed of the integer ones (bench/README.md,
// "Longer instructions").
//
// A body calls no function, except between park and unpark: the loop is
// too large for the compiler to inline anything into it, and a value live
// across a call is spilled on every dispatch. So LOADM and SETM spell out
// their little-endian bytes (the compiler merges them into one load or
// store) instead of calling encoding/binary. SETM shifts a uint32: the
// compiler does not merge the byte stores of a value shifted
// arithmetically (int32), and a LOADM of a word written by four byte
// stores waits for all four (no store-to-load forwarding).

package vm

import (
	"math"
	"unsafe"
)

// exec is the dispatch loop over the pre-decoded instructions. The hot
// state (instruction index, step base, flag, stack depth, the code) lives
// in locals; the registers, the stack's storage and the frame base stay in
// the VM, since there are not enough machine registers for all of them and
// the instructions' temporaries. No call in the loop has any of
// them live across it: the few instructions that call out (growing the
// stack or heap, writing output, the process instructions) park the locals
// in the VM first and unpark them after, and the exits hand them to save.
// Otherwise the compiler would spill them on every dispatch. Register
// operands are masked with &31: Verify guarantees they are below 32, and the
// mask lets the compiler drop the bounds checks.
//
// ip is the index of the next entry: the loop increments it as it reads
// the entry, before the instruction runs, so that an instruction that
// falls through is done. The instruction running is at ip-1.
//
// Steps: while the loop runs, base + ip is the number of instructions
// executed so far, the one running included. A taken jump to target moves
// base by ip-target.
//
// A superinstruction runs its parts in order, each on its own entry of code
// (the entry after the first holds the second part's operands), moving ip
// and in to each part before it runs: a fault in a later part names that
// part, and a taken branch counts all the parts before it. A chain, after
// its jump's block, goes on the same way with the instructions at the
// target.
//
// Control flow inside: an ordinary instruction goes on to the next
// dispatch (genexec closes its case with continue); a taken jump sets
// target (an instruction index) and jumps to label jump, a jump through a
// register sets target to a byte address and jumps to regjump; the ways
// out are halt (HLT and the end of the code), fault and stop (interrupt,
// budget or the end of a slice), each first moving ip back to what it names.
//
// code is the address of the first entry, and the loop reaches an entry by
// adding to it, without a bounds check: ip is always an index of m.insts
// (the sentinel's included) when an entry is read, and the parts of a
// superinstruction or a chain at ip are entries too. run checks the index
// a run starts at; every index after it comes from verified code (a
// direct jump's target, at most the sentinel's index), from predecode
// (which fuses only parts that are in the code), from a return or a
// register jump (checked against len(m.insts) where they land), or from
// m.pc after a call out (unpark), which the loop itself saved. m.insts
// and m.pc do not change under the loop: only Load, Append and
// ClearProgram change them, and they refuse while a run is under way
// (ErrRunning), which is when the callbacks the loop calls out to
// (Output, Runtime, HeapAccount) could call them. Should any of this ever
// break, the loop reads memory that is not an entry; run makes that a
// Fault when the memory is not mapped (TestBrokenEntryIsAFault), and
// nothing can be said when it is: hence the care above.
func (m *VM) exec() (int, error) {
	code := unsafe.Pointer(unsafe.SliceData(m.insts))
	ip := m.pc / InstructionSize
	flag := m.flag
	sp := m.sp
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
		in := (*inst)(unsafe.Add(code, uintptr(ip)*unsafe.Sizeof(inst{})))
		ip++
		switch in.op {
		case xop(OpLoad):
			m.regs[in.a&31] = in.imm
		case xop(OpAdd):
			m.regs[in.c&31] = m.regs[in.a&31] + m.regs[in.b&31]
		case xop(OpSub):
			m.regs[in.c&31] = m.regs[in.a&31] - m.regs[in.b&31]
		case xop(OpMul):
			m.regs[in.c&31] = m.regs[in.a&31] * m.regs[in.b&31]
		case xop(OpDiv):
			a, b := m.regs[in.a&31], m.regs[in.b&31]
			if b == 0 {
				err = ErrDivideByZero
				goto fault
			}
			// Go defines MinInt32 / -1 as MinInt32 (remainder 0): no trap.
			m.regs[in.c&31] = a / b
			m.rem = a % b
		case xop(OpHlt):
			base++ // HLT counts as executed; pc stays at it
			goto halt
		case xop(OpJmp):
			target = int(m.regs[in.a&31])
			goto regjump
		case xop(OpJmpf):
			target = (ip-1)*InstructionSize + int(m.regs[in.a&31])
			goto regjump
		case xop(OpJmpb):
			target = (ip-1)*InstructionSize - int(m.regs[in.a&31])
			goto regjump
		case xop(OpEq):
			flag = m.regs[in.a&31] == m.regs[in.b&31]
		case xop(OpNeq):
			flag = m.regs[in.a&31] != m.regs[in.b&31]
		case xop(OpGte):
			flag = m.regs[in.a&31] >= m.regs[in.b&31]
		case xop(OpLte):
			flag = m.regs[in.a&31] <= m.regs[in.b&31]
		case xop(OpLt):
			flag = m.regs[in.a&31] < m.regs[in.b&31]
		case xop(OpGt):
			flag = m.regs[in.a&31] > m.regs[in.b&31]
		case xop(OpJmpe):
			if flag {
				target = int(m.regs[in.a&31])
				goto regjump
			}
		case xop(OpNop):
		case xop(OpAloc):
			m.park(ip, flag, base, sp)
			err = m.aloc(m.regs[in.a&31])
			ip, flag, base, sp = m.unpark()
			if err != nil {
				goto fault
			}
		case xop(OpInc):
			m.regs[in.a&31] = m.regs[in.a&31] + 1
		case xop(OpDec):
			m.regs[in.a&31] = m.regs[in.a&31] - 1
		case xop(OpDjmpe):
			if flag {
				target = int(in.imm)
				goto jump
			}
		case xop(OpPrts):
			m.park(ip, flag, base, sp)
			err = m.prts(int(in.imm))
			ip, flag, base, sp = m.unpark()
			if err != nil {
				goto fault
			}
		case xop(OpLoadF64):
			fr := m.fr
			fr[in.a&31] = float64(in.imm)
		case xop(OpAddF64):
			fr := m.fr
			fr[in.c&31] = fr[in.a&31] + fr[in.b&31]
		case xop(OpSubF64):
			fr := m.fr
			fr[in.c&31] = fr[in.a&31] - fr[in.b&31]
		case xop(OpMulF64):
			fr := m.fr
			fr[in.c&31] = fr[in.a&31] * fr[in.b&31]
		case xop(OpDivF64):
			fr := m.fr
			fr[in.c&31] = fr[in.a&31] / fr[in.b&31]
		case xop(OpEqF64):
			fr := m.fr
			flag = math.Abs(fr[in.a&31]-fr[in.b&31]) < epsilon
		case xop(OpNeqF64):
			fr := m.fr
			flag = !(math.Abs(fr[in.a&31]-fr[in.b&31]) < epsilon)
		case xop(OpGtF64):
			fr := m.fr
			flag = fr[in.a&31] > fr[in.b&31]
		case xop(OpGteF64):
			fr := m.fr
			flag = fr[in.a&31] >= fr[in.b&31]
		case xop(OpLtF64):
			fr := m.fr
			flag = fr[in.a&31] < fr[in.b&31]
		case xop(OpLteF64):
			fr := m.fr
			flag = fr[in.a&31] <= fr[in.b&31]
		case xop(OpShl):
			m.regs[in.a&31] = m.regs[in.a&31] << (in.b & 31) // in.b is n mod 32, decoded; the mask drops the test for n >= 32
		case xop(OpShr):
			m.regs[in.a&31] = m.regs[in.a&31] >> (in.b & 31) // arithmetic: int32; the mask as in SHL
		case xop(OpAnd):
			m.regs[in.c&31] = m.regs[in.a&31] & m.regs[in.b&31]
		case xop(OpOr):
			m.regs[in.c&31] = m.regs[in.a&31] | m.regs[in.b&31]
		case xop(OpXor):
			m.regs[in.c&31] = m.regs[in.a&31] ^ m.regs[in.b&31]
		case xop(OpNot):
			m.regs[in.b&31] = ^m.regs[in.a&31]
		case xop(OpLui):
			m.regs[in.a&31] = int32(uint32(m.regs[in.a&31])<<16 | uint32(in.imm))
		case xop(OpCloop):
			m.lc = uint32(in.imm)
		case xop(OpLoop):
			if m.lc != 0 {
				m.lc--
				target = int(in.imm)
				goto jump
			}
		case xop(OpLoadm):
			addr := int(m.regs[in.a&31])
			if addr < 0 || addr > len(m.heap)-4 {
				err = ErrHeapAccess
				goto fault
			}
			h := m.heap[addr : addr+4]
			m.regs[in.b&31] = int32(uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16 | uint32(h[3])<<24)
		case xop(OpSetm):
			addr := int(m.regs[in.a&31])
			if addr < 0 || addr > len(m.heap)-4 {
				err = ErrHeapAccess
				goto fault
			}
			h, v := m.heap[addr:addr+4], uint32(m.regs[in.b&31])
			h[0], h[1], h[2], h[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		case xop(OpPush):
			// The stack's storage, m.stack, is never longer than the
			// limit, so sp < len(m.stack) is the only test on the fast path.
			if uint(sp) >= uint(len(m.stack)) {
				goto growPush
			}
			m.stack[sp] = m.regs[in.a&31]
			sp++
		case xop(OpPop):
			if sp <= m.fb || uint(sp-1) >= uint(len(m.stack)) {
				err = ErrStackUnderflow
				goto fault
			}
			sp--
			m.regs[in.a&31] = m.stack[sp]
		case xop(OpCall):
			goto call
		case xop(OpRet):
			goto ret
		case xop(OpMod):
			a, b := m.regs[in.a&31], m.regs[in.b&31]
			if b == 0 {
				err = ErrDivideByZero
				goto fault
			}
			m.regs[in.c&31] = a % b
		case xop(OpDjmp):
			target = int(in.imm)
			goto jump
		case xop(OpDjmpne):
			if !flag {
				target = int(in.imm)
				goto jump
			}
		case xop(OpMov):
			m.regs[in.b&31] = m.regs[in.a&31]
		case xop(OpPrti):
			m.park(ip, flag, base, sp)
			err = m.prti(m.regs[in.a&31])
			ip, flag, base, sp = m.unpark()
			if err != nil {
				goto fault
			}
		case xop(OpRem):
			m.regs[in.a&31] = m.rem
		case xop(OpItof):
			fr := m.fr
			fr[in.b&31] = float64(m.regs[in.a&31])
		case xop(OpFtoi):
			// Truncated toward zero, saturated to the int32 range; NaN gives 0.
			f, v := m.fr[in.a&31], int32(0)
			switch {
			case f != f:
			case f >= math.MaxInt32:
				v = math.MaxInt32
			case f <= math.MinInt32:
				v = math.MinInt32
			default:
				v = int32(f)
			}
			m.regs[in.b&31] = v

		case opEnd:
			goto halt

		default:
			// The process instructions (opcodes 53-60) and PRTF run out of
			// line, from here: as cases of their own they slowed the other
			// instructions more (bench/README.md). Verified code holds no
			// other opcode but IGL.
			if in.op < xop(OpSelf) || in.op > xop(OpRem) {
				err = ErrIllegalOpcode
				goto fault
			}
			m.park(ip, flag, base, sp)
			err = m.process(Opcode(in.op), in.a&31, in.b&31, in.c&31)
			ip, flag, base, sp = m.unpark()
			if err != nil {
				goto fault // errWait included: fault tells them apart
			}
		}
		continue

	growPush: // the PUSH at ip-1 has no room: grow the stack and run it again
		if sp >= m.cfg.StackLimit {
			err = ErrStackOverflow
			goto fault
		}
		ip--
		m.park(ip, flag, base, sp)
		err = m.growStack(1)
		ip, flag, base, sp = m.unpark()
		if err != nil {
			ip++ // fault names the instruction at ip-1: the PUSH
			goto fault
		}
		continue

	call: // the CALL at ip-1, target index in imm; it returns to ip
		if uint(sp)+2 > uint(len(m.stack)) {
			if sp > m.cfg.StackLimit-2 {
				err = ErrStackOverflow
				goto fault
			}
			m.park(ip, flag, base, sp)
			err = m.growStack(2)
			ip, flag, base, sp = m.unpark()
			if err != nil {
				goto fault
			}
			ip--
			continue // run the CALL (its own entry) again, with room now
		}
		m.stack[sp+1] = int32(m.fb)
		m.stack[sp] = int32(ip * InstructionSize)
		sp += 2
		m.fb = sp
		target = int(in.imm)
		goto jump

	ret: // the RET at ip-1
		if m.fb < 2 || m.fb > len(m.stack) {
			err = ErrNoFrame
			goto fault
		}
		// The callee cannot pop below m.fb, so m.stack[m.fb-2:m.fb] is still the
		// return address that CALL pushed and the caller's frame base.
		// Code only grows while frames live (Load and ClearProgram empty
		// the stack), so the address is valid; the test costs one compare.
		sp = m.fb - 2
		target = int(uint32(m.stack[sp]) / InstructionSize)
		m.fb = int(m.stack[sp+1])
		if target >= len(m.insts) {
			err = ErrBadJump
			goto fault
		}
		goto jump

	regjump: // target is a byte address computed at run time
		if target < 0 || target >= len(m.insts)*InstructionSize || target%InstructionSize != 0 {
			err = ErrBadJump
			goto fault
		}
		target /= InstructionSize
	jump: // the instruction at ip-1 is taken: go to instruction index target
		base += int64(ip - target)
		ip = target
		if base+int64(ip) >= m.stopAt.Load() {
			goto stop
		}
	}

halt: // at HLT or the sentinel
	ip--
	m.save(ip, flag, base, sp)
	return 0, nil

fault: // pc names the instruction that faulted
	ip--
	if err == errWait || err == errWaitOutput { // the instruction at ip waits; it runs again when the VM does
		m.save(ip, flag, base, sp)
		return 0, m.wait(err == errWaitOutput)
	}
	m.save(ip, flag, base+1, sp) // the faulting instruction counts
	return 1, m.fault(err)

stop:
	m.save(ip, flag, base, sp)
	if ip == len(m.insts)-1 {
		return 0, nil // the jump went to the end: that is a normal end
	}
	if m.sliced() && !m.abort.Load() {
		return 0, ErrSliceDone
	}
	return 1, m.stopFault()
}
