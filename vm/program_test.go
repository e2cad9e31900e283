package vm_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// file builds a bytecode file by hand: header, read-only length, sections.
func file(version byte, roLen uint32, rest ...[]byte) []byte {
	b := make([]byte, vm.HeaderSize+4)
	copy(b, vm.Magic[:])
	b[4] = version
	binary.LittleEndian.PutUint32(b[vm.HeaderSize:], roLen)
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

func TestBytecodeRoundTrip(t *testing.T) {
	for _, p := range []*vm.Program{
		{},
		{Code: asm(op(vm.OpHlt))},
		{ROData: []byte("hi\x00"), Code: asm(i24(vm.OpPrts, 0), i24(vm.OpDjmp, 8))},
		fibProgram(10),
	} {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !vm.IsBytecode(b) {
			t.Errorf("IsBytecode(%x) = false", b[:8])
		}
		if b[4] != vm.FormatVersion || len(b) != vm.HeaderSize+4+len(p.ROData)+len(p.Code) {
			t.Errorf("bad layout: version %d, %d bytes", b[4], len(b))
		}
		q, err := vm.ParseBytecode(b)
		if err != nil {
			t.Fatalf("ParseBytecode: %v", err)
		}
		if !bytes.Equal(q.ROData, p.ROData) || !bytes.Equal(q.Code, p.Code) {
			t.Errorf("round trip: got %+v, want %+v", q, p)
		}
		if len(p.ROData) > 0 {
			b[vm.HeaderSize+4] ^= 0xFF // the parsed program must not alias the file
			if q.ROData[0] != p.ROData[0] {
				t.Error("ParseBytecode result aliases its input")
			}
		}
	}
	for _, text := range []string{"load $0 #1\n", "EP", "EPIE: hlt\n", "EPIE\tx", "EPIE\r\n", "EPIEx"} {
		if vm.IsBytecode([]byte(text)) {
			t.Errorf("IsBytecode(%q): assembly taken for bytecode", text)
		}
	}
	zeros := strings.Repeat("\x00", vm.HeaderSize-5)
	for _, broken := range []string{"EPIE", "EPIE\x02", "EPIE\x00",
		"EPIE\xff" + zeros, "EPIE\x7f" + zeros, "EPIE2" + zeros, "EPIE " + zeros, "EPIE\n" + zeros} { // refused as bytecode, saying why
		if !vm.IsBytecode([]byte(broken)) {
			t.Errorf("IsBytecode(%q) = false", broken)
		}
	}
}

func TestParseBytecodeRejects(t *testing.T) {
	header := file(1, 0)
	reserved := bytes.Clone(header)
	reserved[10] = 1
	wrongMagic := bytes.Clone(header)
	wrongMagic[0] = 'X'
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, vm.ErrTruncated},
		{"too short", header[:10], vm.ErrTruncated},
		{"header only", header[:vm.HeaderSize], vm.ErrTruncated},
		{"partial length", header[:vm.HeaderSize+2], vm.ErrTruncated},
		{"wrong magic", wrongMagic, vm.ErrBadHeader},
		{"wrong version", file(2, 0), vm.ErrBadVersion},
		{"version 0", file(0, 0), vm.ErrBadVersion},
		{"reserved byte", reserved, vm.ErrBadHeader},
		{"truncated rodata", file(1, 10, []byte("12345")), vm.ErrTruncated},
		{"huge rodata length", file(1, 0xFFFFFFFF, []byte("12345")), vm.ErrTruncated},
		{"code not multiple of 4", file(1, 2, []byte("a\x00"), []byte{5, 0, 0}), vm.ErrCodeLength},
		{"unknown opcode", file(1, 0, asm(op(vm.OpHlt), vm.Encode(65, 0, 0, 0))), vm.ErrUnknownOpcode},
		{"bad register", file(1, 0, asm(r3(vm.OpAdd, 1, 2, 32))), vm.ErrBadRegister},
		{"bad target", file(1, 0, asm(i24(vm.OpDjmp, 8))), vm.ErrBadTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := vm.ParseBytecode(tc.b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("ParseBytecode = %v, %v; want %v", p, err, tc.err)
			}
		})
	}
	if _, err := vm.ParseBytecode(file(1, 2, []byte("a\x00"))); err != nil {
		t.Errorf("empty code refused: %v", err)
	}
}

