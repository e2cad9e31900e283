package assembler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// failingWriter takes room bytes, then fails every write; it counts the
// writes it was asked for.
type failingWriter struct {
	room, writes int
}

var errGone = errors.New("reader gone")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if len(p) > w.room {
		n := w.room
		w.room = 0
		return n, errGone
	}
	w.room -= len(p)
	return len(p), nil
}

// WriteDisassembly writes the same listing as DisassembleWithSymbols, in
// pieces, and stops at the first write that fails: a listing of a large
// program to a reader that has gone costs one write, not the whole program.
func TestWriteDisassembly(t *testing.T) {
	var src strings.Builder
	src.WriteString(".data\nmsg: .asciiz 'hi'\n.code\n")
	for i := range 20000 {
		fmt.Fprintf(&src, "l%d: djmp @l%d\n    prts @msg\n", i, i+1)
	}
	src.WriteString(fmt.Sprintf("l%d: hlt\n", 20000))
	p, syms, err := AssembleFile(src.String())
	if err != nil {
		t.Fatal(err)
	}
	want := DisassembleWithSymbols(p, syms)
	var got bytes.Buffer
	if err := WriteDisassembly(&got, p, syms); err != nil || got.String() != want {
		t.Fatalf("WriteDisassembly: %v, %d bytes; want the %d bytes of DisassembleWithSymbols", err, got.Len(), len(want))
	}
	if len(want) < 1<<20 {
		t.Fatalf("the listing is %d bytes: too short to need more than one write", len(want))
	}
	for _, room := range []int{0, 100, 200 << 10} {
		w := &failingWriter{room: room}
		if err := WriteDisassembly(w, p, syms); !errors.Is(err, errGone) {
			t.Errorf("room %d: WriteDisassembly = %v, want %v", room, err, errGone)
		}
		if w.writes > room/(64<<10)+1 {
			t.Errorf("room %d: %d writes asked for after the first failed", room, w.writes)
		}
	}
	// Nor does it go on formatting the lines nobody will read.
	whole := testing.AllocsPerRun(1, func() { WriteDisassembly(io.Discard, p, syms) })
	gone := testing.AllocsPerRun(1, func() { WriteDisassembly(&failingWriter{room: 100}, p, syms) })
	if gone > whole/10 {
		t.Errorf("%.0f allocations for a listing nobody reads, %.0f for the whole", gone, whole)
	}
}
