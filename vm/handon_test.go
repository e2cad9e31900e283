package vm

import (
	"bytes"
	"flag"
	"math"
	"slices"
	"strings"
	"testing"
)

var handOnAll = flag.Bool("handon.all", false, "TestHandOnEveryRegisterChoice: every register choice, not a sample")

var (
	handOnGivers = []Opcode{OpLoadF64, OpAddF64, OpSubF64, OpMulF64, OpDivF64}
	handOnTakers = []Opcode{OpAddF64, OpSubF64, OpMulF64, OpDivF64,
		OpEqF64, OpNeqF64, OpGtF64, OpGteF64, OpLtF64, OpLteF64}
	handOnBranches = []Opcode{OpDjmpe, OpDjmpne, OpJmpe}
)

// handOnSeqs returns the superinstructions made only of float arithmetic,
// float compares and branches in which at least one part hands its result
// to the next, and how many such links they have in all.
func handOnSeqs() (seqs [][]Opcode, links int) {
	for key := range superinstructions {
		var seq []Opcode
		for _, op := range key {
			if op != opNone {
				seq = append(seq, op)
			}
		}
		ok, n := true, 0
		for j, op := range seq {
			if !slices.Contains(handOnGivers, op) && !slices.Contains(handOnTakers, op) && !slices.Contains(handOnBranches, op) {
				ok = false
			}
			if j > 0 && slices.Contains(handOnGivers, seq[j-1]) && slices.Contains(handOnTakers, op) {
				n++
			}
		}
		if ok && n > 0 {
			seqs = append(seqs, seq)
			links += n
		}
	}
	slices.SortFunc(seqs, func(a, b []Opcode) int { return slices.Compare(a, b) })
	return seqs, links
}

// registerChoices is how many ways the register operands of seq (slots
// of them in each part) can each name one of three registers.
func registerChoices(seq []Opcode, slots func(Opcode) int) int {
	n := 1
	for _, op := range seq {
		for range slots(op) {
			n *= 3
		}
	}
	return n
}

// registerChoice is the k-th of those ways: k spread over the operands,
// base 3, each part's in its entry.
func registerChoice(seq []Opcode, slots func(Opcode) int, k int) [][3]uint8 {
	regs := make([][3]uint8, len(seq))
	for j, op := range seq {
		for s := range slots(op) {
			regs[j][s] = uint8(k % 3)
			k /= 3
		}
	}
	return regs
}

// handOnValues are the starting values of f0, f1, f2 (and f3, never an
// operand), cycled through by case.
var handOnValues = [][4]float64{
	{6, 3, math.Copysign(0, -1), 5},
	{math.NaN(), math.Inf(1), math.Inf(-1), 5},
	{1e-17, 0, math.Copysign(0, -1), 5},
	{epsilon, 0, 1e308, 5},
	{-2, 1.5, 1e308, 5},
	{math.Float64frombits(0x7ff8000000000123), -0.5, 7, 5}, // a NaN with a payload
	{2, 2 + 4e-16, 2 - 1e-16, 5},
	{math.Inf(1), math.Inf(1), -1e-300, 5},
}

var handOnImms = []uint16{0, 7, 65535}

// handOnRunner runs programs on two VMs, one fused, one not.
type handOnRunner struct {
	fused, plain *VM
}