// TestVerifyRejects checks every verification failure, its pc and opcode;
// Load refuses the same programs.
func TestVerifyRejects(t *testing.T) {
	tests := []struct {
		name string
		code []byte
		err  error
		pc   int
		op   vm.Opcode
	}{
		{"unknown opcode 65", asm(op(vm.OpNop), vm.Encode(65, 0, 0, 0)), vm.ErrUnknownOpcode, 4, 65},
		{"unknown opcode 99", asm(vm.Encode(99, 0, 0, 0)), vm.ErrUnknownOpcode, 0, 99},
		{"unknown opcode 255", asm(vm.Encode(255, 0, 0, 0)), vm.ErrUnknownOpcode, 0, 255},
		{"internal opcode", asm(vm.Encode(vm.OpIgl+1, 0, 0, 0)), vm.ErrUnknownOpcode, 0, vm.OpIgl + 1},
		{"register a", asm(r1(vm.OpInc, 32)), vm.ErrBadRegister, 0, vm.OpInc},
		{"register b", asm(r2(vm.OpMov, 0, 200)), vm.ErrBadRegister, 0, vm.OpMov},
		{"register c", asm(r3(vm.OpAdd, 0, 1, 32)), vm.ErrBadRegister, 0, vm.OpAdd},
		{"float register", asm(r3(vm.OpAddF64, 40, 1, 2)), vm.ErrBadRegister, 0, vm.OpAddF64},
		{"load register", asm(ld(32, 1)), vm.ErrBadRegister, 0, vm.OpLoad},
		{"shift register", asm(r2(vm.OpShl, 33, 1)), vm.ErrBadRegister, 0, vm.OpShl},
		{"hlt operand", asm(vm.Encode(vm.OpHlt, 0, 0, 1)), vm.ErrBadOperand, 0, vm.OpHlt},
		{"inc operand", asm(vm.Encode(vm.OpInc, 1, 0, 1)), vm.ErrBadOperand, 0, vm.OpInc},
		{"eq operand", asm(vm.Encode(vm.OpEq, 1, 2, 3)), vm.ErrBadOperand, 0, vm.OpEq},
		{"shift operand", asm(vm.Encode(vm.OpShl, 1, 2, 3)), vm.ErrBadOperand, 0, vm.OpShl},
		{"unaligned target", asm(i24(vm.OpDjmp, 2)), vm.ErrBadTarget, 0, vm.OpDjmp},
		{"target past end", asm(op(vm.OpNop), i24(vm.OpDjmpe, 12)), vm.ErrBadTarget, 4, vm.OpDjmpe},
		{"call past end", asm(i24(vm.OpCall, 8)), vm.ErrBadTarget, 0, vm.OpCall},
		{"loop past end", asm(i24(vm.OpLoop, vm.MaxImm24)), vm.ErrBadTarget, 0, vm.OpLoop},
		{"djmpne unaligned", asm(op(vm.OpNop), i24(vm.OpDjmpne, 1)), vm.ErrBadTarget, 4, vm.OpDjmpne},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &vm.Program{Code: tc.code}
			wantFault(t, vm.Verify(p), tc.err, tc.pc, tc.op)
			m, _ := newVM(t, vm.Config{})
			wantFault(t, m.Load(p), tc.err, tc.pc, tc.op)
		})
	}
	for _, tc := range []struct {
		name      string
		size      int
		want, not error
	}{
		{"code length", 2, vm.ErrCodeLength, vm.ErrCodeSize},
		{"code past 24 bits", vm.MaxImm24 + 1 + vm.InstructionSize, vm.ErrCodeSize, vm.ErrCodeLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := vm.Verify(&vm.Program{Code: make([]byte, tc.size)})
			if !errors.Is(err, tc.want) || errors.Is(err, tc.not) {
				t.Fatalf("Verify = %v, want %v and not %v", err, tc.want, tc.not)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	for name, code := range map[string][]byte{
		"target == end":    asm(i24(vm.OpDjmp, 4)),
		"call end":         asm(op(vm.OpNop), i24(vm.OpCall, 8)),
		"backward":         asm(op(vm.OpNop), i24(vm.OpLoop, 0)),
		"prts any offset":  asm(i24(vm.OpPrts, vm.MaxImm24)),
		"cloop any":        asm(i24(vm.OpCloop, vm.MaxImm24)),
		"register 31":      asm(r3(vm.OpAdd, 31, 31, 31)),
		"imm16 uses bytes": asm(ld(0, 0xFFFF), i16(vm.OpLui, 31, 0xFFFF), i16(vm.OpLoadF64, 31, 0xFFFF)),
		"shift count":      asm(r2(vm.OpShl, 1, 255)),
		"every opcode":     everyOpcode(),
	} {
		if err := vm.Verify(&vm.Program{Code: code}); err != nil {
			t.Errorf("%s: Verify = %v", name, err)
		}
	}
}

// everyOpcode is one valid instruction of each opcode.
func everyOpcode() []byte {
	var code []byte
	for _, o := range vm.Opcodes() {
		info, _ := o.Info()
		var in [4]byte
		switch info.Shape {
		case vm.ShapeAddr24:
			in = i24(o, 0)
		case vm.ShapeImm24, vm.ShapeData24:
			in = i24(o, 7)
		case vm.ShapeRImm16:
			in = i16(o, 1, 7)
		case vm.ShapeR, vm.ShapeRShift:
			in = r1(o, 1)
		case vm.ShapeRR:
			in = r2(o, 1, 2)
		case vm.ShapeRRR:
			in = r3(o, 1, 2, 3)
		default:
			in = op(o)
		}
		code = append(code, in[:]...)
	}
	return code
}

// TestProgramFromFile runs a program read back from its bytecode file.
func TestProgramFromFile(t *testing.T) {
	b, err := fibProgram(15).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := vm.ParseBytecode(b)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := load(t, vm.Config{}, p)
	if code, err := m.Run(); code != 0 || err != nil {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if got := m.Registers()[1]; got != fibGo(15) {
		t.Errorf("fib(15) = %d, want %d", got, fibGo(15))
	}
}
