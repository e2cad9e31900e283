package vm

import "slices"

// inst is the pre-decoded form of one instruction that the dispatch loop
// runs. Load and Append build it once from verified code, so the loop never
// re-reads bytes: operands are already split out, shift counts reduced,
// direct jump targets turned into instruction indexes.
//
// The slice of insts has one entry per instruction, at index pc/4, and one
// more at the end: the opEnd sentinel, so that running off the end or
// jumping to the end needs no bounds test of its own.
//
// An entry whose op is a superinstruction (see fuseAt) stands for the
// instruction at its index and the one to three after it; a chain's also
// for the two at its jump's target, when the jump is taken. Every entry keeps
// its own instruction's operands, so the superinstruction reads each part's
// operands from that part's entry, and a jump into the middle of a fused
// sequence runs the rest as written.
type inst struct {
	op      xop
	a, b, c uint8 // register operands; for SHL/SHR, b is the shift count
	_       uint8
	imm     int32 // imm16, imm24, or the target index of a direct jump
	_       int32 // pads an entry to 16 bytes, so that ip indexes it by a shift
}

// xop is the opcode of a pre-decoded instruction: an instruction set
// Opcode, opEnd, or a superinstruction (numbered from 102 by genexec).
type xop uint16

// opEnd is the end of the code: stop, exit code 0. It is never in bytecode
// (Verify refuses it), only in the pre-decoded form.
const opEnd = xop(OpIgl) + 1

// opNone stands for "no instruction" in a sequence of superinstructions:
// the third opcode of a pair, or what follows the last instruction.
const opNone Opcode = 255

// predecode extends insts, the decoded form of code[:from] followed by its
// sentinel, to the decoded form of all of code (verified) and a new
// sentinel. It reuses the capacity of insts. The last maxParts-1 old
// instructions are decoded again, since they may fuse with the first new
// ones.
func predecode(code []byte, from int, insts []inst) []inst {
	start := max(from/InstructionSize-(maxParts-1), 0)
	n := len(code) / InstructionSize
	// Room for all at once: appending one at a time copies a large
	// program's entries over and over, into fresh memory each time.
	insts = slices.Grow(insts[:start], n-start+1)
	for i := start; i < n; i++ {
		insts = append(insts, fuseAt(code, i))
	}
	return append(insts, inst{op: opEnd})
}

func decodeInst(in Instruction) inst {
	d := inst{op: xop(in.Op)}
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
	case ShapeImm24, ShapeData24:
		d.imm = int32(in.Imm24())
	}
	return d
}

// noFusion turns superinstructions off, so that tests can run a program
// both ways and compare. Only tests set it.
var noFusion bool

// fuseAt is the entry for instruction i of code (verified): the
// instruction with, as its op, the longest superinstruction that starts
// there, if any, or its case that hands each part's result to the next
// when the operands let it (handOns), or a chain of it and the two
// instructions at its jump's target. It reads code[i*4:(i+maxParts)*4] and, for a chain, those two.
func fuseAt(code []byte, i int) inst {
	d := decodeInst(Decode(code[i*InstructionSize:]))
	if noFusion {
		return d
	}
	var seq [maxParts + chainTo]Opcode
	for j := range seq {
		seq[j] = opNone
	}
	n := min(len(code)/InstructionSize-i, maxParts)
	for j := range n {
		seq[j] = Opcode(code[(i+j)*InstructionSize])
	}
	// Try the longest sequence first: seq[:k] with opNone after it. When
	// no superinstruction matches, k ends at 1 and seq holds the lone
	// instruction, which is what a chain's key starts with then.
	k := n
	for ; k >= 2; k-- {
		if f, ok := superinstructions[[maxParts]Opcode(seq[:maxParts])]; ok {
			d.op = f
			break
		}
		seq[k-1] = opNone
	}
	if k >= 2 {
		// Every case of handOns has a part that takes: a key with none
		// needs no lookup.
		if takes := handOnTakes(code, i, seq); takes != [maxParts - 1]byte{} {
			if f, ok := handOns[handOnKey([maxParts]Opcode(seq[:maxParts]), takes)]; ok {
				d.op = f // no row of them ends in a jump: no chain follows
				return d
			}
		}
	}
	// A chain, if the sequence ends in a direct jump whose target and the
	// instruction after it are in code. Code appended later may complete
	// them; the entry is then chained only if predecode decodes it again,
	// that is if it starts among the last maxParts-1 instructions before
	// the Append.
	last := Decode(code[(i+k-1)*InstructionSize:])
	switch last.Op {
	case OpDjmp, OpDjmpe, OpDjmpne:
	default:
		return d
	}
	t := int(last.Imm24() / InstructionSize)
	if t+chainTo > len(code)/InstructionSize {
		return d
	}
	for j := range chainTo {
		seq[maxParts+j] = Opcode(code[(t+j)*InstructionSize])
	}
	if f, ok := chains[seq]; ok {
		d.op = f
	}
	return d
}

// handOnKey names a case of handOns: a superinstruction's opcodes and, for
// each part after the first, the operand ('a' or 'b') by which it takes the
// result of the part before, or 0, packed into one word (a map of words is
// faster to search than one of structs, and predecode searches it for
// most instructions of a program).
func handOnKey(seq [maxParts]Opcode, takes [maxParts - 1]byte) uint64 {
	const _ uint = 64 - 8*(2*maxParts-1) // the opcodes and the operands fit in 64 bits
	var k uint64
	for _, op := range seq {
		k = k<<8 | uint64(op)
	}
	for _, o := range takes {
		k = k<<8 | uint64(o)
	}
	return k
}

// handOnTakes is, for the superinstruction seq (opNone after its parts)
// at instruction i of code, and for each part that reads the register the
// part before writes, the first operand that names it, a before b (when
// both do, the other reads the same value from the register file, which
// the case writes all the same). It reads the operand bytes where they
// are: byte 1 is a, 2 b, 3 c, and resultOperands and takenOperands name
// register operands only (TestHandOnOperandsAreRegisters).
func handOnTakes(code []byte, i int, seq [maxParts + chainTo]Opcode) [maxParts - 1]byte {
	var takes [maxParts - 1]byte
	for j := 1; j < maxParts && seq[j] != opNone; j++ {
		w, taken := resultOperands[seq[j-1]], takenOperands[seq[j]]
		if w == 0 {
			continue
		}
		written := code[(i+j-1)*InstructionSize+1+int(w-'a')]
		next := code[(i+j)*InstructionSize:]
		for _, o := range []byte(taken) {
			if next[1+int(o-'a')] == written {
				takes[j-1] = o
				break
			}
		}
	}
	return takes
}
