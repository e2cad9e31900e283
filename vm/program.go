package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Bytecode file layout (README "Bytecode file").
const (
	HeaderSize    = 64
	FormatVersion = 1
	// roLenSize is the uint32 little-endian length of the read-only
	// section that follows the header.
	roLenSize = 4
)

// fileOrder is the byte order of the file's length fields (instructions
// are big-endian, Decode).
var fileOrder = binary.LittleEndian

// Magic starts every bytecode file.
var Magic = [4]byte{0x45, 0x50, 0x49, 0x45} // "EPIE"

// Program is a unit of code: read-only data plus instructions. Code
// addresses and PRTS offsets are relative to the two slices.
type Program struct {
	ROData []byte
	Code   []byte
}

// IsBytecode reports whether b is to be read as a bytecode file rather
// than assembly source: it starts with the bytecode magic, and what
// follows is not text: the version byte is not a character of text, or
// the header holds a NUL byte (its zero bytes). So a broken file, one of
// another version included, is still told as bytecode, and its error says
// what is wrong; assembly whose first label is EPIE ("EPIE: hlt") is text.
func IsBytecode(b []byte) bool {
	if !hasMagic(b) {
		return false
	}
	header := b[:min(len(b), HeaderSize)]
	return len(b) == len(Magic) || !isText(b[len(Magic)]) || bytes.IndexByte(header, 0) >= 0
}

func hasMagic(b []byte) bool {
	return len(b) >= len(Magic) && bytes.Equal(b[:len(Magic)], Magic[:])
}

// isText reports whether c can follow a word in assembly source.
func isText(c byte) bool { return c >= ' ' || c == '\t' || c == '\n' || c == '\r' }

// MarshalBinary writes the bytecode file for p.
func (p *Program) MarshalBinary() ([]byte, error) {
	if uint64(len(p.ROData)) > 1<<32-1 {
		return nil, fmt.Errorf("read-only section of %d bytes is too large", len(p.ROData))
	}
	out := make([]byte, HeaderSize+roLenSize, HeaderSize+roLenSize+len(p.ROData)+len(p.Code))
	copy(out, Magic[:])
	out[len(Magic)] = FormatVersion
	fileOrder.PutUint32(out[HeaderSize:], uint32(len(p.ROData)))
	out = append(out, p.ROData...)
	out = append(out, p.Code...)
	return out, nil
}

// ParseBytecode reads a bytecode file and verifies its code. The returned
// program does not alias b.
func ParseBytecode(b []byte) (*Program, error) {
	p, err := ParseBytecodeUnverified(b)
	if err != nil {
		return nil, err
	}
	if err := Verify(p); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseBytecodeUnverified reads a bytecode file's header and sections but
// does not verify its code: for tools that show code the VM refuses, such
// as the disassembler. Never run what it returns without Verify.
func ParseBytecodeUnverified(b []byte) (*Program, error) {
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("%w: file of %d bytes is shorter than the %d-byte header", ErrTruncated, len(b), HeaderSize)
	}
	if !hasMagic(b) {
		return nil, fmt.Errorf("%w: no EPIE magic", ErrBadHeader)
	}
	if v := b[len(Magic)]; v != FormatVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadVersion, v, FormatVersion)
	}
	for i := len(Magic) + 1; i < HeaderSize; i++ {
		if b[i] != 0 {
			return nil, fmt.Errorf("%w: reserved header byte %d is %#x, want 0", ErrBadHeader, i, b[i])
		}
	}
	rest := b[HeaderSize:]
	if len(rest) < roLenSize {
		return nil, fmt.Errorf("%w: no read-only section length", ErrTruncated)
	}
	roLen := uint64(fileOrder.Uint32(rest))
	rest = rest[roLenSize:]
	if roLen > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: read-only section says %d bytes, %d remain", ErrTruncated, roLen, len(rest))
	}
	return &Program{
		ROData: bytes.Clone(rest[:roLen]),
		Code:   bytes.Clone(rest[roLen:]),
	}, nil
}

// Verify checks everything about p's code that does not depend on run-time
// values: whole instructions, known opcodes, register bytes below 32, zero
// unused bytes, and direct jump targets that are multiples of 4 within the
// code (the end of the code included: jumping there ends the program). The
// dispatch loop trusts verified code.
func Verify(p *Program) error {
	return verifyCode(p.Code, 0)
}

// verifyCode checks code[from:] as part of code: appended instructions may
// jump anywhere in the whole.
func verifyCode(code []byte, from int) error {
	if len(code)%InstructionSize != 0 {
		return fmt.Errorf("%w: %d bytes", ErrCodeLength, len(code))
	}
	if len(code) > MaxImm24+1 {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrCodeSize, len(code), MaxImm24+1)
	}
	for pc := from; pc < len(code); pc += InstructionSize {
		in := Decode(code[pc:])
		info, ok := in.Op.Info()
		if !ok {
			return fault(pc, in.Op, ErrUnknownOpcode)
		}
		if err := verifyOperands(in, info.Shape, len(code)); err != nil {
			return fault(pc, in.Op, err)
		}
	}
	return nil
}

// ValidTarget reports whether a jump or call may name address t in code of
// codeLen bytes: a multiple of 4 within the code, its end included (a jump
// there ends the program as running off the last instruction does).
func ValidTarget(t, codeLen int) bool {
	return t >= 0 && t%InstructionSize == 0 && t <= codeLen
}

func verifyOperands(in Instruction, shape Shape, codeLen int) error {
	regs, zeros := 0, 0 // leading register bytes, trailing bytes that must be zero
	switch shape {
	case ShapeNone:
		zeros = 3
	case ShapeR:
		regs, zeros = 1, 2
	case ShapeRR:
		regs, zeros = 2, 1
	case ShapeRRR:
		regs = 3
	case ShapeRImm16:
		regs = 1
	case ShapeRShift:
		regs, zeros = 1, 1
	case ShapeAddr24:
		if t := int(in.Imm24()); !ValidTarget(t, codeLen) {
			return fmt.Errorf("%w: %s", ErrBadTarget, FormatAddress(t))
		}
	case ShapeImm24, ShapeData24:
	}
	ops := [3]uint8{in.A, in.B, in.C}
	for i := range regs {
		if ops[i] >= 32 {
			return fmt.Errorf("%w: $%d", ErrBadRegister, ops[i])
		}
	}
	for i := 3 - zeros; i < 3; i++ {
		if ops[i] != 0 {
			return fmt.Errorf("%w: byte %d is %#x", ErrBadOperand, i+1, ops[i])
		}
	}
	return nil
}
