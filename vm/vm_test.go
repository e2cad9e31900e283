package vm_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

const (
	minI32 = math.MinInt32
	maxI32 = math.MaxInt32
)

// opTest is one program run from a fresh VM with some registers preset; it
// must end normally (exit code 0).
type opTest struct {
	name  string
	regs  map[int]int32
	fregs map[int]float64
	ro    []byte
	code  []byte
	cfg   vm.Config
	want  state
}

func runOpTests(t *testing.T, tests []opTest) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, out := newVM(t, tc.cfg)
			for i, v := range tc.regs {
				m.SetRegister(i, v)
			}
			for i, v := range tc.fregs {
				m.SetFloatRegister(i, v)
			}
			if err := m.Load(&vm.Program{ROData: tc.ro, Code: tc.code}); err != nil {
				t.Fatalf("Load: %v", err)
			}
			code, err := m.Run()
			if err != nil || code != 0 {
				t.Fatalf("Run = %d, %v; want 0, nil", code, err)
			}
			tc.want.check(t, m, out.String())
		})
	}
}

func TestWorkedExamples(t *testing.T) {
	runOpTests(t, []opTest{
		{
			// cloop #10 / load $1 #20 / test: inc $1 / loop @test / hlt
			name: "cloop",
			code: asm(i24(vm.OpCloop, 10), ld(1, 20), r1(vm.OpInc, 1), i24(vm.OpLoop, 8), op(vm.OpHlt)),
			want: state{regs: map[int]int32{1: 31}, loopCt: ptr(0), pc: ptr(16)},
		},
		{
			// load $0 #400 / call @f / hlt / f: load $0 #500 / ret
			name: "call",
			code: asm(ld(0, 400), i24(vm.OpCall, 12), op(vm.OpHlt), ld(0, 500), op(vm.OpRet)),
			want: state{regs: map[int]int32{0: 500}, depth: ptr(0), pc: ptr(8)},
		},
		{
			// load $0 #7 / load $1 #2 / div $0 $1 $2
			name: "div",
			code: asm(ld(0, 7), ld(1, 2), r3(vm.OpDiv, 0, 1, 2)),
			want: state{regs: map[int]int32{2: 3}, rem: ptr[int32](1), pc: ptr(12)},
		},
	})
}

