package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// These tests run each program twice, with superinstructions and without
// (noFusion), and require the same outcome: registers (float ones too),
// flag, remainder, loop counter, pc, stack depth, heap size, steps,
// output, exit code and fault. Each table case also names the superinstruction it is about, and
// the test checks that Load really built it, so a case cannot silently stop
// testing what it says.

func enc(op Opcode, a, b, c uint8) []byte { x := Encode(op, a, b, c); return x[:] }
func e16(op Opcode, r uint8, v uint16) []byte {
	x := EncodeImm16(op, r, v)
	return x[:]
}
func e24(op Opcode, v uint32) []byte { x := EncodeImm24(op, v); return x[:] }
func code(ins ...[]byte) []byte      { return bytes.Join(ins, nil) }

type outcome struct {
	regs   [32]int32
	fregs  [32]uint64 // floatBits of the float registers
	flag   bool
	rem    int32
	lc     int
	pc     int
	depth  int
	heap   int
	steps  int64
	out    string
	exit   int
	err    string
	faultP int
	faultO Opcode
}

func (o outcome) String() string {
	f := make([]float64, 16)
	for i := range f {
		f[i] = math.Float64frombits(o.fregs[i])
	}
	return fmt.Sprintf("exit %d err %q (pc %d %v) pc %d flag %v rem %d lc %d depth %d heap %d steps %d out %q\nregs %v\nfregs %v",
		o.exit, o.err, o.faultP, o.faultO, o.pc, o.flag, o.rem, o.lc, o.depth, o.heap, o.steps, o.out, o.regs[:16], f)
}

// runOnce loads p (fused or not), sets the registers up (when setup is not
// nil) and runs it, twice if the first run stops on the budget, so that
// resuming in the middle of a loop is covered too.
func runOnce(t testing.TB, p *Program, cfg Config, fuse bool, setup func(*VM)) (outcome, *VM) {
	t.Helper()
	var out bytes.Buffer
	cfg.Output = &out
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	loadAs(t, m, p, fuse)
	if setup != nil {
		setup(m)
	}
	return runToEnd(m, &out, 2), m
}

