package assembler

import (
	"bytes"
	"slices"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

func TestSessionLabelsAcrossChunks(t *testing.T) {
	s := NewSession()
	steps := []struct {
		src      string
		wantCode []byte
		wantRO   []byte
	}{
		{"load $1 #20", code(vm.EncodeImm16(vm.OpLoad, 1, 20)), nil},
		{"test:", nil, nil},
		{"inc $1", code(enc(vm.OpInc, 1, 0, 0)), nil},
		{"loop @test", code(vm.EncodeImm24(vm.OpLoop, 4)), nil},
		{".data", nil, nil},
		{"msg: .asciiz 'hi'", nil, []byte("hi\x00")},
		{"two: .asciiz 'yo'", nil, []byte("yo\x00")},
		{".code", nil, nil},
		{"prts @two", code(vm.EncodeImm24(vm.OpPrts, 3)), nil},
		{"load $2 #-1\nend: djmp @end", code(vm.EncodeImm16(vm.OpLoad, 2, 0xFFFF), vm.EncodeImm16(vm.OpLui, 2, 0xFFFF), vm.EncodeImm24(vm.OpDjmp, 24)), nil},
		{"load $3 @msg", code(vm.EncodeImm16(vm.OpLoad, 3, 0)), nil},
	}
	for _, st := range steps {
		p, err := s.Assemble(st.src)
		if err != nil {
			t.Fatalf("%q: %v", st.src, err)
		}
		if !bytes.Equal(p.Code, st.wantCode) || !bytes.Equal(p.ROData, st.wantRO) {
			t.Errorf("%q: code % x rodata % x, want % x and % x", st.src, p.Code, p.ROData, st.wantCode, st.wantRO)
		}
	}
	want := []Symbol{{"end", SymbolCode, 24}, {"msg", SymbolData, 0}, {"test", SymbolCode, 4}, {"two", SymbolData, 3}}
	if got := s.Symbols(); !slices.Equal(got, want) {
		t.Errorf("symbols = %v, want %v", got, want)
	}
}

func TestSessionErrorChangesNothing(t *testing.T) {
	s := NewSession()
	if _, err := s.Assemble("a: nop\n.data\nd: .asciiz 'x'"); err != nil {
		t.Fatal(err)
	}
	before := s.Symbols()
	bad := []string{
		"b: nop\nc: nop\nfrob",                 // labels before an error
		"b: nop\na: nop",                       // redefinition of an earlier chunk's label
		"e: .asciiz 'y'\nb: .integer #1\n$1",   // data before an error
		".code\nb: hlt\ndjmp @nowhere",         // section switch before an error
		"f: .asciiz 'z'\n.code\nload $1 #1 #2", // ditto
	}
	for _, src := range bad {
		if p, err := s.Assemble(src); err == nil {
			t.Fatalf("%q assembled: %v", src, p)
		}
	}
	if got := s.Symbols(); !slices.Equal(got, before) {
		t.Errorf("symbols changed: %v, was %v", got, before)
	}
	// Still in .data, lengths unchanged: the next datum is at offset 2,
	// and after .code the next instruction at address 4.
	p, err := s.Assemble("g: .asciiz 'q'")
	if err != nil {
		t.Fatal(err)
	}
	if string(p.ROData) != "q\x00" {
		t.Errorf("rodata %q", p.ROData)
	}
	if _, err := s.Assemble(".code"); err != nil {
		t.Fatal(err)
	}
	if p, err = s.Assemble("h: djmp @h\nprts @g"); err != nil {
		t.Fatal(err)
	}
	want := code(vm.EncodeImm24(vm.OpDjmp, 4), vm.EncodeImm24(vm.OpPrts, 2))
	if !bytes.Equal(p.Code, want) {
		t.Errorf("code % x, want % x", p.Code, want)
	}
}

func TestSessionDuplicateAcrossChunks(t *testing.T) {
	s := NewSession()
	if _, err := s.Assemble("x: nop"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Assemble("nop\nx: nop")
	if err == nil || err.Error() != `2:1: duplicate label "x" (already defined in this session)` {
		t.Errorf("err = %v", err)
	}
}

func TestSessionReset(t *testing.T) {
	src := ".data\nm: .asciiz 'hello'\n.code\nstart: prts @m\nend: hlt"
	p, syms, err := AssembleFile(src)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession()
	if _, err := s.Assemble("junk: nop\nnop\n.data"); err != nil {
		t.Fatal(err)
	}
	s.Reset(p, syms)
	if got := s.Symbols(); !slices.Equal(got, syms) {
		t.Errorf("symbols after Reset = %v, want %v", got, syms)
	}
	q, err := s.Assemble("next: djmp @start\nprts @m\ndjmp @next")
	if err != nil {
		t.Fatal(err)
	}
	want := code(vm.EncodeImm24(vm.OpDjmp, 0), vm.EncodeImm24(vm.OpPrts, 0), vm.EncodeImm24(vm.OpDjmp, 8))
	if !bytes.Equal(q.Code, want) {
		t.Errorf("code % x, want % x", q.Code, want)
	}
	if _, err := s.Assemble("d: .asciiz 'x'\n.code"); err == nil {
		t.Error("Reset should start in .code")
	}

	s.Reset(nil, nil)
	if len(s.Symbols()) != 0 {
		t.Errorf("symbols after Reset(nil) = %v", s.Symbols())
	}
	if q, err = s.Assemble("a: djmp @a"); err != nil || !bytes.Equal(q.Code, code(vm.EncodeImm24(vm.OpDjmp, 0))) {
		t.Errorf("after Reset(nil): %v, %v", q, err)
	}
}

// Whole-program assembly and chunk-by-chunk assembly of the same lines give
// the same bytes.
func TestSessionMatchesAssemble(t *testing.T) {
	lines := []string{".data", "m: .asciiz 'x'", "n: .integer #7", ".code", "load $0 #100000",
		"top: dec $0", "load $1 @m", "prts @m", "loop @top", "call @top", "hlt"}
	var all []byte
	var ro []byte
	s := NewSession()
	src := ""
	for _, l := range lines {
		p, err := s.Assemble(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		all = append(all, p.Code...)
		ro = append(ro, p.ROData...)
		src += l + "\n"
	}
	p := mustAssemble(t, src)
	if !bytes.Equal(p.Code, all) || !bytes.Equal(p.ROData, ro) {
		t.Errorf("session % x / % x, whole % x / % x", all, ro, p.Code, p.ROData)
	}
}

// AssembleAt numbers the chunk's lines from the line given, as a script
// does: errors name the script's line, the column is the line's own.
func TestSessionAssembleAt(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"one line", "  frob $1", 7, `7:3: unknown mnemonic "frob"`},
		{"several lines", "load $0 #1\nadd $0 $1", 10, "11:1: ADD takes 3 operands, got 2"},
		{"line 0 is line 1", "frob", 0, `1:1: unknown mnemonic "frob"`},
		{"a duplicate label names the line of its first definition", "a: hlt\na: hlt", 40,
			`41:1: duplicate label "a" (first defined at 40:1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSession().AssembleAt(tc.src, tc.line)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Undo takes back the last chunk that assembled (the REPL's way back when
// the VM refuses a chunk), and only that one.
func TestSessionUndo(t *testing.T) {
	s := NewSession()
	mustChunk := func(src string) *vm.Program {
		t.Helper()
		p, err := s.Assemble(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		return p
	}
	mustChunk("a: nop")
	mustChunk("b: nop\n.data\nd: .asciiz 'x'")
	s.Undo()
	if got, want := s.Symbols(), []Symbol{{"a", SymbolCode, 0}}; !slices.Equal(got, want) {
		t.Errorf("after Undo: symbols %v, want %v", got, want)
	}
	// The code, the data and the section are as before the chunk: b and d
	// can be defined again, b at the same address, in .code.
	p := mustChunk("b: nop\nload $1 @b")
	if want := code(enc(vm.OpNop, 0, 0, 0), vm.EncodeImm16(vm.OpLoad, 1, 4)); !bytes.Equal(p.Code, want) {
		t.Errorf("after Undo: code % x, want % x", p.Code, want)
	}
	if p := mustChunk(".data\nd: .asciiz 'y'\n.code\nload $2 @d"); p.ROData == nil {
		t.Errorf("after Undo: no data")
	}
	if got := s.Symbols(); !slices.Equal(got, []Symbol{{"a", SymbolCode, 0}, {"b", SymbolCode, 4}, {"d", SymbolData, 0}}) {
		t.Errorf("symbols %v", got)
	}
	// A second Undo takes nothing more back; nor does one after Reset.
	s.Undo()
	s.Undo()
	if got := s.Symbols(); !slices.Equal(got, []Symbol{{"a", SymbolCode, 0}, {"b", SymbolCode, 4}}) {
		t.Errorf("after two Undos: symbols %v", got)
	}
	s.Reset(nil, []Symbol{{"z", SymbolCode, 0}})
	s.Undo()
	if got := s.Symbols(); !slices.Equal(got, []Symbol{{"z", SymbolCode, 0}}) {
		t.Errorf("Undo after Reset: symbols %v", got)
	}
}
