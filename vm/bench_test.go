package vm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// The benchmark programs are bench/count.iasm, bench/arith.iasm and
// bench/fib.iasm, built here instruction by instruction (package vm does
// not use the assembler); TestBenchPrograms checks that they are the same
// bytes as the assembled files. Each prints its result and a newline.

// nl is the read-only data of the benchmark programs: "\n" and its NUL.
var nl = []byte("\n\x00")

// countProgram counts $0 from 0 to n: the loop is INC, NEQ, DJMPE.
func countProgram(n uint32) *vm.Program {
	return &vm.Program{ROData: nl, Code: asm(
		vm.EncodeImm16(vm.OpLoad, 0, 0),
		vm.EncodeImm16(vm.OpLoad, 1, uint16(n>>16)),
		vm.EncodeImm16(vm.OpLui, 1, uint16(n)),
		vm.Encode(vm.OpInc, 0, 0, 0), // 12: loop
		vm.Encode(vm.OpNeq, 0, 1, 0),
		vm.EncodeImm24(vm.OpDjmpe, 12),
		vm.Encode(vm.OpPrti, 0, 0, 0),
		vm.EncodeImm24(vm.OpPrts, 0),
		vm.Encode(vm.OpHlt, 0, 0, 0),
	)}
}

// fibProgram computes fib($0) recursively into $1: the argument goes in $0
// and is preserved, the result comes back in $1, and each call saves what
// it needs with PUSH/POP.
func fibProgram(n uint16) *vm.Program {
	return &vm.Program{ROData: nl, Code: asm(
		vm.EncodeImm16(vm.OpLoad, 0, n), // 0
		vm.EncodeImm24(vm.OpCall, 20),   // 4
		vm.Encode(vm.OpPrti, 1, 0, 0),   // 8
		vm.EncodeImm24(vm.OpPrts, 0),    // 12
		vm.Encode(vm.OpHlt, 0, 0, 0),    // 16
		// fib: 20
		vm.EncodeImm16(vm.OpLoad, 2, 2), // 20
		vm.Encode(vm.OpLt, 0, 2, 0),     // 24: n < 2 ?
		vm.EncodeImm24(vm.OpDjmpne, 40), // 28
		vm.Encode(vm.OpMov, 0, 1, 0),    // 32: fib(n) = n
		vm.Encode(vm.OpRet, 0, 0, 0),    // 36
		// recurse: 40
		vm.Encode(vm.OpPush, 0, 0, 0), // 40: save n
		vm.Encode(vm.OpDec, 0, 0, 0),  // 44
		vm.EncodeImm24(vm.OpCall, 20), // 48: $1 = fib(n-1), $0 = n-1
		vm.Encode(vm.OpPush, 1, 0, 0), // 52
		vm.Encode(vm.OpDec, 0, 0, 0),  // 56
		vm.EncodeImm24(vm.OpCall, 20), // 60: $1 = fib(n-2)
		vm.Encode(vm.OpPop, 3, 0, 0),  // 64: $3 = fib(n-1)
		vm.Encode(vm.OpPop, 0, 0, 0),  // 68: restore n
		vm.Encode(vm.OpAdd, 1, 3, 1),  // 72
		vm.Encode(vm.OpRet, 0, 0, 0),  // 76
	)}
}

// arithProgram runs acc = (acc*3 + i) mod 1000003 for i in 0..n-1, with acc
// in $0.
func arithProgram(n uint32) *vm.Program {
	const mod = 1000003
	return &vm.Program{ROData: nl, Code: asm(
		vm.EncodeImm16(vm.OpLoad, 0, 0),
		vm.EncodeImm16(vm.OpLoad, 1, 0),
		vm.EncodeImm16(vm.OpLoad, 2, 3),
		vm.EncodeImm16(vm.OpLoad, 3, mod>>16),
		vm.EncodeImm16(vm.OpLui, 3, mod&0xFFFF),
		vm.EncodeImm16(vm.OpLoad, 4, uint16(n>>16)),
		vm.EncodeImm16(vm.OpLui, 4, uint16(n)),
		vm.Encode(vm.OpMul, 0, 2, 0), // 28: loop
		vm.Encode(vm.OpAdd, 0, 1, 0),
		vm.Encode(vm.OpMod, 0, 3, 0),
		vm.Encode(vm.OpInc, 1, 0, 0),
		vm.Encode(vm.OpLt, 1, 4, 0),
		vm.EncodeImm24(vm.OpDjmpe, 28),
		vm.Encode(vm.OpPrti, 0, 0, 0),
		vm.EncodeImm24(vm.OpPrts, 0),
		vm.Encode(vm.OpHlt, 0, 0, 0),
	)}
}