func TestArithmetic(t *testing.T) {
	rr := func(a, b int32) map[int]int32 { return map[int]int32{1: a, 2: b} }
	res := func(c int32) state { return state{regs: map[int]int32{3: c}} }
	runOpTests(t, []opTest{
		{name: "load", code: asm(ld(3, 0xFFFF)), want: res(65535)},
		{name: "load zero-extends", regs: map[int]int32{3: -1}, code: asm(ld(3, 0x8000)), want: res(0x8000)},
		{name: "add", regs: rr(5, 7), code: asm(r3(vm.OpAdd, 1, 2, 3)), want: res(12)},
		{name: "add wraps", regs: rr(maxI32, 1), code: asm(r3(vm.OpAdd, 1, 2, 3)), want: res(minI32)},
		{name: "sub", regs: rr(5, 7), code: asm(r3(vm.OpSub, 1, 2, 3)), want: res(-2)},
		{name: "sub wraps", regs: rr(minI32, 1), code: asm(r3(vm.OpSub, 1, 2, 3)), want: res(maxI32)},
		{name: "mul", regs: rr(-3, 4), code: asm(r3(vm.OpMul, 1, 2, 3)), want: res(-12)},
		{name: "mul wraps", regs: rr(65536, 65536), code: asm(r3(vm.OpMul, 1, 2, 3)), want: res(0)},
		{name: "div truncates", regs: rr(-7, 2), code: asm(r3(vm.OpDiv, 1, 2, 3)),
			want: state{regs: map[int]int32{3: -3}, rem: ptr[int32](-1)}},
		{name: "div min by -1", regs: rr(minI32, -1), code: asm(r3(vm.OpDiv, 1, 2, 3)),
			want: state{regs: map[int]int32{3: minI32}, rem: ptr[int32](0)}},
		{name: "div into its own operand", regs: rr(7, 2), code: asm(r3(vm.OpDiv, 1, 2, 1)),
			want: state{regs: map[int]int32{1: 3}, rem: ptr[int32](1)}},
		{name: "mod", regs: rr(7, 3), code: asm(r3(vm.OpMod, 1, 2, 3)), want: res(1)},
		{name: "mod sign of a", regs: rr(-7, 3), code: asm(r3(vm.OpMod, 1, 2, 3)), want: res(-1)},
		{name: "mod negative b", regs: rr(7, -3), code: asm(r3(vm.OpMod, 1, 2, 3)), want: res(1)},
		{name: "mod min by -1", regs: rr(minI32, -1), code: asm(r3(vm.OpMod, 1, 2, 3)), want: res(0)},
		{name: "mod leaves remainder", regs: rr(7, 3), code: asm(r3(vm.OpMod, 1, 2, 3)),
			want: state{rem: ptr[int32](0)}},
		{name: "inc", regs: rr(41, 0), code: asm(r1(vm.OpInc, 1)), want: state{regs: map[int]int32{1: 42}}},
		{name: "inc wraps", regs: rr(maxI32, 0), code: asm(r1(vm.OpInc, 1)), want: state{regs: map[int]int32{1: minI32}}},
		{name: "dec", regs: rr(43, 0), code: asm(r1(vm.OpDec, 1)), want: state{regs: map[int]int32{1: 42}}},
		{name: "dec wraps", regs: rr(minI32, 0), code: asm(r1(vm.OpDec, 1)), want: state{regs: map[int]int32{1: maxI32}}},
		{name: "and", regs: rr(0b1100, 0b1010), code: asm(r3(vm.OpAnd, 1, 2, 3)), want: res(0b1000)},
		{name: "or", regs: rr(0b1100, 0b1010), code: asm(r3(vm.OpOr, 1, 2, 3)), want: res(0b1110)},
		{name: "xor", regs: rr(0b1100, 0b1010), code: asm(r3(vm.OpXor, 1, 2, 3)), want: res(0b0110)},
		{name: "not", regs: rr(0, 5), code: asm(r2(vm.OpNot, 1, 3)), want: res(-1)},
		{name: "mov", regs: rr(-9, 0), code: asm(r2(vm.OpMov, 1, 3)), want: state{regs: map[int]int32{1: -9, 3: -9}}},
		{name: "shl default 16", regs: rr(1, 0), code: asm(r1(vm.OpShl, 1)), want: state{regs: map[int]int32{1: 65536}}},
		{name: "shl 4", regs: rr(1, 0), code: asm(r2(vm.OpShl, 1, 4)), want: state{regs: map[int]int32{1: 16}}},
		{name: "shl 31", regs: rr(1, 0), code: asm(r2(vm.OpShl, 1, 31)), want: state{regs: map[int]int32{1: minI32}}},
		{name: "shl 32 is 0", regs: rr(5, 0), code: asm(r2(vm.OpShl, 1, 32)), want: state{regs: map[int]int32{1: 5}}},
		{name: "shl 33 is 1", regs: rr(5, 0), code: asm(r2(vm.OpShl, 1, 33)), want: state{regs: map[int]int32{1: 10}}},
		{name: "shr arithmetic", regs: rr(-16, 0), code: asm(r2(vm.OpShr, 1, 2)), want: state{regs: map[int]int32{1: -4}}},
		{name: "shr default 16", regs: rr(minI32, 0), code: asm(r1(vm.OpShr, 1)), want: state{regs: map[int]int32{1: -32768}}},
		{name: "shr 255 is 31", regs: rr(maxI32, 0), code: asm(r2(vm.OpShr, 1, 255)), want: state{regs: map[int]int32{1: 0}}},
		{name: "lui", regs: rr(0x1234, 0), code: asm(i16(vm.OpLui, 1, 0x5678)), want: state{regs: map[int]int32{1: 0x12345678}}},
		{name: "load lui negative", code: asm(ld(1, 0xFFFF), i16(vm.OpLui, 1, 0xFFFE)), want: state{regs: map[int]int32{1: -2}}},
		{name: "nop", code: asm(op(vm.OpNop), op(vm.OpNop)), want: state{pc: ptr(8)}},
	})
}

