package vm_test

import (
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// countProgram counts $0 from 0 to n: the loop is INC, NEQ, DJMPE.
func countProgram(n uint32) *vm.Program {
	return &vm.Program{Code: asm(
		vm.EncodeImm16(vm.OpLoad, 0, 0),
		vm.EncodeImm16(vm.OpLoad, 1, uint16(n>>16)),
		vm.EncodeImm16(vm.OpLui, 1, uint16(n)),
		vm.Encode(vm.OpInc, 0, 0, 0), // 12: loop
		vm.Encode(vm.OpNeq, 0, 1, 0),
		vm.EncodeImm24(vm.OpDjmpe, 12),
		vm.Encode(vm.OpHlt, 0, 0, 0),
	)}
}

// fibProgram computes fib($0) recursively into $1: the argument goes in $0,
// the result comes back in $1, and each call saves what it needs with
// PUSH/POP.
func fibProgram(n uint16) *vm.Program {
	return &vm.Program{Code: asm(
		vm.EncodeImm16(vm.OpLoad, 0, n), // 0
		vm.EncodeImm24(vm.OpCall, 12),   // 4
		vm.Encode(vm.OpHlt, 0, 0, 0),    // 8
		// fib: 12
		vm.EncodeImm16(vm.OpLoad, 2, 2), // 12
		vm.Encode(vm.OpLt, 0, 2, 0),     // 16: n < 2 ?
		vm.EncodeImm24(vm.OpDjmpne, 32), // 20
		vm.Encode(vm.OpMov, 0, 1, 0),    // 24: fib(n) = n
		vm.Encode(vm.OpRet, 0, 0, 0),    // 28
		// rec: 32
		vm.Encode(vm.OpPush, 0, 0, 0), // 32: save n
		vm.Encode(vm.OpDec, 0, 0, 0),  // 36
		vm.EncodeImm24(vm.OpCall, 12), // 40: $1 = fib(n-1)
		vm.Encode(vm.OpPop, 0, 0, 0),  // 44: restore n
		vm.Encode(vm.OpPush, 1, 0, 0), // 48: save fib(n-1)
		vm.Encode(vm.OpDec, 0, 0, 0),  // 52
		vm.Encode(vm.OpDec, 0, 0, 0),  // 56
		vm.EncodeImm24(vm.OpCall, 12), // 60: $1 = fib(n-2)
		vm.Encode(vm.OpPop, 3, 0, 0),  // 64
		vm.Encode(vm.OpAdd, 1, 3, 1),  // 68
		vm.Encode(vm.OpRet, 0, 0, 0),  // 72
	)}
}

// arithProgram runs acc = (acc*3 + i) mod 1000003 for i in 0..n-1, with acc
// in $0.
func arithProgram(n uint32) *vm.Program {
	const mod = 1000003
	return &vm.Program{Code: asm(
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