// loadAs loads p on m with superinstructions (fuse) or without.
func loadAs(t testing.TB, m *VM, p *Program, fuse bool) {
	t.Helper()
	noFusion = !fuse
	defer func() { noFusion = false }()
	if err := m.Load(p); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

// runToEnd runs the loaded m up to tries times, again while a run stops
// on the budget, and returns the outcome, steps counted over all runs
// and out what it printed (nil: not recorded).
func runToEnd(m *VM, out *bytes.Buffer, tries int) outcome {
	var o outcome
	for range tries {
		exit, err := m.Run()
		o = outcome{regs: m.Registers(), fregs: floatBits(m.FloatRegisters()), flag: m.Flag(), rem: m.Remainder(), lc: m.LoopCounter(),
			pc: m.PC(), depth: m.StackDepth(), heap: m.HeapSize(), steps: o.steps + m.Steps(), exit: exit}
		if out != nil {
			o.out = out.String()
		}
		if err != nil {
			o.err = err.Error()
			var f *Fault
			if errors.As(err, &f) {
				o.faultP, o.faultO = f.PC, f.Op
			}
		}
		if !errors.Is(err, ErrBudgetExhausted) {
			break
		}
	}
	return o
}

// floatBits is the float registers' bits, so that -0 and 0 differ, with
// every NaN made the same NaN: which of two NaN operands an operation
// gives back is not part of the VM's behaviour (a program cannot tell
// NaNs apart), and it changes with the order in which the compiler puts a
// commutative operation's operands, which differs between a fused case
// and the plain one.
func floatBits(f [32]float64) (b [32]uint64) {
	for i, v := range f {
		b[i] = math.Float64bits(v)
		if v != v {
			b[i] = 0x7ff8000000000000
		}
	}
	return b
}

// sameBothWays runs p fused and unfused and compares; it returns the fused
// outcome and VM.
func sameBothWays(t testing.TB, p *Program, cfg Config) (outcome, *VM) {
	t.Helper()
	return sameBothWaysFrom(t, p, cfg, nil)
}

// sameBothWaysFrom is sameBothWays with the registers set up by setup
// before each run.
func sameBothWaysFrom(t testing.TB, p *Program, cfg Config, setup func(*VM)) (outcome, *VM) {
	t.Helper()
	plain, _ := runOnce(t, p, cfg, false, setup)
	fused, m := runOnce(t, p, cfg, true, setup)
	if plain != fused {
		t.Fatalf("fused and plain runs differ:\nplain %v\nfused %v", plain, fused)
	}
	return fused, m
}

var (
	cmps      = []Opcode{OpEq, OpNeq, OpGte, OpLte, OpLt, OpGt}
	floatCmps = []Opcode{OpEqF64, OpNeqF64, OpGtF64, OpGteF64, OpLtF64, OpLteF64}
)

func TestFusedCompareBranch(t *testing.T) {
	// Each compare with each branch, after nothing, after INC and after
	// LOAD; the loops run until the condition changes or the budget ends
	// them, so every form is both taken and not taken.
	cfg := Config{Budget: 200}
	for _, cmp := range cmps {
		for _, br := range []Opcode{OpDjmpe, OpDjmpne} {
			name := cmp.String() + "+" + br.String()
			t.Run(name, func(t *testing.T) {
				// 0: load $1 #5 / 4: inc $0 / 8: cmp $0 $1 / 12: br @4 / 16: hlt
				p := &Program{Code: code(e16(OpLoad, 1, 5), enc(OpInc, 0, 0, 0), enc(cmp, 0, 1, 0), e24(br, 4), enc(OpHlt, 0, 0, 0))}
				o, m := sameBothWays(t, p, cfg)
				wantOp(t, m, 1, OpInc, cmp, br)
				wantOp(t, m, 2, cmp, br)
				if o.steps < 5 {
					t.Errorf("steps %d", o.steps)
				}
				// 0: inc $0 / 4: load $1 #3 / 8: cmp $0 $1 / 12: br @0 / 16: hlt
				p = &Program{Code: code(enc(OpInc, 0, 0, 0), e16(OpLoad, 1, 3), enc(cmp, 0, 1, 0), e24(br, 0), enc(OpHlt, 0, 0, 0))}
				_, m = sameBothWays(t, p, cfg)
				wantOp(t, m, 1, OpLoad, cmp, br)
				// The same, entered in the middle: at the compare, at the
				// branch (flag from a compare before it), past the end of
				// the fused form's first part.
				for _, entry := range []uint32{8, 12} {
					p = &Program{Code: code(e24(OpDjmp, entry), enc(OpGt, 2, 0, 0), enc(OpInc, 0, 0, 0),
						enc(cmp, 0, 1, 0), e24(br, 8), e16(OpLoad, 1, 3), enc(cmp, 0, 1, 0), e24(br, 4), enc(OpHlt, 0, 0, 0))}
					sameBothWays(t, p, cfg)
				}
				// The branch target is the end of the code.
				p = &Program{Code: code(e16(OpLoad, 1, 1), enc(OpInc, 0, 0, 0), enc(cmp, 0, 1, 0), e24(br, 16))}
				sameBothWays(t, p, cfg)
			})
		}
	}
}

func TestFusedArithmetic(t *testing.T) {
	mul, add, mod := enc(OpMul, 0, 2, 0), enc(OpAdd, 0, 1, 0), enc(OpMod, 0, 3, 0)
	for _, c := range []struct {
		name string
		p    *Program
		at   int
		op   []Opcode
	}{
		{"mul add mod", &Program{Code: code(e16(OpLoad, 1, 7), e16(OpLoad, 2, 3), e16(OpLoad, 3, 5), mul, add, mod)}, 3, []Opcode{OpMul, OpAdd, OpMod}},
		{"mod faults", &Program{Code: code(e16(OpLoad, 1, 7), e16(OpLoad, 2, 3), mul, add, mod, enc(OpInc, 5, 0, 0))}, 2, []Opcode{OpMul, OpAdd, OpMod}},
		{"mul add", &Program{Code: code(e16(OpLoad, 0, 9), e16(OpLoad, 2, 0xFFFF), mul, add, mul, add)}, 2, []Opcode{OpMul, OpAdd, OpMul}},
		{"add mod", &Program{Code: code(e16(OpLoad, 1, 7), e16(OpLoad, 3, 4), add, mod, add, mod)}, 2, []Opcode{OpAdd, OpMod, OpAdd}},
		{"add mod faults", &Program{Code: code(e16(OpLoad, 1, 7), add, mod)}, 1, []Opcode{OpAdd, OpMod}},
		{"same registers", &Program{Code: code(e16(OpLoad, 0, 6), enc(OpMul, 0, 0, 0), enc(OpAdd, 0, 0, 0), enc(OpMod, 0, 0, 0))}, 1, []Opcode{OpMul, OpAdd, OpMod}},
		{"into the middle", &Program{Code: code(e16(OpLoad, 1, 7), e16(OpLoad, 3, 4), e24(OpDjmp, 16), mul, add, mod)}, 3, []Opcode{OpMul, OpAdd, OpMod}},
		{"into the mod", &Program{Code: code(e16(OpLoad, 0, 7), e24(OpDjmp, 16), mul, add, mod)}, 2, []Opcode{OpMul, OpAdd, OpMod}},
		{"in a loop", &Program{Code: code(e16(OpLoad, 2, 3), e16(OpLoad, 3, 1000), e16(OpLoad, 4, 50), mul, add, mod, enc(OpInc, 1, 0, 0), enc(OpLt, 1, 4, 0), e24(OpDjmpe, 12))}, 3, []Opcode{OpMul, OpAdd, OpMod}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, m := sameBothWays(t, c.p, Config{})
			wantOp(t, m, c.at, c.op...)
		})
	}
	// A fault in the MOD part names the MOD, after MUL and ADD ran.
	o, _ := sameBothWays(t, &Program{Code: code(e16(OpLoad, 1, 7), e16(OpLoad, 2, 3), e16(OpLoad, 0, 2), mul, add, mod)}, Config{})
	if o.faultP != 20 || o.faultO != OpMod || o.regs[0] != 13 || o.steps != 6 {
		t.Errorf("fault in MOD part: %v", o)
	}
}