func TestFloat(t *testing.T) {
	ff := func(a, b float64) map[int]float64 { return map[int]float64{1: a, 2: b} }
	res := func(c float64) state { return state{fregs: map[int]float64{3: c}} }
	runOpTests(t, []opTest{
		{name: "loadf64", code: asm(i16(vm.OpLoadF64, 3, 65535)), want: res(65535)},
		{name: "loadf64 leaves int registers", regs: map[int]int32{3: 7}, code: asm(i16(vm.OpLoadF64, 3, 1)),
			want: state{regs: map[int]int32{3: 7}, fregs: map[int]float64{3: 1}}},
		{name: "addf64", fregs: ff(1.5, 2.25), code: asm(r3(vm.OpAddF64, 1, 2, 3)), want: res(3.75)},
		{name: "subf64", fregs: ff(1.5, 2.25), code: asm(r3(vm.OpSubF64, 1, 2, 3)), want: res(-0.75)},
		{name: "mulf64", fregs: ff(1.5, 2.25), code: asm(r3(vm.OpMulF64, 1, 2, 3)), want: res(3.375)},
		{name: "divf64", fregs: ff(3, 2), code: asm(r3(vm.OpDivF64, 1, 2, 3)), want: res(1.5)},
		{name: "divf64 by zero", fregs: ff(1, 0), code: asm(r3(vm.OpDivF64, 1, 2, 3)), want: res(math.Inf(1))},
		{name: "divf64 zero by zero", fregs: ff(0, 0), code: asm(r3(vm.OpDivF64, 1, 2, 3)), want: res(math.NaN())},
	})

	type cmp struct {
		op   vm.Opcode
		a, b float64
		want bool
	}
	var tests []opTest
	for _, c := range []cmp{
		{vm.OpEqF64, 1, 1, true},
		{vm.OpEqF64, 0, 1e-16, true},
		{vm.OpEqF64, 0, 3e-16, false},
		{vm.OpEqF64, 1, 2, false},
		{vm.OpEqF64, math.NaN(), math.NaN(), false},
		{vm.OpNeqF64, 1, 1, false},
		{vm.OpNeqF64, 0, 1e-16, false},
		{vm.OpNeqF64, 1, 2, true},
		{vm.OpNeqF64, math.NaN(), math.NaN(), true},
		{vm.OpGtF64, 2, 1, true},
		{vm.OpGtF64, 1, 1, false},
		{vm.OpGteF64, 1, 1, true},
		{vm.OpGteF64, 0, 1, false},
		{vm.OpLtF64, 0, 1, true},
		{vm.OpLtF64, 1, 1, false},
		{vm.OpLteF64, 1, 1, true},
		{vm.OpLteF64, 2, 1, false},
		{vm.OpLtF64, math.NaN(), 1, false},
	} {
		tests = append(tests, opTest{
			name:  c.op.String() + "/" + ftoa(c.a) + "," + ftoa(c.b),
			fregs: ff(c.a, c.b),
			code:  asm(r2(c.op, 1, 2)),
			want:  state{flag: ptr(c.want)},
		})
	}
	runOpTests(t, tests)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func itoa(v int32) string { return strconv.Itoa(int(v)) }

// intCompares lists, for each integer compare, pairs with the expected flag.
var intCompares = []struct {
	op   vm.Opcode
	a, b int32
	want bool
}{
	{vm.OpEq, 3, 3, true}, {vm.OpEq, 3, 4, false},
	{vm.OpNeq, 3, 3, false}, {vm.OpNeq, 3, 4, true},
	{vm.OpGte, 3, 3, true}, {vm.OpGte, -1, 1, false}, {vm.OpGte, 1, -1, true},
	{vm.OpLte, 3, 3, true}, {vm.OpLte, 1, -1, false}, {vm.OpLte, -1, 1, true},
	{vm.OpLt, 3, 3, false}, {vm.OpLt, -1, 1, true}, {vm.OpLt, minI32, maxI32, true},
	{vm.OpGt, 3, 3, false}, {vm.OpGt, 1, -1, true}, {vm.OpGt, minI32, maxI32, false},
}

func TestCompare(t *testing.T) {
	var tests []opTest
	for _, c := range intCompares {
		tests = append(tests, opTest{
			name: c.op.String() + "/" + itoa(c.a) + "," + itoa(c.b),
			regs: map[int]int32{1: c.a, 2: c.b},
			code: asm(r2(c.op, 1, 2)),
			want: state{flag: ptr(c.want)},
		})
	}
	runOpTests(t, tests)
}

// TestCompareAndBranch runs every compare directly followed by DJMPE or
// DJMPNE, the pairs the VM runs as one superinstruction.
func TestCompareAndBranch(t *testing.T) {
	var tests []opTest
	for _, c := range intCompares {
		for _, br := range []vm.Opcode{vm.OpDjmpe, vm.OpDjmpne} {
			taken := c.want == (br == vm.OpDjmpe)
			skipped := int32(1)
			if taken {
				skipped = 0
			}
			tests = append(tests, opTest{
				name: c.op.String() + "+" + br.String() + "/" + itoa(c.a) + "," + itoa(c.b),
				regs: map[int]int32{1: c.a, 2: c.b},
				// cmp $1 $2 / branch @12 / load $0 #1 / hlt
				code: asm(r2(c.op, 1, 2), i24(br, 12), ld(0, 1), op(vm.OpHlt)),
				want: state{flag: ptr(c.want), regs: map[int]int32{0: skipped}, pc: ptr(12)},
			})
		}
	}
	runOpTests(t, tests)

	// A jump may land on the branch of a pair: it must then use the flag
	// as it is, not run the compare.
	runOpTests(t, []opTest{{
		name: "jump onto the branch",
		regs: map[int]int32{1: 1, 2: 2},
		code: asm(
			r2(vm.OpNeq, 1, 2),  // 0: flag = true
			i24(vm.OpDjmp, 12),  // 4
			r2(vm.OpEq, 1, 2),   // 8: would clear the flag
			i24(vm.OpDjmpe, 20), // 12
			ld(0, 1),            // 16
			op(vm.OpHlt),        // 20
		),
		want: state{flag: ptr(true), regs: map[int]int32{0: 0}, pc: ptr(20)},
	}})
}

func TestControlFlow(t *testing.T) {
	runOpTests(t, []opTest{
		{name: "hlt stops", code: asm(ld(0, 1), op(vm.OpHlt), ld(0, 2)),
			want: state{regs: map[int]int32{0: 1}, pc: ptr(4)}},
		{name: "run off the end", code: asm(ld(0, 1)), want: state{regs: map[int]int32{0: 1}, pc: ptr(4)}},
		{name: "empty program", code: nil, want: state{pc: ptr(0)}},
		{name: "jmp", regs: map[int]int32{1: 8}, code: asm(r1(vm.OpJmp, 1), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(8)}},
		{name: "jmp to end", regs: map[int]int32{1: 8}, code: asm(r1(vm.OpJmp, 1), ld(0, 1)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(8)}},
		{name: "jmpf", regs: map[int]int32{1: 8}, code: asm(op(vm.OpNop), r1(vm.OpJmpf, 1), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(12)}},
		{name: "jmpf to end", regs: map[int]int32{1: 8}, code: asm(op(vm.OpNop), r1(vm.OpJmpf, 1), ld(0, 1)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(12)}},
		{name: "jmpb", code: asm(
			ld(2, 8),           // 0
			i24(vm.OpDjmp, 12), // 4
			op(vm.OpHlt),       // 8
			ld(0, 1),           // 12
			r1(vm.OpJmpb, 2),   // 16: back to 8
		), want: state{regs: map[int]int32{0: 1}, pc: ptr(8)}},
		{name: "jmpe taken", regs: map[int]int32{1: 5, 2: 5, 3: 12},
			code: asm(r2(vm.OpEq, 1, 2), r1(vm.OpJmpe, 3), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(12)}},
		{name: "jmpe not taken checks nothing", regs: map[int]int32{1: 5, 2: 6, 3: -3},
			code: asm(r2(vm.OpEq, 1, 2), r1(vm.OpJmpe, 3), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 1}, pc: ptr(12)}},
		{name: "djmp", code: asm(i24(vm.OpDjmp, 8), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(8)}},
		{name: "djmp to end", code: asm(i24(vm.OpDjmp, 8), ld(0, 1)),
			want: state{regs: map[int]int32{0: 0}, pc: ptr(8)}},
		{name: "djmpe taken", regs: map[int]int32{1: 1},
			code: asm(r2(vm.OpEq, 1, 1), op(vm.OpNop), i24(vm.OpDjmpe, 16), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 0}}},
		{name: "djmpe not taken", regs: map[int]int32{1: 1},
			code: asm(r2(vm.OpNeq, 1, 1), op(vm.OpNop), i24(vm.OpDjmpe, 16), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 1}}},
		{name: "djmpne taken", regs: map[int]int32{1: 1},
			code: asm(r2(vm.OpNeq, 1, 1), op(vm.OpNop), i24(vm.OpDjmpne, 16), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 0}}},
		{name: "djmpne not taken", regs: map[int]int32{1: 1},
			code: asm(r2(vm.OpEq, 1, 1), op(vm.OpNop), i24(vm.OpDjmpne, 16), ld(0, 1), op(vm.OpHlt)),
			want: state{regs: map[int]int32{0: 1}}},
		{name: "loop with counter 0 falls through", code: asm(i24(vm.OpLoop, 0), ld(0, 1)),
			want: state{regs: map[int]int32{0: 1}}},
		{name: "cloop max", code: asm(i24(vm.OpCloop, vm.MaxImm24)), want: state{loopCt: ptr(vm.MaxImm24)}},
		{name: "loop counts down", code: asm(i24(vm.OpCloop, 3), r1(vm.OpInc, 0), i24(vm.OpLoop, 4)),
			want: state{regs: map[int]int32{0: 4}, loopCt: ptr(0)}},
	})
}