func newHandOnRunner(t testing.TB, cfg Config) *handOnRunner {
	r := &handOnRunner{}
	var err error
	if r.fused, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if r.plain, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

// run loads p on the fused VM or the plain one, starts the float
// registers at fregs and the integer ones at regs (the rest at 0), and
// runs it to its end.
func (r *handOnRunner) run(t testing.TB, p *Program, fregs []float64, regs []int32, fuse bool) outcome {
	t.Helper()
	m := r.plain
	if fuse {
		m = r.fused
	}
	loadAs(t, m, p, fuse)
	m.fregs = [32]float64{}
	copy(m.fregs[:], fregs)
	m.regs = [32]int32{}
	copy(m.regs[:], regs)
	return runToEnd(m, nil, 4)
}

// handOnProgram lays out
//
//	0: LOAD $0 #2 (passes)   4: LOAD $5 #hlt   8: NOP
//	12: the sequence
//	DEC $0 / NEQ $0 $9 / DJMPE into the sequence at part entry / HLT
//
// regs holds each part's register operands, imms each LOADF64's constant.
func handOnProgram(seq []Opcode, regs [][3]uint8, imms []uint16, entry int) *Program {
	const seqAt = 12
	hlt := seqAt + 4*len(seq) + 12
	var parts [][]byte
	for j, op := range seq {
		switch {
		case op == OpLoadF64:
			parts = append(parts, e16(op, regs[j][0], imms[j]))
		case op == OpJmpe:
			parts = append(parts, enc(op, 5, 0, 0))
		case slices.Contains(handOnBranches, op):
			parts = append(parts, e24(op, uint32(hlt)))
		default:
			parts = append(parts, enc(op, regs[j][0], regs[j][1], regs[j][2]))
		}
	}
	return &Program{Code: code(e16(OpLoad, 0, 2), e16(OpLoad, 5, uint16(hlt)), enc(OpNop, 0, 0, 0),
		code(parts...),
		enc(OpDec, 0, 0, 0), enc(OpNeq, 0, 9, 0), e24(OpDjmpe, uint32(seqAt+4*entry)), enc(OpHlt, 0, 0, 0))}
}

// operandSlots is how many float register operands op has.
func operandSlots(op Opcode) int {
	switch {
	case op == OpLoadF64:
		return 1
	case slices.Contains(handOnBranches, op):
		return 0
	case slices.Contains(floatCmps, op):
		return 2
	}
	return 3
}

// TestHandOnEveryRegisterChoice runs every superinstruction in which a
// float instruction hands its result on to the next part (genexec's
// hand-on), fused and unfused, for every choice of its float register
// operands among f0, f1 and f2 (so that each operand names the register
// just written or not, and operands and destinations collide in every
// way; by default every 13th choice, -short every 61st, -handon.all each:
// 5.2 million programs, about 20 s), on float values that include NaN,
// both zeros, both infinities and differences below EQF64's epsilon, two
// sets of values per choice. The run goes through the sequence twice,
// the second time jumping into it at its start or at a later part, and
// again with a budget that stops it at the jump back. Fused and unfused
// must end with the same outcome (floatBits: any NaN equals any NaN).
func TestHandOnEveryRegisterChoice(t *testing.T) {
	seqs, links := handOnSeqs()
	t.Logf("%d superinstructions hand a float on, %d links in all", len(seqs), links)
	if len(seqs) == 0 {
		t.Fatal("no superinstruction hands a float on")
	}
	cases := 0
	configs := []Config{{}, {Budget: 3}}
	step := 13
	switch {
	case *handOnAll:
		step = 1
	case testing.Short():
		configs, step = configs[:1], 61
	}
	for _, cfg := range configs {
		r := newHandOnRunner(t, cfg)
		for _, seq := range seqs {
			failed := false
			for k := 0; k < registerChoices(seq, operandSlots) && !failed; k += step {
				regs := registerChoice(seq, operandSlots, k)
				imms := make([]uint16, len(seq))
				for j := range seq {
					imms[j] = handOnImms[(k+j)%len(handOnImms)]
				}
				entry := k % len(seq)
				p := handOnProgram(seq, regs, imms, entry)
				for v := range 2 {
					start := handOnValues[(2*k+v)%len(handOnValues)]
					plain := r.run(t, p, start[:], nil, false)
					fused := r.run(t, p, start[:], nil, true)
					cases++
					if k == 0 && v == 0 {
						wantOp(t, r.fused, 3, seq...)
					}
					if plain != fused {
						t.Errorf("%v regs %v imms %v entry %d start %v budget %d:\nplain %v\nfused %v",
							seq, regs, imms, entry, start, cfg.Budget, plain, fused)
						failed = true
						break
					}
				}
			}
		}
	}
	t.Logf("%d programs run both ways", cases)
}

// intHandOnValues are the starting values of $0, $1 and $2: heap
// addresses inside the 64-byte heap and past it, shift results that
// overflow, signs.
var intHandOnValues = [][3]int32{
	{0, 4, 60},
	{-1, math.MinInt32, math.MaxInt32},
	{3, 61, 8},
	{1, -4, 56},
	{0x12345678, 12, 0},
}

// intHandOnShifts are the shift counts given to SHL and SHR (0 shifts by
// 16), cycled through by case.
var intHandOnShifts = []uint8{1, 5, 31, 0}

// intHandOnSlots is how many register operands op has.
func intHandOnSlots(op Opcode) int {
	info, _ := op.Info()
	switch info.Shape {
	case ShapeRR:
		return 2
	case ShapeRRR:
		return 3
	}
	return 1 // ShapeR, ShapeRShift, ShapeRImm16
}

// intHandOnProgram lays out
//
//	0: LOAD $7 #2   4: LOAD $8 #64   8: ALOC $8
//	12: PUSH $7, $8, then 1000 and 65535 (through $10), for POPs to take
//	36: the sequence
//	NOP (so that the sequence fuses with nothing after it)
//	DEC $7 / NEQ $7 $9 / DJMPE into the sequence at part entry / HLT
//
// regs holds each part's register operands, shifts each shift's count
// (and, times 4, each LOAD's constant).
func intHandOnProgram(seq []Opcode, regs [][3]uint8, shifts []uint8, entry int) *Program {
	var parts [][]byte
	for j, op := range seq {
		info, _ := op.Info()
		switch info.Shape {
		case ShapeRShift:
			parts = append(parts, enc(op, regs[j][0], shifts[j], 0))
		case ShapeRImm16:
			parts = append(parts, e16(op, regs[j][0], uint16(shifts[j])*4))
		case ShapeR:
			parts = append(parts, enc(op, regs[j][0], 0, 0))
		case ShapeRR:
			parts = append(parts, enc(op, regs[j][0], regs[j][1], 0))
		default:
			parts = append(parts, enc(op, regs[j][0], regs[j][1], regs[j][2]))
		}
	}
	return &Program{Code: code(e16(OpLoad, 7, 2), e16(OpLoad, 8, 64), enc(OpAloc, 8, 0, 0),
		enc(OpPush, 7, 0, 0), enc(OpPush, 8, 0, 0),
		e16(OpLoad, 10, 1000), enc(OpPush, 10, 0, 0), e16(OpLoad, 10, 65535), enc(OpPush, 10, 0, 0),
		code(parts...), enc(OpNop, 0, 0, 0),
		enc(OpDec, 7, 0, 0), enc(OpNeq, 7, 9, 0), e24(OpDjmpe, uint32(intSeqAt+4*entry)), enc(OpHlt, 0, 0, 0))}
}

// intSeqAt is where intHandOnProgram puts the sequence.
const intSeqAt = 36

// TestIntHandOnEveryRegisterChoice runs every superinstruction with a
// case that hands integer results on (genexec's handOnPatterns), fused and
// unfused, for every choice of its register operands among $0, $1 and $2:
// each operand names the register the part before wrote or not, and
// operands and destinations collide in every way, so predecode picks each
// hand-on case where it applies and the plain case elsewhere. Values
// include heap addresses inside and outside the heap, so LOADM and SETM
// both work and fault; the stack holds four values for POPs to take. The
// run goes through the sequence twice, the second time jumping into it at
// its start or at a later part, and again with a budget that stops it at
// the jump back. Fused and unfused must end with the same outcome, heap
// and stack, and every hand-on case must have been picked.
func TestIntHandOnEveryRegisterChoice(t *testing.T) {
	seqs := map[[maxParts]Opcode]bool{}
	for key := range handOns {
		seqs[handOnSeq(key)] = true
	}
	if len(seqs) == 0 {
		t.Fatal("no superinstruction hands an integer on")
	}
	ran := map[xop]bool{}
	cases := 0
	for _, cfg := range []Config{{}, {Budget: 3}} {
		r := newHandOnRunner(t, cfg)
		for key := range seqs {
			seq := unpad(key[:])
			for k := range registerChoices(seq, intHandOnSlots) {
				regs := registerChoice(seq, intHandOnSlots, k)
				shifts := make([]uint8, len(seq))
				for j := range seq {
					shifts[j] = intHandOnShifts[(k+j)%len(intHandOnShifts)]
				}
				entry := k % len(seq)
				p := intHandOnProgram(seq, regs, shifts, entry)
				start := intHandOnValues[k%len(intHandOnValues)]
				plain := r.run(t, p, nil, start[:], false)
				fused := r.run(t, p, nil, start[:], true)
				cases++
				ran[r.fused.insts[intSeqAt/4].op] = true
				plainStack, fusedStack := r.plain.stack[:r.plain.sp], r.fused.stack[:r.fused.sp]
				if plain != fused || !bytes.Equal(r.plain.heap, r.fused.heap) || !slices.Equal(plainStack, fusedStack) {
					t.Fatalf("%v regs %v shifts %v entry %d start %v budget %d:\nplain %v\nfused %v\nheaps %v\n      %v\nstacks %v\n       %v",
						seq, regs, shifts, entry, start, cfg.Budget, plain, fused, r.plain.heap, r.fused.heap, plainStack, fusedStack)
				}
			}
		}
	}
	for key, f := range handOns {
		if !ran[f] {
			t.Errorf("the hand-on case %d (%v, key %#x) never ran", f, handOnSeq(key), key)
		}
	}
	t.Logf("%d programs run both ways, %d hand-on cases", cases, len(handOns))
}

// TestHandOnOperandsAreRegisters checks the operand letters of
// resultOperands and takenOperands against each instruction's shape:
// predecode compares those operands' bytes as register numbers, which
// they are only for register operands (a shift's count is decoded, an
// immediate is no register).
func TestHandOnOperandsAreRegisters(t *testing.T) {
	registers := map[Shape]string{ShapeR: "a", ShapeRR: "ab", ShapeRRR: "abc", ShapeRImm16: "a", ShapeRShift: "a"}
	for op := range 256 {
		letters := takenOperands[op]
		if w := resultOperands[op]; w != 0 {
			letters += string(w)
		}
		if letters == "" {
			continue
		}
		info, ok := Opcode(op).Info()
		if !ok {
			t.Errorf("opcode %d hands a result on or takes one, but is no instruction", op)
			continue
		}
		for _, o := range letters {
			if !strings.ContainsRune(registers[info.Shape], o) {
				t.Errorf("%v: operand %c is no register operand of its shape", Opcode(op), o)
			}
		}
	}
}