func TestFusedStackAndCalls(t *testing.T) {
	push, pop := func(r uint8) []byte { return enc(OpPush, r, 0, 0) }, func(r uint8) []byte { return enc(OpPop, r, 0, 0) }
	ret, hlt := enc(OpRet, 0, 0, 0), enc(OpHlt, 0, 0, 0)
	small := Config{StackLimit: 3}
	for _, c := range []struct {
		name string
		p    *Program
		cfg  Config
		at   int
		op   []Opcode
	}{
		{"push push pop pop", &Program{Code: code(e16(OpLoad, 0, 1), e16(OpLoad, 1, 2), push(0), push(1), pop(0), pop(1))}, Config{}, 2, []Opcode{OpPush, OpPush}},
		{"pop pop", &Program{Code: code(e16(OpLoad, 0, 1), e16(OpLoad, 1, 2), push(0), push(1), pop(0), pop(1))}, Config{}, 4, []Opcode{OpPop, OpPop}},
		{"second push overflows", &Program{Code: code(push(0), push(0), push(1), push(2))}, small, 2, []Opcode{OpPush, OpPush}},
		{"first push overflows", &Program{Code: code(push(0), push(0), push(0), push(1), push(2))}, small, 3, []Opcode{OpPush, OpPush}},
		{"second pop underflows", &Program{Code: code(push(0), pop(1), pop(2))}, Config{}, 1, []Opcode{OpPop, OpPop}},
		{"first pop underflows", &Program{Code: code(pop(1), pop(2))}, Config{}, 0, []Opcode{OpPop, OpPop}},
		{"pop pop below the frame", &Program{Code: code(push(0), push(0), e24(OpCall, 16), hlt, push(1), pop(1), pop(2), ret)}, Config{}, 5, []Opcode{OpPop, OpPop}},
		{"push push grows", &Program{Code: code(e24(OpCloop, 100), push(0), push(1), e24(OpLoop, 4))}, Config{}, 1, []Opcode{OpPush, OpPush}},
		{"push call", &Program{Code: code(e16(OpLoad, 0, 4), push(0), e24(OpCall, 16), hlt, pop(1), ret)}, Config{}, 1, []Opcode{OpPush, OpCall}},
		{"push call overflows on the call", &Program{Code: code(push(0), push(0), e24(OpCall, 16), hlt, ret)}, small, 1, []Opcode{OpPush, OpCall}},
		{"push call overflows on the push", &Program{Code: code(push(0), push(0), push(0), push(0), e24(OpCall, 24), hlt, ret)}, small, 3, []Opcode{OpPush, OpCall}},
		{"inc call", &Program{Code: code(enc(OpInc, 0, 0, 0), e24(OpCall, 12), hlt, ret)}, Config{}, 0, []Opcode{OpInc, OpCall}},
		{"dec call", &Program{Code: code(enc(OpDec, 0, 0, 0), e24(OpCall, 12), hlt, ret)}, Config{}, 0, []Opcode{OpDec, OpCall}},
		{"mov call", &Program{Code: code(e16(OpLoad, 0, 3), enc(OpMov, 0, 1, 0), e24(OpCall, 16), hlt, ret)}, Config{}, 1, []Opcode{OpMov, OpCall}},
		{"dec call overflows", &Program{Code: code(push(0), push(0), enc(OpDec, 0, 0, 0), e24(OpCall, 20), hlt, ret)}, small, 2, []Opcode{OpDec, OpCall}},
		{"call grows the stack", &Program{Code: code(e24(OpCloop, 200), enc(OpInc, 0, 0, 0), e24(OpCall, 4))}, Config{}, 1, []Opcode{OpInc, OpCall}},
		{"into the call", &Program{Code: code(e24(OpDjmp, 8), enc(OpDec, 0, 0, 0), e24(OpCall, 16), hlt, ret)}, Config{}, 1, []Opcode{OpDec, OpCall}},
		{"mov ret", &Program{Code: code(e16(OpLoad, 0, 3), e24(OpCall, 12), hlt, enc(OpMov, 0, 1, 0), ret)}, Config{}, 3, []Opcode{OpMov, OpRet}},
		{"add ret", &Program{Code: code(e16(OpLoad, 0, 3), e24(OpCall, 12), hlt, enc(OpAdd, 0, 0, 1), ret)}, Config{}, 3, []Opcode{OpAdd, OpRet}},
		{"pop ret", &Program{Code: code(e16(OpLoad, 0, 3), e24(OpCall, 12), hlt, push(0), pop(1), ret)}, Config{}, 4, []Opcode{OpPop, OpRet}},
		{"mov ret with no frame", &Program{Code: code(e16(OpLoad, 0, 3), enc(OpMov, 0, 1, 0), ret)}, Config{}, 1, []Opcode{OpMov, OpRet}},
		{"add ret with no frame", &Program{Code: code(e16(OpLoad, 0, 3), enc(OpAdd, 0, 0, 1), ret)}, Config{}, 1, []Opcode{OpAdd, OpRet}},
		{"pop ret underflows", &Program{Code: code(e24(OpCall, 8), hlt, pop(1), ret)}, Config{}, 2, []Opcode{OpPop, OpRet}},
		{"into the ret", &Program{Code: code(e24(OpCall, 8), hlt, e24(OpDjmp, 16), enc(OpMov, 0, 1, 0), ret)}, Config{}, 3, []Opcode{OpMov, OpRet}},
		{"fib", fibProgramInternal(12), Config{}, 16, []Opcode{OpPop, OpPop}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, m := sameBothWays(t, c.p, c.cfg)
			wantOp(t, m, c.at, c.op...)
		})
	}
	// A fault in the second part names it, after the first part ran.
	o, _ := sameBothWays(t, &Program{Code: code(e16(OpLoad, 0, 3), enc(OpMov, 0, 1, 0), ret)}, Config{})
	if o.faultP != 8 || o.faultO != OpRet || o.regs[1] != 3 || o.steps != 3 {
		t.Errorf("RET with no frame after MOV: %v", o)
	}
	o, _ = sameBothWays(t, &Program{Code: code(push(0), push(0), push(1), push(2))}, small)
	if o.faultP != 12 || o.faultO != OpPush || o.depth != 3 {
		t.Errorf("second PUSH overflows: %v", o)
	}
	o, _ = sameBothWays(t, &Program{Code: code(e16(OpLoad, 0, 9), push(0), pop(1), pop(2))}, Config{})
	if o.faultP != 12 || o.faultO != OpPop || o.regs[1] != 9 || o.depth != 0 {
		t.Errorf("second POP underflows: %v", o)
	}
}

// fibProgramInternal is bench_test.go's fibProgram (that one lives in
// package vm_test).
func fibProgramInternal(n uint16) *Program {
	return &Program{ROData: []byte("\n\x00"), Code: code(
		e16(OpLoad, 0, n), e24(OpCall, 20), enc(OpPrti, 1, 0, 0), e24(OpPrts, 0), enc(OpHlt, 0, 0, 0),
		e16(OpLoad, 2, 2), enc(OpLt, 0, 2, 0), e24(OpDjmpne, 40), enc(OpMov, 0, 1, 0), enc(OpRet, 0, 0, 0),
		enc(OpPush, 0, 0, 0), enc(OpDec, 0, 0, 0), e24(OpCall, 20), enc(OpPush, 1, 0, 0), enc(OpDec, 0, 0, 0),
		e24(OpCall, 20), enc(OpPop, 3, 0, 0), enc(OpPop, 0, 0, 0), enc(OpAdd, 1, 3, 1), enc(OpRet, 0, 0, 0))}
}