func fibGo(n int32) int32 {
	if n < 2 {
		return n
	}
	return fibGo(n-1) + fibGo(n-2)
}

func arithGo(n int32) int32 {
	var acc int32
	for i := int32(0); i < n; i++ {
		acc = (acc*3 + i) % 1000003
	}
	return acc
}

// benchProgram loads and runs p b.N times, checks register reg against want
// and reports the time per executed instruction.
func benchProgram(b *testing.B, p *vm.Program, reg int, want int32) {
	b.Helper()
	m, err := vm.New(vm.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var steps int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Load(p); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Run(); err != nil {
			b.Fatal(err)
		}
		steps += m.Steps()
	}
	b.StopTimer()
	if got := m.Registers()[reg]; got != want {
		b.Fatalf("$%d = %d, want %d", reg, got, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/inst")
}

func BenchmarkCount(b *testing.B) {
	benchProgram(b, countProgram(1_000_000), 0, 1_000_000)
}

func BenchmarkFib(b *testing.B) {
	benchProgram(b, fibProgram(25), 1, fibGo(25))
}

func BenchmarkArith(b *testing.B) {
	benchProgram(b, arithProgram(1_000_000), 0, arithGo(1_000_000))
}

// TestBenchPrograms checks that the benchmark programs are bench/*.iasm
// as assembled (vm/testdata/bench/*.ibc, written by `iridium -o`, which
// bench/compare.sh checks are up to date) at the sizes those files use, and
// that they compute what they should (at a small size).
func TestBenchPrograms(t *testing.T) {
	for _, c := range []struct {
		name  string
		p     *vm.Program // at the size of the .iasm file
		small *vm.Program // the same at a size that runs fast under -race
		reg   int
		want  int32
	}{
		{"count", countProgram(100_000_000), countProgram(1000), 0, 1000},
		{"arith", arithProgram(20_000_000), arithProgram(1000), 0, arithGo(1000)},
		{"fib", fibProgram(35), fibProgram(15), 1, fibGo(15)},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "bench", c.name+".ibc"))
		if err != nil {
			t.Fatal(err)
		}
		file, err := vm.ParseBytecode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(file.Code, c.p.Code) || !bytes.Equal(file.ROData, c.p.ROData) {
			t.Errorf("%s: the hand-built program differs from bench/%s.iasm:\n got %x\nwant %x", c.name, c.name, c.p.Code, file.Code)
		}
		m, out := load(t, vm.Config{}, c.small)
		mustRun(t, m)
		want := strconv.Itoa(int(c.want)) + "\n"
		if got := m.Registers()[c.reg]; got != c.want || out.String() != want {
			t.Errorf("%s: $%d = %d, output %q; want %d, %q", c.name, c.reg, got, out, c.want, want)
		}
	}
}

// BenchmarkLoadLargeProgram loads 100,000 instructions (a block of
// arithmetic, a compare and a branch, over and over) into a new VM, as a
// file run does: verification and pre-decoding (fusion included), not
// running.
func BenchmarkLoadLargeProgram(b *testing.B) {
	body := [][vm.InstructionSize]byte{
		vm.Encode(vm.OpAdd, 1, 2, 3),
		vm.Encode(vm.OpMov, 3, 4, 0),
		vm.Encode(vm.OpInc, 4, 0, 0),
		vm.EncodeImm16(vm.OpLoad, 5, 7),
		vm.Encode(vm.OpMul, 5, 4, 1),
		vm.Encode(vm.OpLt, 1, 5, 0),
		vm.EncodeImm24(vm.OpDjmpe, 0),
	}
	var code [][vm.InstructionSize]byte
	for len(code) < 100_000 {
		code = append(code, body...)
	}
	p := &vm.Program{Code: asm(append(code, vm.Encode(vm.OpHlt, 0, 0, 0))...)}
	b.ReportAllocs()
	for b.Loop() {
		m, err := vm.New(vm.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Load(p); err != nil {
			b.Fatal(err)
		}
	}
}
