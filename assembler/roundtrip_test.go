package assembler

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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
		case vm.ShapeImm24, vm.ShapeData24:
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

// randomSymbols names random places of p, as a symbol table would: code
// addresses and read-only offsets (the ends included), some with two names,
// some named like the listing's own Lxxxx and Dxxxx labels or like
// mnemonics.
func randomSymbols(r *rand.Rand, p *vm.Program) []Symbol {
	var syms []Symbol
	names := map[string]bool{}
	add := func(kind SymbolKind, value int) {
		name := fmt.Sprintf("n%d", len(syms))
		switch r.IntN(6) {
		case 0:
			name = fmt.Sprintf("L%04x", vm.InstructionSize*r.IntN(len(p.Code)/vm.InstructionSize+1))
		case 1:
			name = fmt.Sprintf("D%04x", r.IntN(len(p.ROData)+1))
		case 2:
			name = []string{"nop", "hlt", "load", "djmp", "x"}[r.IntN(5)]
		}
		if !names[name] {
			names[name] = true
			syms = append(syms, Symbol{name, kind, value})
		}
	}
	for range r.IntN(12) {
		add(SymbolCode, vm.InstructionSize*r.IntN(len(p.Code)/vm.InstructionSize+1))
	}
	for range r.IntN(8) {
		add(SymbolData, r.IntN(len(p.ROData)+1))
	}
	sortSymbols(syms)
	return syms
}

// checkNamedRoundTrip disassembles p with the names syms gives its places,
// assembles the listing and checks that the bytes are the same and that
// every name kept its place.
func checkNamedRoundTrip(t *testing.T, p *vm.Program, syms []Symbol) {
	t.Helper()
	src := DisassembleWithSymbols(p, syms)
	q, again, err := AssembleFile(src)
	if err != nil {
		t.Fatalf("reassembly failed: %v\nprogram: %x / %x\nsymbols: %v\nlisting:\n%s", err, p.ROData, p.Code, syms, src)
	}
	if !bytes.Equal(p.Code, q.Code) || !bytes.Equal(p.ROData, q.ROData) {
		t.Fatalf("round trip differs\ncode   %x\n    vs %x\nrodata %x\n    vs %x\nlisting:\n%s", p.Code, q.Code, p.ROData, q.ROData, src)
	}
	for _, s := range syms {
		if !slices.Contains(again, s) {
			t.Fatalf("symbol %v lost: the listing defines %v\n%s", s, again, src)
		}
	}
	if listing := DisassembleWithSymbols(q, again); listing != src {
		t.Fatalf("listing not stable:\n%s\nvs\n%s", src, listing)
	}
}

// Listings that use a program's own label names assemble to the same
// bytes and define the same names at the same places (iridium -d on an
// assembly file, the REPL's !program).
func TestRoundTripWithSymbols(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.iasm")
	examples, _ := filepath.Glob("../examples/*.iasm")
	files = append(files, examples...)
	if len(files) == 0 {
		t.Fatal("no sources")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, syms, err := AssembleFile(string(src))
			if err != nil {
				t.Fatal(err)
			}
			checkNamedRoundTrip(t, p, syms)
		})
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		p := randomProgram(r)
		checkNamedRoundTrip(t, p, randomSymbols(r, p))
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
			".code\n    .word   #0x31000008     ; 0x0000 invalid: jump target outside the code or not a multiple of 4\n"},
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
