package vm

// inst is the pre-decoded form of one instruction that the dispatch loop
// runs. Load and Append build it once from verified code, so the loop never
// re-reads bytes: operands are already split out, shift counts reduced,
// direct jump targets turned into instruction indexes.
//
// The slice of insts has one entry per instruction, at index pc/4, and one
// more at the end: the opEnd sentinel, so that running off the end or
// jumping to the end needs no bounds test of its own.
//
// A fused entry (a superinstruction, see fuseAt) stands for the instruction
// at its index and the one or two after it; those keep their own entries,
// so a jump into the middle of a fused sequence runs the rest as written.
type inst struct {
	op      Opcode
	a, b, c uint8 // register operands; for SHL/SHR, b is the shift count
	d, e, f uint8 // the registers of a fused form's later parts
	_       uint8
	imm     int32 // imm16, imm24, or the target index of a direct jump
	imm2    int32 // a fused LOAD's value
}

// Internal opcodes: never in bytecode (Verify refuses them), only in the
// pre-decoded form. They sit just above IGL, apart from the numbers 53-99
// that the instruction set keeps for new instructions, and the dispatch switch stays
// dense enough to compile to a jump table.
const (
	opEnd Opcode = OpIgl + 1 // the end of the code: stop, exit code 0

	// Compare-and-branch superinstructions: a compare (EQ ... GT, registers
	// in d and e) directly followed by DJMPE or DJMPNE (target in imm) runs
	// as one dispatch. opCB + cbKind(compare, branch) is the opcode.
	opCB = opEnd + 1

	// INC $a, then a compare-and-branch: the loop step "i++; if i != n
	// goto loop" as one dispatch. opIncCB + cbKind(compare, branch).
	opIncCB = opCB + numCB

	// LOAD $a #imm2, then a compare-and-branch: a compare with a constant.
	// opLoadCB + cbKind(compare, branch).
	opLoadCB = opIncCB + numCB

	// MUL $a $b $c, then ADD $d $e $f.
	opMulAdd = opLoadCB + numCB
	// ADD $a $b $c, then MOD $d $e $f (the MOD may fault).
	opAddMod = opMulAdd + 1
	// MUL $a $b $c, ADD $d $e $f, then MOD (registers in imm2's low three
	// bytes), the MOD may fault.
	opMulAddMod = opAddMod + 1

	// Stack and call pairs: PUSH PUSH and POP POP (second register in d),
	// PUSH/INC/DEC/MOV then CALL (target in imm), MOV/ADD/POP then RET.
	opPushPush = opMulAddMod + 1
	opPopPop   = opPushPush + 1
	opPushCall = opPopPop + 1
	opIncCall  = opPushCall + 1
	opDecCall  = opIncCall + 1
	opMovCall  = opDecCall + 1
	opMovRet   = opMovCall + 1
	opAddRet   = opMovRet + 1
	opPopRet   = opAddRet + 1
	opLast     = opPopRet
)

// The compare-and-branch kinds: 2*compare + branch, compare in the order
// EQ NEQ GTE LTE LT GT, branch 0 for DJMPE and 1 for DJMPNE.
const (
	kEqJe = iota
	kEqJne
	kNeqJe
	kNeqJne
	kGteJe
	kGteJne
	kLteJe
	kLteJne
	kLtJe
	kLtJne
	kGtJe
	kGtJne
	numCB
)

// cbKind is the compare-and-branch kind of compare cmp followed by branch
// br, or -1 if they do not form one.
func cbKind(cmp, br Opcode) int {
	if cmp < OpEq || cmp > OpGt {
		return -1
	}
	k := 2 * int(cmp-OpEq)
	switch br {
	case OpDjmpe:
		return k
	case OpDjmpne:
		return k + 1
	}
	return -1
}

// predecode extends insts, the decoded form of code[:from] followed by its
// sentinel, to the decoded form of all of code (verified) and a new
// sentinel. It reuses the capacity of insts. The last two old instructions
// are decoded again, since they may fuse with the first new ones.
func predecode(code []byte, from int, insts []inst) []inst {
	start := max(from/InstructionSize-2, 0)
	insts = insts[:start]
	for i := start; i < len(code)/InstructionSize; i++ {
		insts = append(insts, fuseAt(code, i))
	}
	return append(insts, inst{op: opEnd})
}

