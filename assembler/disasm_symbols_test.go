package assembler

import (
	"bytes"
	"strings"
	"testing"
)

func TestDisassembleWithSymbols(t *testing.T) {
	src := ".data\nmsg: .asciiz 'hi'\nnum: .integer #7\n.code\nstart: load $0 #1\nloop: inc $0\n  djmp @loop\n  prts @msg\nend:\n"
	p, syms, err := AssembleFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := DisassembleWithSymbols(p, syms)
	for _, want := range []string{"msg:\n", "num:\n", "start:\n", "loop:\n", "djmp    @loop", "prts    @msg", "end:\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	// It is still a program, with the same bytes.
	again, err := Assemble(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !bytes.Equal(again.Code, p.Code) || !bytes.Equal(again.ROData, p.ROData) {
		t.Errorf("re-assembled listing differs:\n%s", out)
	}
	// A synthesized label never takes a symbol's name.
	p2, syms2, err := AssembleFile("L0008: nop\n  djmp @x\n  nop\nx: hlt\n  djmp #8\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Assemble(DisassembleWithSymbols(p2, syms2[:1])); err != nil {
		t.Errorf("listing with a clashing synthesized label: %v", err)
	}
}
