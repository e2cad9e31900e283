package vm

// inst is the pre-decoded form of one instruction that the dispatch loop
// runs. Load and Append build it once from verified code, so the loop never
// re-reads bytes: operands are already split out, shift counts reduced,
// direct jump targets turned into instruction indexes.
//
// The slice of insts has one entry per instruction, at index pc/4, and one
// more at the end: the opEnd sentinel, so that running off the end or
// jumping to the end needs no bounds test of its own.
type inst struct {
	op      Opcode
	a, b, c uint8 // register operands; for SHL/SHR, b is the shift count
	imm     int32 // imm16, imm24, or the target index of a direct jump
}

// Internal opcodes: never in bytecode (Verify refuses them), only in the
// pre-decoded form. They sit just above IGL, apart from the numbers 53-99
// that SPEC.md keeps for new instructions, and the dispatch switch stays
// dense enough to compile to a jump table.
const (
	opEnd Opcode = OpIgl + 1 + iota // the end of the code: stop, exit code 0

	// Compare-and-branch superinstructions: a compare (EQ ... GT) directly
	// followed by DJMPE or DJMPNE runs as one dispatch. The branch keeps its
	// own entry as well, so a jump that lands on it still works.
	opEqJe
	opEqJne
	opNeqJe
	opNeqJne
	opGteJe
	opGteJne
	opLteJe
	opLteJne
	opLtJe
	opLtJne
	opGtJe
	opGtJne
)

// fusedOps maps a compare opcode to its "then DJMPE" superinstruction; the
// "then DJMPNE" one follows it.
var fusedOps = map[Opcode]Opcode{
	OpEq: opEqJe, OpNeq: opNeqJe, OpGte: opGteJe, OpLte: opLteJe, OpLt: opLtJe, OpGt: opGtJe,
}

// predecode extends insts, the decoded form of code[:from] followed by its
// sentinel, to the decoded form of all of code (verified) and a new
// sentinel. It reuses the capacity of insts.
func predecode(code []byte, from int, insts []inst) []inst {
	insts = insts[:from/InstructionSize]
	for pc := from; pc < len(code); pc += InstructionSize {
		insts = append(insts, decodeInst(Decode(code[pc:])))
	}
	insts = append(insts, inst{op: opEnd})
	// The last old instruction may pair with the first new one.
	fuse(code, insts, max(from/InstructionSize-1, 0))
	return insts
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

// fuse replaces each compare at index from or later that is directly
// followed by DJMPE or DJMPNE with the matching superinstruction. It reads
// the opcodes from code, so it may run again over a fused region.
func fuse(code []byte, insts []inst, from int) {
	for i := from; (i+2)*InstructionSize <= len(code); i++ {
		base, ok := fusedOps[Opcode(code[i*InstructionSize])]
		if !ok {
			continue
		}
		br := Opcode(code[(i+1)*InstructionSize])
		if br != OpDjmpe && br != OpDjmpne {
			continue
		}
		if br == OpDjmpne {
			base++
		}
		insts[i] = inst{op: base, a: insts[i].a, b: insts[i].b, imm: insts[i+1].imm}
	}
}