func decodeInst(in Instruction) inst {
	d := inst{op: in.Op}
	info, _ := in.Op.Info()
	switch info.Shape {
	case ShapeR, ShapeRR, ShapeRRR:
		d.a, d.b, d.c = in.A, in.B, in.C
	case ShapeRImm16:
		d.a, d.imm = in.A, int32(in.Imm16())
	case ShapeRShift:
		n := in.B
		if n == 0 {
			n = 16
		}
		d.a, d.b = in.A, n%32
	case ShapeAddr24:
		d.imm = int32(in.Imm24() / InstructionSize)
	case ShapeImm24:
		d.imm = int32(in.Imm24())
	}
	return d
}

// noFusion turns superinstructions off, so that tests can run a program
// both ways and compare. Only tests set it.
var noFusion bool

// callPrefix and retPrefix map the first instruction of a pair with CALL or
// RET to the pair's opcode; its operands stay where decodeInst puts them.
var (
	callPrefix = [256]Opcode{OpPush: opPushCall, OpInc: opIncCall, OpDec: opDecCall, OpMov: opMovCall}
	retPrefix  = [256]Opcode{OpMov: opMovRet, OpAdd: opAddRet, OpPop: opPopRet}
)

// fuseAt is the entry for instruction i of code (verified): the fused form
// of the longest superinstruction that starts there, or the instruction
// alone. It reads only code[i*4:(i+3)*4].
func fuseAt(code []byte, i int) inst {
	if noFusion {
		return decodeInst(Decode(code[i*InstructionSize:]))
	}
	n := len(code) / InstructionSize
	at := func(j int) Instruction {
		if j >= n {
			return Instruction{Op: opEnd}
		}
		return Decode(code[j*InstructionSize:])
	}
	x, y, z := at(i), at(i+1), at(i+2)
	d := decodeInst(x)
	switch {
	case x.Op == OpInc && cbKind(y.Op, z.Op) >= 0:
		return inst{op: opIncCB + Opcode(cbKind(y.Op, z.Op)), a: x.A, d: y.A, e: y.B,
			imm: int32(z.Imm24() / InstructionSize)}
	case x.Op == OpLoad && cbKind(y.Op, z.Op) >= 0:
		return inst{op: opLoadCB + Opcode(cbKind(y.Op, z.Op)), a: x.A, imm2: int32(x.Imm16()),
			d: y.A, e: y.B, imm: int32(z.Imm24() / InstructionSize)}
	case cbKind(x.Op, y.Op) >= 0:
		return inst{op: opCB + Opcode(cbKind(x.Op, y.Op)), d: x.A, e: x.B,
			imm: int32(y.Imm24() / InstructionSize)}
	case x.Op == OpMul && y.Op == OpAdd && z.Op == OpMod:
		return inst{op: opMulAddMod, a: x.A, b: x.B, c: x.C, d: y.A, e: y.B, f: y.C,
			imm2: int32(z.A)<<16 | int32(z.B)<<8 | int32(z.C)}
	case x.Op == OpMul && y.Op == OpAdd:
		return inst{op: opMulAdd, a: x.A, b: x.B, c: x.C, d: y.A, e: y.B, f: y.C}
	case x.Op == OpAdd && y.Op == OpMod:
		return inst{op: opAddMod, a: x.A, b: x.B, c: x.C, d: y.A, e: y.B, f: y.C}
	case x.Op == OpPush && y.Op == OpPush:
		return inst{op: opPushPush, a: x.A, d: y.A}
	case x.Op == OpPop && y.Op == OpPop:
		return inst{op: opPopPop, a: x.A, d: y.A}
	case y.Op == OpCall && callPrefix[x.Op] != 0:
		d.op = callPrefix[x.Op]
		d.imm = int32(y.Imm24() / InstructionSize)
		return d
	case y.Op == OpRet && retPrefix[x.Op] != 0:
		d.op = retPrefix[x.Op]
		return d
	}
	return d
}