// wantOp checks that instruction i runs as the superinstruction of the
// sequence ops (or one of its cases that hand results on), or, given one
// opcode, as that instruction alone.
func wantOp(t testing.TB, m *VM, i int, ops ...Opcode) {
	t.Helper()
	want := xop(ops[0])
	if len(ops) > 1 {
		var key [maxParts]Opcode
		for j := range key {
			key[j] = opNone
			if j < len(ops) {
				key[j] = ops[j]
			}
		}
		f, ok := superinstructions[key]
		if !ok {
			t.Fatalf("%v is not a superinstruction", ops)
		}
		want = f
		if seq, ok := handOnOf(m.insts[i].op); ok && seq == key {
			return // the same sequence, its parts handing results on
		}
	}
	if got := m.insts[i].op; got != want {
		t.Errorf("instruction %d runs as opcode %d, want %d (%v)", i, got, want, ops)
	}
}

// handOnSeq is the superinstruction of a handOnKey (its first maxParts
// bytes, high to low).
func handOnSeq(key uint64) [maxParts]Opcode {
	var seq [maxParts]Opcode
	for j := range seq {
		seq[j] = Opcode(key >> (8 * (2*maxParts - 2 - j)))
	}
	return seq
}

// handOnOf is the sequence of the hand-on case f, and whether f is one.
func handOnOf(f xop) ([maxParts]Opcode, bool) {
	for key, g := range handOns {
		if g == f {
			return handOnSeq(key), true
		}
	}
	return [maxParts]Opcode{}, false
}

// wantChain checks that instruction i runs as the chain of the sequence
// from and the instructions to at its jump's target.
func wantChain(t testing.TB, m *VM, i int, from, to []Opcode) {
	t.Helper()
	var key [maxParts + chainTo]Opcode
	for j := range key {
		key[j] = opNone
	}
	copy(key[:], from)
	copy(key[maxParts:], to)
	x, ok := chains[key]
	if !ok {
		t.Fatalf("%v then %v is not a chain", from, to)
	}
	if got := m.insts[i].op; got != x {
		t.Errorf("instruction %d runs as opcode %d, want %d (the chain %v then %v)", i, got, x, from, to)
	}
}

// TestFloatResultHandedOn: inside a superinstruction a float result goes
// to the next part in a machine register when that part names the register
// just written (genexec's hand-on). Each case is fused as ops, starts with
// f1 = 6 and f2 = 3, and must end with the registers of want (and the
// flag), as the instructions run one by one do: read through operand a, b,
// both or neither, a register written twice in a row, a compare reading
// the result, a constant handed on.
func TestFloatResultHandedOn(t *testing.T) {
	f := func(op Opcode, a, b, c uint8) []byte { return enc(op, a, b, c) }
	for _, c := range []struct {
		name string
		seq  []byte
		ops  []Opcode
		want map[int]float64
		flag bool
	}{
		{"through a", code(f(OpDivF64, 1, 2, 3), f(OpAddF64, 3, 1, 4), f(OpMulF64, 4, 2, 5)),
			[]Opcode{OpDivF64, OpAddF64, OpMulF64}, map[int]float64{3: 2, 4: 8, 5: 24}, false},
		{"through b", code(f(OpDivF64, 1, 2, 3), f(OpSubF64, 1, 3, 4), f(OpDivF64, 2, 4, 5)),
			[]Opcode{OpDivF64, OpSubF64, OpDivF64}, map[int]float64{3: 2, 4: 4, 5: 0.75}, false},
		{"through both", code(f(OpAddF64, 1, 2, 3), f(OpMulF64, 3, 3, 4), f(OpSubF64, 4, 4, 5)),
			[]Opcode{OpAddF64, OpMulF64, OpSubF64}, map[int]float64{3: 9, 4: 81, 5: 0}, false},
		{"neither", code(f(OpDivF64, 1, 2, 3), f(OpAddF64, 1, 2, 4), f(OpMulF64, 1, 1, 5)),
			[]Opcode{OpDivF64, OpAddF64, OpMulF64}, map[int]float64{3: 2, 4: 9, 5: 36}, false},
		{"its own source", code(f(OpAddF64, 1, 1, 1), f(OpMulF64, 1, 2, 1), f(OpSubF64, 1, 2, 2)),
			[]Opcode{OpAddF64, OpMulF64, OpSubF64}, map[int]float64{1: 36, 2: 33}, false},
		{"written twice", code(f(OpMulF64, 1, 2, 3), f(OpAddF64, 2, 2, 3), f(OpSubF64, 3, 1, 4)),
			[]Opcode{OpMulF64, OpAddF64, OpSubF64}, map[int]float64{3: 6, 4: 0}, false},
		{"compared through a", code(f(OpMulF64, 1, 2, 3), f(OpGtF64, 3, 1, 0), e24(OpDjmpe, 20)),
			[]Opcode{OpMulF64, OpGtF64, OpDjmpe}, map[int]float64{3: 18}, true},
		{"compared through b", code(f(OpSubF64, 1, 1, 3), f(OpEqF64, 9, 3, 0), e24(OpDjmpne, 20)),
			[]Opcode{OpSubF64, OpEqF64, OpDjmpne}, map[int]float64{3: 0}, true},
		{"a constant", code(e16(OpLoadF64, 3, 7), f(OpAddF64, 1, 3, 4)),
			[]Opcode{OpLoadF64, OpAddF64}, map[int]float64{3: 7, 4: 13}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Program{Code: code(e16(OpLoadF64, 1, 6), e16(OpLoadF64, 2, 3), c.seq, enc(OpHlt, 0, 0, 0))}
			o, m := sameBothWays(t, p, Config{})
			wantOp(t, m, 2, c.ops...)
			for r, v := range c.want {
				if got := math.Float64frombits(o.fregs[r]); got != v {
					t.Errorf("f%d = %v, want %v", r, got, v)
				}
			}
			if o.flag != c.flag || o.err != "" {
				t.Errorf("flag %v, want %v; err %q", o.flag, c.flag, o.err)
			}
		})
	}
}

