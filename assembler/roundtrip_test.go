package assembler

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// randomProgram builds a program of random valid instructions, chosen from
// the opcode table by shape, and random read-only data.
func randomProgram(r *rand.Rand) *vm.Program {
	ro := make([]byte, r.IntN(48))
	for i := range ro {
		switch r.IntN(4) {
		case 0:
			ro[i] = 0
		case 1:
			ro[i] = byte(r.IntN(256))
		default:
			ro[i] = byte(' ' + r.IntN(95))
		}
	}
	ops := vm.Opcodes()
	n := r.IntN(64)
	code := make([]byte, 0, 4*n)
	reg := func() uint8 { return uint8(r.IntN(32)) }
	for range n {
		op := ops[r.IntN(len(ops))]
		info, _ := op.Info()
		var in [4]byte
		switch info.Shape {
		case vm.ShapeNone:
			in = vm.Encode(op, 0, 0, 0)
		case vm.ShapeR:
			in = vm.Encode(op, reg(), 0, 0)
		case vm.ShapeRR:
			in = vm.Encode(op, reg(), reg(), 0)
		case vm.ShapeRRR:
			in = vm.Encode(op, reg(), reg(), reg())
		case vm.ShapeRImm16:
			in = vm.EncodeImm16(op, reg(), uint16(r.IntN(1<<16)))
		case vm.ShapeRShift:
			in = vm.Encode(op, reg(), uint8(r.IntN(256)), 0)
		case vm.ShapeAddr24:
			in = vm.EncodeImm24(op, uint32(4*r.IntN(n+1)))
		case vm.ShapeImm24:
			v := uint32(r.IntN(vm.MaxImm24 + 1))
			if r.IntN(4) != 0 {
				v = uint32(r.IntN(len(ro) + 2))
			}
			in = vm.EncodeImm24(op, v)
		}
		code = append(code, in[:]...)
	}
	return &vm.Program{ROData: ro, Code: code}
}

// checkRoundTrip disassembles p, assembles the listing and compares.
func checkRoundTrip(t *testing.T, p *vm.Program) {
	t.Helper()
	src := Disassemble(p)
	q, err := Assemble(src)
	if err != nil {
		t.Fatalf("reassembly failed: %v\nprogram: %x / %x\nlisting:\n%s", err, p.ROData, p.Code, src)
	}
	if !bytes.Equal(p.Code, q.Code) || !bytes.Equal(p.ROData, q.ROData) {
		t.Fatalf("round trip differs\ncode   %x\n    vs %x\nrodata %x\n    vs %x\nlisting:\n%s", p.Code, q.Code, p.ROData, q.ROData, src)
	}
	if again := Disassemble(q); again != src {
		t.Fatalf("listing not stable:\n%s\nvs\n%s", src, again)
	}
}

func TestRoundTripRandomVerified(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		p := randomProgram(r)
		if err := vm.Verify(p); err != nil {
			t.Fatalf("generator made unverifiable code: %v", err)
		}
		checkRoundTrip(t, p)
	}
}

// Whole words that are not valid instructions disassemble as .word and
// still round-trip.
func TestRoundTripRandomWords(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		p := randomProgram(r)
		for i := 0; i+4 <= len(p.Code); i += 4 {
			if r.IntN(5) == 0 {
				for j := range 4 {
					p.Code[i+j] = byte(r.IntN(256))
				}
			}
		}
		checkRoundTrip(t, p)
	}
}

func TestDisassembleOddCases(t *testing.T) {
	tests := []struct {
		name string
		p    *vm.Program
		want string
	}{
		{"nil", nil, ".code\n"},
		{"empty", &vm.Program{}, ".code\n"},
		{"unknown opcode", &vm.Program{Code: []byte{200, 1, 2, 3}},
			".code\n    .word   #0xc8010203     ; 0x0000 invalid: unknown opcode\n"},
		{"bad register", &vm.Program{Code: []byte{18, 40, 0, 0}},
			".code\n    .word   #0x12280000     ; 0x0000 invalid: register operand out of range: $40\n"},
		{"unaligned target", &vm.Program{Code: []byte{49, 0, 0, 2}},
			".code\n    .word   #0x31000002     ; 0x0000 invalid: jump target outside the code or not a multiple of 4\n"},
		{"target past the end", &vm.Program{Code: []byte{49, 0, 0, 8}},
			".code\n    djmp    #8              ; 0x0000\n"},
		{"target at the end", &vm.Program{Code: []byte{49, 0, 0, 4}},
			".code\n    djmp    @L0004          ; 0x0000\nL0004:\n"},
		{"trailing bytes", &vm.Program{Code: []byte{5, 0, 0, 0, 7, 8}},
			".code\n    hlt                     ; 0x0000\n; trailing bytes (not a whole instruction): 07 08\n"},
		{"prts outside data", &vm.Program{ROData: []byte("a\x00"), Code: []byte{21, 0, 0, 2}},
			".data\n    .asciiz 'a'             ; 0x0000\n.code\n    prts    #2              ; 0x0000\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Disassemble(tc.p); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