func TestStackAndCalls(t *testing.T) {
	runOpTests(t, []opTest{
		{name: "push pop", regs: map[int]int32{1: 10, 2: 20},
			code: asm(r1(vm.OpPush, 1), r1(vm.OpPush, 2), r1(vm.OpPop, 3), r1(vm.OpPop, 4)),
			want: state{regs: map[int]int32{3: 20, 4: 10}, depth: ptr(0)}},
		{name: "push leaves depth", regs: map[int]int32{1: 10},
			code: asm(r1(vm.OpPush, 1), r1(vm.OpPush, 1)), want: state{depth: ptr(2)}},
		{name: "ret drops what the callee left", regs: map[int]int32{1: 7},
			code: asm(
				r1(vm.OpPush, 1),   // 0: caller's value
				i24(vm.OpCall, 16), // 4
				r1(vm.OpPop, 2),    // 8: gets the caller's value back
				op(vm.OpHlt),       // 12
				r1(vm.OpPush, 0),   // 16: f leaves two values
				r1(vm.OpPush, 0),   // 20
				op(vm.OpRet),       // 24
			),
			want: state{regs: map[int]int32{2: 7}, depth: ptr(0), pc: ptr(12)}},
		{name: "nested calls", code: asm(
			i24(vm.OpCall, 8),  // 0
			op(vm.OpHlt),       // 4
			r1(vm.OpInc, 0),    // 8: f
			i24(vm.OpCall, 20), // 12
			op(vm.OpRet),       // 16
			r1(vm.OpInc, 0),    // 20: g
			r1(vm.OpPush, 0),   // 24
			r1(vm.OpPop, 1),    // 28
			op(vm.OpRet),       // 32
		), want: state{regs: map[int]int32{0: 2, 1: 2}, depth: ptr(0), pc: ptr(4)}},
		{name: "call to end", code: asm(i24(vm.OpCall, 4)), want: state{pc: ptr(4), depth: ptr(2)}},
		{name: "ret to end", code: asm(i24(vm.OpDjmp, 8), op(vm.OpRet), i24(vm.OpCall, 4)),
			want: state{pc: ptr(12), depth: ptr(0)}},
		{name: "stack grows", regs: map[int]int32{1: 3},
			code: asm(i24(vm.OpCloop, 9999), r1(vm.OpPush, 1), i24(vm.OpLoop, 4)),
			want: state{depth: ptr(10000)}},
	})
}