// TestFusedAppend: a superinstruction may span the old code and appended
// code, and appending must not leave a stale fused entry behind.
func TestFusedAppend(t *testing.T) {
	m, err := New(Config{Budget: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(&Program{Code: code(e16(OpLoad, 1, 5), enc(OpInc, 0, 0, 0), enc(OpNeq, 0, 1, 0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(); err != nil {
		t.Fatal(err)
	}
	wantOp(t, m, 1, OpInc)
	if err := m.Append(&Program{Code: code(e24(OpDjmpe, 4))}); err != nil {
		t.Fatal(err)
	}
	wantOp(t, m, 1, OpInc, OpNeq, OpDjmpe)
	wantOp(t, m, 2, OpNeq, OpDjmpe)
	m.pc = 4
	if _, err := m.Run(); err != nil || m.Registers()[0] != 5 {
		t.Fatalf("after Append: $0 = %d, %v", m.Registers()[0], err)
	}
}

// TestChainAcrossAppend: a jump to the end of the code, or to its last
// instruction, cannot chain when it is loaded (the target's two
// instructions are not all there). After an Append it chains if it is one
// of the last instructions, which predecode decodes again, and otherwise
// stays unchained; either way the program runs as loaded whole.
func TestChainAcrossAppend(t *testing.T) {
	// 0: load $1 #3 / 4: djmp @end, right before the end or three NOPs
	// before it, then appended a loop that counts $0 to 3.
	for _, c := range []struct {
		name  string
		nops  int
		chain bool
	}{{"jump among the last three", 0, true}, {"jump further back", 3, false}} {
		t.Run(c.name, func(t *testing.T) {
			head := code(e16(OpLoad, 1, 3))
			end := uint32(len(head) + 4 + 4*c.nops)
			head = append(head, e24(OpDjmp, end)...)
			for range c.nops {
				head = append(head, enc(OpNop, 0, 0, 0)...)
			}
			// The loop: end: lt $0 $1 / djmpne @out / inc $0 / djmp @end / out: hlt
			more := code(enc(OpLt, 0, 1, 0), e24(OpDjmpne, end+16), enc(OpInc, 0, 0, 0), e24(OpDjmp, end), enc(OpHlt, 0, 0, 0))
			whole, err := New(Config{Budget: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if err := whole.Load(&Program{Code: code(head, more)}); err != nil {
				t.Fatal(err)
			}
			wantChain(t, whole, 1, []Opcode{OpDjmp}, []Opcode{OpLt, OpDjmpne})
			want := runToEnd(whole, nil, 1)

			m, err := New(Config{Budget: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Load(&Program{Code: head}); err != nil {
				t.Fatal(err)
			}
			wantOp(t, m, 1, OpDjmp)
			if err := m.Append(&Program{Code: more}); err != nil {
				t.Fatal(err)
			}
			if c.chain {
				wantChain(t, m, 1, []Opcode{OpDjmp}, []Opcode{OpLt, OpDjmpne})
			} else {
				wantOp(t, m, 1, OpDjmp)
			}
			m.pc = 0
			if got := runToEnd(m, nil, 1); got != want {
				t.Fatalf("appended:\n%v\nloaded whole:\n%v", got, want)
			}
			if want.regs[0] != 3 || want.err != "" {
				t.Fatalf("the loop ran wrong: %v", want)
			}
		})
	}
}

// TestAppendDecodesAsLoad: a program appended a few instructions at a
// time, as the REPL does line by line, is pre-decoded exactly as the same
// program loaded whole: no stale entry, the sentinel at the end, fusion
// across every boundary. (Its jumps go back, to 0: TestChainAcrossAppend
// has the one exception, a jump to the end.) Half the VMs first load and clear a larger
// program, so that predecode reuses capacity holding old entries.
func TestAppendDecodesAsLoad(t *testing.T) {
	ops := [][]byte{
		e16(OpLoad, 1, 7), enc(OpAdd, 1, 2, 3), enc(OpSub, 1, 2, 3), enc(OpMov, 3, 4, 0),
		enc(OpInc, 4, 0, 0), enc(OpDec, 4, 0, 0), enc(OpMul, 5, 4, 1), enc(OpEq, 1, 2, 0),
		enc(OpLt, 1, 5, 0), e24(OpDjmpe, 0), e24(OpDjmpne, 0), enc(OpRet, 0, 0, 0),
	}
	next := uint32(1)
	pick := func() []byte { // a fixed sequence, the same on every run
		next = next*1103515245 + 12345
		return ops[(next>>16)%uint32(len(ops))]
	}
	for trial := range 200 {
		m, err := New(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if trial%2 == 0 {
			var big [][]byte
			for range 300 {
				big = append(big, pick())
			}
			if err := m.Load(&Program{Code: code(big...)}); err != nil {
				t.Fatal(err)
			}
			m.ClearProgram()
		}
		var all []byte
		for step := range 30 {
			var chunk [][]byte
			for range 1 + step%4 {
				chunk = append(chunk, pick())
			}
			p := &Program{Code: code(chunk...)}
			if err := m.Append(p); err != nil {
				t.Fatal(err)
			}
			all = append(all, p.Code...)
			if want := predecode(all, 0, nil); !slices.Equal(m.insts, want) {
				t.Fatalf("trial %d, after append %d: the entries differ from those of a whole load", trial, step)
			}
		}
	}
}

// TestInterruptFusedLoop: an endless loop made of one superinstruction or
// chain is still interrupted, by Abort and by a context, and resumes where
// it stopped.
func TestInterruptFusedLoop(t *testing.T) {
	loops := map[string]struct {
		p      *Program
		pc     int // where an interrupt stops it: the loop's jump target
		op     []Opcode
		chain  int      // the instruction that runs as a chain ...
		target []Opcode // ... of op and these, if not nil
	}{
		// 0: inc $0 / 4: eq $2 $2 / 8: djmpe @0
		"inc eq djmpe": {p: &Program{Code: code(enc(OpInc, 0, 0, 0), enc(OpEq, 2, 2, 0), e24(OpDjmpe, 0))}, pc: 0, op: []Opcode{OpInc, OpEq, OpDjmpe}},
		// 0: load $1 #1 / 4: gte $1 $2 / 8: djmpe @0
		"load gte djmpe": {p: &Program{Code: code(e16(OpLoad, 1, 1), enc(OpGte, 1, 2, 0), e24(OpDjmpe, 0))}, pc: 0, op: []Opcode{OpLoad, OpGte, OpDjmpe}},
		// 0: load $3 #7 / 4: mul / 8: add / 12: mod / 16: djmp @4
		"mul add mod": {p: &Program{Code: code(e16(OpLoad, 3, 7), enc(OpMul, 0, 2, 0), enc(OpAdd, 0, 1, 0), enc(OpMod, 0, 3, 0), e24(OpDjmp, 4))}, pc: 4, op: []Opcode{OpMul, OpAdd, OpMod}},
		// A chain taken to itself: 0: eq $2 $2 / 4: djmpe @0
		"eq djmpe then eq djmpe": {p: &Program{Code: code(enc(OpEq, 2, 2, 0), e24(OpDjmpe, 0))}, pc: 0,
			op: []Opcode{OpEq, OpDjmpe}, target: []Opcode{OpEq, OpDjmpe}},
		// A jump to a test that falls through to it:
		// 0: lt $2 $2 / 4: djmpe @12 / 8: djmp @0 / 12: hlt
		"djmp then lt djmpe": {p: &Program{Code: code(enc(OpLt, 2, 2, 0), e24(OpDjmpe, 12), e24(OpDjmp, 0), enc(OpHlt, 0, 0, 0))}, pc: 0,
			op: []Opcode{OpDjmp}, chain: 2, target: []Opcode{OpLt, OpDjmpe}},
	}
	for name, c := range loops {
		t.Run(name, func(t *testing.T) {
			m, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Load(c.p); err != nil {
				t.Fatal(err)
			}
			if c.target != nil {
				wantChain(t, m, c.chain, c.op, c.target)
			} else {
				wantOp(t, m, c.pc/4, c.op...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			// A loop that never looks at the context would hang the test:
			// bound the wait, and stop such a loop with Abort at the end.
			ran := make(chan error, 1)
			go func() { _, err := m.RunContext(ctx); ran <- err }()
			select {
			case err = <-ran:
			case <-time.After(5 * time.Second):
				m.Abort() // ran is buffered: the goroutine ends if the loop ever stops
				t.Fatal("RunContext did not stop at its context's deadline")
			}
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("RunContext = %v", err)
			}
			var f *Fault
			if !errors.As(err, &f) || f.PC != c.pc || m.PC() != c.pc {
				t.Fatalf("fault %v, pc %d; want pc %d", err, m.PC(), c.pc)
			}
			done := make(chan error)
			go func() { _, err := m.Run(); done <- err }()
			time.Sleep(10 * time.Millisecond)
			m.Abort()
			select {
			case err := <-done:
				if !errors.Is(err, ErrInterrupted) {
					t.Fatalf("Run after Abort = %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Abort did not stop the loop")
			}
			if m.Steps() == 0 {
				t.Error("no steps")
			}
		})
	}
}

// FuzzFusion: any verified code does the same fused and unfused.
func FuzzFusion(f *testing.F) {
	f.Add([]byte("\n\x00"), fibProgramInternal(6).Code)
	f.Add([]byte{}, code(e16(OpLoad, 1, 5), enc(OpInc, 0, 0, 0), enc(OpNeq, 0, 1, 0), e24(OpDjmpe, 4), enc(OpPush, 0, 0, 0), enc(OpPush, 1, 0, 0), enc(OpPop, 2, 0, 0), enc(OpPop, 3, 0, 0)))
	f.Add([]byte{}, code(enc(OpMul, 0, 2, 0), enc(OpAdd, 0, 1, 0), enc(OpMod, 0, 3, 0), enc(OpInc, 1, 0, 0), enc(OpLt, 1, 4, 0), e24(OpDjmpe, 0)))
	f.Add([]byte{}, code(e24(OpCall, 8), enc(OpHlt, 0, 0, 0), enc(OpDec, 0, 0, 0), e24(OpCall, 8), enc(OpMov, 0, 1, 0), enc(OpRet, 0, 0, 0)))
	// A tak-like routine: a base case that returns (compare, branch, MOV,
	// RET), runs of PUSH and POP, set-up before CALL.
	f.Add([]byte{}, code(e16(OpLoad, 0, 6), e16(OpLoad, 1, 4), e16(OpLoad, 2, 2), e24(OpCall, 20), enc(OpHlt, 0, 0, 0),
		enc(OpLt, 1, 0, 0), e24(OpDjmpe, 36), enc(OpMov, 2, 3, 0), enc(OpRet, 0, 0, 0),
		enc(OpPush, 0, 0, 0), enc(OpPush, 1, 0, 0), enc(OpPush, 2, 0, 0), enc(OpDec, 0, 0, 0), e24(OpCall, 20),
		enc(OpPop, 2, 0, 0), enc(OpPop, 1, 0, 0), enc(OpPop, 0, 0, 0), enc(OpDec, 1, 0, 0), e24(OpCall, 20), enc(OpRet, 0, 0, 0)))
	// A float loop: an expression of three parts, a compare and branch
	// after float arithmetic, pairs of float operations.
	f.Add([]byte{}, code(e16(OpLoadF64, 1, 2), e16(OpLoadF64, 2, 40), e16(OpLoad, 3, 30),
		enc(OpMulF64, 0, 0, 3), enc(OpAddF64, 3, 1, 0), enc(OpDivF64, 0, 1, 4),
		enc(OpAddF64, 0, 1, 0), enc(OpGtF64, 0, 2, 0), e24(OpDjmpe, 52),
		enc(OpSubF64, 0, 4, 5), e16(OpLoadF64, 6, 1), enc(OpDec, 3, 0, 0), e16(OpLoad, 4, 0), enc(OpNeq, 3, 4, 0), e24(OpDjmpe, 12),
		enc(OpHlt, 0, 0, 0)))
	// Bit operations: a copy shifted and combined (MOV SHL XOR), masks.
	f.Add([]byte{}, code(e16(OpLoad, 0, 12345), e16(OpLoad, 5, 1000), e16(OpLoad, 6, 0x7fff),
		enc(OpMov, 0, 1, 0), enc(OpShl, 1, 5, 0), enc(OpXor, 0, 1, 0), enc(OpAnd, 0, 6, 0),
		enc(OpMov, 0, 1, 0), enc(OpShr, 1, 7, 0), enc(OpOr, 0, 1, 2), enc(OpNot, 2, 3, 0),
		enc(OpDec, 5, 0, 0), enc(OpNeq, 5, 4, 0), e24(OpDjmpe, 12), enc(OpHlt, 0, 0, 0)))
	// Chains: a while loop (the test at its head, DEC then DJMP back to
	// it), float tests each taken to the next, a test taken to itself.
	f.Add([]byte{}, code(e16(OpLoad, 0, 9), e16(OpLoad, 1, 0), e16(OpLoadF64, 2, 5), e16(OpLoadF64, 3, 1),
		enc(OpGt, 0, 1, 0), e24(OpDjmpne, 56),
		enc(OpLtF64, 2, 3, 0), e24(OpDjmpne, 36), enc(OpSubF64, 2, 3, 2),
		enc(OpGtF64, 2, 3, 0), e24(OpDjmpne, 48), enc(OpAddF64, 2, 3, 2),
		enc(OpDec, 0, 0, 0), e24(OpDjmp, 16),
		enc(OpEq, 0, 1, 0), e24(OpDjmpne, 56), enc(OpHlt, 0, 0, 0)))
	f.Fuzz(func(t *testing.T, ro, c []byte) {
		p := &Program{ROData: ro, Code: c}
		if Verify(p) != nil {
			return
		}
		sameBothWaysFrom(t, p, Config{Budget: 5000, HeapLimit: 1 << 12, StackLimit: 64}, distinctRegisters)
	})
}

// distinctRegisters gives every register a value of its own (small, so
// that some are heap addresses and jump targets), and the float registers
// values of their own, NaN and the infinities among them: a part that reads
// the wrong register, or a value handed on to the wrong operand, then
// shows in the outcome, where registers that all start at 0 hide it.
func distinctRegisters(m *VM) {
	for i := range 32 {
		m.SetRegister(i, int32(4*i-8))
		m.SetFloatRegister(i, float64(i)-2.5)
	}
	m.SetFloatRegister(29, math.NaN())
	m.SetFloatRegister(30, math.Inf(1))
	m.SetFloatRegister(31, math.Copysign(0, -1))
}

// The superinstructions and chains genexec numbers are the xops right
// after opEnd, one each, in a run with no gap: genexec writes its first
// number itself (it cannot import this package), and a case numbered over
// opEnd, or past what exec switches on, would run the wrong body.
func TestSuperinstructionNumbers(t *testing.T) {
	seen := map[xop]bool{}
	for seq, x := range superinstructions {
		if x <= opEnd || seen[x] {
			t.Fatalf("%v has number %d: at or below opEnd (%d), or taken twice", seq, x, opEnd)
		}
		seen[x] = true
	}
	for seq, x := range chains {
		if x <= opEnd || seen[x] {
			t.Fatalf("chain %v has number %d: at or below opEnd (%d), or taken twice", seq, x, opEnd)
		}
		seen[x] = true
	}
	for key, x := range handOns {
		if x <= opEnd || seen[x] {
			t.Fatalf("hand-on case %#x has number %d: at or below opEnd (%d), or taken twice", key, x, opEnd)
		}
		seen[x] = true
		if _, ok := superinstructions[handOnSeq(key)]; !ok {
			t.Errorf("hand-on case %d is of %v, which is no superinstruction", x, handOnSeq(key))
		}
	}
	for x := opEnd + 1; x <= opEnd+xop(len(seen)); x++ {
		if !seen[x] {
			t.Fatalf("no superinstruction numbered %d: the numbers from %d have a gap", x, opEnd+1)
		}
	}
}

// The layout of the programs of TestEverySuperinstruction and
// TestEveryChain: a prologue that sets registers, the heap and the stack
// up, the sequence under test at seqAt, then HLT and RET.
const (
	seqAt = 108                // byte address of the sequence
	hltAt = seqAt + 4*maxParts // the HLT after it
	retAt = hltAt + 4          // a RET, the target of CALL
	first = 7                  // the parts' chain starts at $7 and f7
	mixer = 6                  // the second operand of arithmetic: $6 and f6
	self  = 0xff               // a compare's second operand: the chain's register
)

// partOperands returns the encoding of op as the part that reads the
// register cur, and the register the next part reads, so that each part
// depends on the part before it. against is the second operand of a
// compare, jumpTo the byte address a direct jump goes to.
func partOperands(op Opcode, cur, against uint8, jumpTo uint32) (in []byte, next uint8) {
	info, _ := op.Info()
	if against == self {
		against = cur
	}
	switch op {
	case OpCall:
		return e24(op, retAt), cur
	case OpLoadm:
		return enc(op, 3, cur+1, 0), cur + 1 // $3 is a heap address
	case OpSetm:
		return enc(op, 3, cur, 0), cur
	case OpJmp, OpJmpe:
		return enc(op, 5, 0, 0), cur // $5 holds the HLT's address
	case OpDiv, OpMod, OpDivF64:
		return enc(op, cur, 2, cur+1), cur + 1 // $2 and f2 are 3
	case OpRem:
		return enc(op, cur+1, 0, 0), cur + 1
	}
	switch info.Shape {
	case ShapeAddr24:
		return e24(op, jumpTo), cur
	case ShapeImm24, ShapeData24:
		return e24(op, 2), cur
	case ShapeRImm16:
		return e16(op, cur+1, uint16(cur)), cur + 1
	case ShapeRShift:
		return enc(op, cur, 3, 0), cur
	case ShapeR: // INC, DEC, PUSH, POP
		return enc(op, cur, 0, 0), cur
	case ShapeRR:
		if slices.Contains(cmps, op) || slices.Contains(floatCmps, op) {
			return enc(op, cur, against, 0), cur
		}
		return enc(op, cur, cur+1, 0), cur + 1 // MOV, NOT, ITOF, FTOI
	case ShapeRRR:
		return enc(op, cur, mixer, cur+1), cur + 1
	}
	return enc(op, 0, 0, 0), cur
}

// everyPrologue sets up what partOperands relies on. $11 is MaxInt32 and
// $12 MinInt32, f11 is +Inf and f12 -Inf. The chain's registers after the
// first hold values of their own, so that a part that does not write
// shows.
func everyPrologue(t *testing.T) []byte {
	t.Helper()
	prologue := code(
		e16(OpLoad, 1, 7), e16(OpLoad, 2, 3), e16(OpLoad, 3, 8), e16(OpLoad, 4, 64),
		enc(OpAloc, 4, 0, 0), e16(OpLoad, 5, hltAt),
		enc(OpPush, 1, 0, 0), enc(OpPush, 2, 0, 0), enc(OpPush, 4, 0, 0),
		e16(OpLoad, mixer, 12345), e16(OpLoad, first, 1234),
		e16(OpLoad, first+1, 101), e16(OpLoad, first+2, 102), e16(OpLoad, first+3, 103),
		e16(OpLoadF64, first+1, 101), e16(OpLoadF64, first+2, 102), e16(OpLoadF64, first+3, 103),
		e16(OpLoad, 11, 0x7fff), e16(OpLui, 11, 0xffff), enc(OpNot, 11, 12, 0),
		e16(OpLoadF64, 2, 3), e16(OpLoadF64, mixer, 7), e16(OpLoadF64, first, 5),
		e16(OpLoadF64, 13, 1), enc(OpDivF64, 13, 0, 11), enc(OpSubF64, 0, 11, 12),
		e24(OpCloop, 2))
	if len(prologue) != seqAt {
		t.Fatalf("prologue is %d bytes, want %d", len(prologue), seqAt)
	}
	return prologue
}

// sequence encodes ops as parts that each read the register the part
// before wrote, starting at $first, compares against against.
func sequence(ops []Opcode, cur, against uint8, jumpTo uint32) (body []byte, next uint8) {
	for _, op := range ops {
		var in []byte
		in, cur = partOperands(op, cur, against, jumpTo)
		body = append(body, in...)
	}
	return body, cur
}

// unpad is the opcodes of a padded sequence.
func unpad(seq []Opcode) []Opcode {
	var ops []Opcode
	for _, op := range seq {
		if op != opNone {
			ops = append(ops, op)
		}
	}
	return ops
}

// TestEverySuperinstruction runs every superinstruction of the table on
// operands that let each part do its work (a heap address inside the heap,
// a non-zero divisor, entries on the stack, valid jump targets) and
// requires the same outcome as the instructions run one by one. The parts
// are chained: each reads the register the part before it wrote, so a case
// that runs a part on another part's entry, in another order, or not at
// all ends differently. Each sequence runs three times, its compares
// against the register itself, a larger and a smaller value, so that every
// compare is both true and false and every branch both taken and not.
func TestEverySuperinstruction(t *testing.T) {
	prologue := everyPrologue(t)
	for seq := range superinstructions {
		ops := unpad(seq[:])
		name := ""
		for _, op := range ops {
			name += op.String() + "_"
		}
		t.Run(name, func(t *testing.T) {
			// Against itself, the largest and the smallest value.
			for _, against := range []uint8{self, 11, 12} {
				body, _ := sequence(ops, first, against, hltAt)
				for len(body) < 4*maxParts {
					body = append(body, enc(OpNop, 0, 0, 0)...)
				}
				p := &Program{Code: code(prologue, body, enc(OpHlt, 0, 0, 0), enc(OpRet, 0, 0, 0))}
				_, m := sameBothWays(t, p, Config{Budget: 1000})
				wantOp(t, m, seqAt/4, ops...)
			}
		})
	}
}

// TestEveryChain runs every chain the same way: its jump's sequence at
// seqAt, then a HLT where it falls through, then at toAt the two
// instructions of its target and HLTs where they fall through and where
// their branch goes. The compares of both halves run against the register
// itself, a larger and a smaller value, in all nine pairings, so that each
// jump is taken and not with the other either way; the HLT the program
// stops at, its registers and steps must be those of the instructions run
// one by one.
func TestEveryChain(t *testing.T) {
	const (
		toAt     = hltAt + 4 // the target's instructions
		toHltAt  = toAt + 4*chainTo
		branchAt = toHltAt + 4 // where the target's branch goes
	)
	prologue := everyPrologue(t)
	for key := range chains {
		from, to := unpad(key[:maxParts]), key[maxParts:]
		name := ""
		for _, op := range from {
			name += op.String() + "_"
		}
		name += "then"
		for _, op := range to {
			name += "_" + op.String()
		}
		t.Run(name, func(t *testing.T) {
			for _, againstFrom := range []uint8{self, 11, 12} {
				for _, againstTo := range []uint8{self, 11, 12} {
					body, cur := sequence(from, first, againstFrom, toAt)
					for len(body) < 4*maxParts {
						body = append(body, enc(OpNop, 0, 0, 0)...)
					}
					target, _ := sequence(to, cur, againstTo, branchAt)
					p := &Program{Code: code(prologue, body, enc(OpHlt, 0, 0, 0), target,
						enc(OpHlt, 0, 0, 0), enc(OpHlt, 0, 0, 0))}
					_, m := sameBothWays(t, p, Config{Budget: 1000})
					wantChain(t, m, seqAt/4, from, to[:])
				}
			}
		})
	}
}

// TestBrokenEntryIsAFault: the loop reads entries without bounds checks,
// trusting predecode and Verify; if that trust were ever broken (here by
// hand: a direct jump far outside the code), the run ends in a Fault and
// the VM stays usable, as after any internal error, instead of ending the
// process.
func TestBrokenEntryIsAFault(t *testing.T) {
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Program{Code: code(e24(OpDjmp, 4), enc(OpHlt, 0, 0, 0))}
	loadAs(t, m, p, false)
	m.insts[0].imm = math.MinInt32
	if code, err := m.Run(); code != 1 || !errors.Is(err, ErrInternal) {
		t.Fatalf("Run = %d, %v; want 1, ErrInternal", code, err)
	}
	loadAs(t, m, &Program{Code: code(e16(OpLoad, 0, 7))}, false)
	if _, err := m.Run(); err != nil || m.regs[0] != 7 {
		t.Fatalf("Run after the fault: %v, $0 = %d", err, m.regs[0])
	}
}
