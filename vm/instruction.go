package vm

// InstructionSize is the width of every instruction in bytes.
const InstructionSize = 4

// Instruction is one decoded 4-byte instruction. It is the form the
// assembler builds and the disassembler reads; the dispatch loop uses its own
// pre-decoded form.
type Instruction struct {
	Op      Opcode
	A, B, C uint8
}

// Encode packs an opcode and its three operand bytes.
func Encode(op Opcode, a, b, c uint8) [InstructionSize]byte {
	return [InstructionSize]byte{byte(op), a, b, c}
}

// EncodeImm16 packs an instruction of shape ShapeRImm16.
func EncodeImm16(op Opcode, reg uint8, imm uint16) [InstructionSize]byte {
	return [InstructionSize]byte{byte(op), reg, byte(imm >> 8), byte(imm)}
}

// EncodeImm24 packs an instruction of shape ShapeAddr24, ShapeImm24 or
// ShapeData24;
// v must be below 1<<24.
func EncodeImm24(op Opcode, v uint32) [InstructionSize]byte {
	return [InstructionSize]byte{byte(op), byte(v >> 16), byte(v >> 8), byte(v)}
}

// Decode unpacks the instruction at the start of b (len(b) >= 4).
func Decode(b []byte) Instruction {
	_ = b[3]
	return Instruction{Op: Opcode(b[0]), A: b[1], B: b[2], C: b[3]}
}

// Imm16 is bytes 2-3, big-endian.
func (in Instruction) Imm16() uint16 { return uint16(in.B)<<8 | uint16(in.C) }

// Imm24 is bytes 1-3, big-endian.
func (in Instruction) Imm24() uint32 {
	return uint32(in.A)<<16 | uint32(in.B)<<8 | uint32(in.C)
}

// Bytes re-encodes the instruction.
func (in Instruction) Bytes() [InstructionSize]byte {
	return Encode(in.Op, in.A, in.B, in.C)
}

// MaxImm24 is the largest addr24/imm24 operand.
const MaxImm24 = 1<<24 - 1