func TestHeap(t *testing.T) {
	runOpTests(t, []opTest{
		{name: "aloc", regs: map[int]int32{1: 10}, code: asm(r1(vm.OpAloc, 1), r1(vm.OpAloc, 1)), want: state{heap: ptr(20)}},
		{name: "aloc 0", code: asm(r1(vm.OpAloc, 1)), want: state{heap: ptr(0)}},
		{name: "aloc to the limit", regs: map[int]int32{1: 16}, cfg: vm.Config{HeapLimit: 16},
			code: asm(r1(vm.OpAloc, 1)), want: state{heap: ptr(16)}},
		{name: "aloc zero-fills", regs: map[int]int32{1: 8, 2: 4, 3: -1},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpLoadm, 2, 3)), want: state{regs: map[int]int32{3: 0}}},
		{name: "setm loadm", regs: map[int]int32{1: 8, 2: 4, 3: -2},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpSetm, 2, 3), r2(vm.OpLoadm, 2, 4)),
			want: state{regs: map[int]int32{4: -2}}},
		{name: "little-endian", regs: map[int]int32{1: 8, 2: 0, 3: 0x01020304, 5: 1},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpSetm, 2, 3), r2(vm.OpLoadm, 5, 4)),
			want: state{regs: map[int]int32{4: 0x00010203}}},
		{name: "last word", regs: map[int]int32{1: 8, 2: 4, 3: 99},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpSetm, 2, 3), r2(vm.OpLoadm, 2, 4)),
			want: state{regs: map[int]int32{4: 99}}},
	})
}

func TestOutput(t *testing.T) {
	ro := []byte("hello\x00world\x00\x00")
	runOpTests(t, []opTest{
		{name: "prts", ro: ro, code: asm(i24(vm.OpPrts, 0), i24(vm.OpPrts, 6)), want: state{out: ptr("helloworld")}},
		{name: "prts empty string", ro: ro, code: asm(i24(vm.OpPrts, 12)), want: state{out: ptr("")}},
		{name: "prts mid-string", ro: ro, code: asm(i24(vm.OpPrts, 8)), want: state{out: ptr("rld")}},
		{name: "prti", regs: map[int]int32{1: -123, 2: 0, 3: minI32},
			code: asm(r1(vm.OpPrti, 1), r1(vm.OpPrti, 2), r1(vm.OpPrti, 3)),
			want: state{out: ptr("-1230-2147483648")}},
		{name: "prti max", regs: map[int]int32{1: maxI32}, code: asm(r1(vm.OpPrti, 1)), want: state{out: ptr("2147483647")}},
	})
}
