package assembler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// fixedPointLayout is the plain way to size the LOADs of labels, for
// comparison: lay out, grow every narrow LOAD whose label is past 65535,
// and repeat until none grows. It takes one round per LOAD in the worst
// case.
func fixedPointLayout(a *asm) {
	for {
		a.place()
		grew := false
		for _, in := range a.code.all() {
			if in.op != vm.OpLoad || in.word || in.ref == noRef || in.n != 1 {
				continue
			}
			if sym, _, ok := a.lookup(a.refs.at(int(in.ref)).name); ok && !fits16(sym.Value) {
				in.n, grew = 2, true
			}
		}
		if !grew {
			return
		}
	}
}

// randomChunk is a chunk of code whose labels lie around 65535 when it
// starts a little below that: LOADs of labels before and after them, wide
// and narrow LOADs of numbers, jumps, and LOADs of earlier chunks'
// symbols.
func randomChunk(r *rand.Rand) string {
	n := 1 + r.IntN(200)
	labels := 1 + r.IntN(min(n, 40))
	at := map[int]int{} // line -> label defined on it
	for l, line := range r.Perm(n)[:labels] {
		at[line] = l
	}
	var b strings.Builder
	for i := range n {
		if l, ok := at[i]; ok {
			fmt.Fprintf(&b, "l%d: ", l)
		}
		switch r.IntN(6) {
		case 0, 1:
			fmt.Fprintf(&b, "load $1 @l%d\n", r.IntN(labels))
		case 2:
			fmt.Fprintf(&b, "load $2 #%d\n", r.IntN(1<<17)-(1<<15))
		case 3:
			fmt.Fprintf(&b, "djmp @l%d\n", r.IntN(labels))
		case 4:
			fmt.Fprintf(&b, "load $3 @%s\n", []string{"lowData", "highData", "lowCode", "highCode"}[r.IntN(4)])
		default:
			fmt.Fprintf(&b, "nop ; %d\n", i)
		}
	}
	return b.String()
}

// Layout gives the same sizes, label values, code and errors as the plain
// fixed-point iteration, on random chunks placed so that their labels
// cross 65535.
func TestLayoutMatchesFixedPoint(t *testing.T) {
	prior := map[string]Symbol{
		"lowData":  {"lowData", SymbolData, 100},
		"highData": {"highData", SymbolData, 70000},
		"lowCode":  {"lowCode", SymbolCode, 65532},
		"highCode": {"highCode", SymbolCode, 65536},
	}
	assemble := func(src string, base int, layout func(*asm)) (*asm, *vm.Program, error) {
		a := newAsm(context.Background(), base, 0, sectionCode, prior)
		a.parse(src)
		layout(a)
		p := a.encode()
		return a, p, a.errs.err()
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		src := randomChunk(r)
		base := 65536 - vm.InstructionSize*r.IntN(300)
		a, p, err := assemble(src, base, (*asm).layout)
		b, q, errB := assemble(src, base, fixedPointLayout)
		fail := func(what string, got, want any) {
			t.Fatalf("chunk %d at %d: %s %v, want %v\n%s", i, base, what, got, want, src)
		}
		if fmt.Sprint(err) != fmt.Sprint(errB) {
			fail("errors", err, errB)
		}
		if string(p.Code) != string(q.Code) {
			fail("code", p.Code, q.Code)
		}
		if got, want := a.symbols(), b.symbols(); !slices.Equal(got, want) {
			fail("symbols", got, want)
		}
		if a.codeEnd != b.codeEnd {
			fail("end", a.codeEnd, b.codeEnd)
		}
	}
}
