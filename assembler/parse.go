package assembler

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/iridium-go/iridium/vm"
)

// Pass 1, parsing: each line of source becomes instructions, data and
// labels, with its errors at their LINE:COLUMN.

func (a *asm) parse(src string) {
	lx := NewLexer(src, a.errs.add)
	if a.line1 > 0 {
		lx.line = a.line1
	}
	var toks []Token // one line's tokens; every line reuses the buffer
	for !a.interrupted() {
		toks, a.cutTokens, a.cut = toks[:0], 0, false
		t := lx.Next()
		for ; t.Kind != TokEOF && t.Kind != TokNewline; t = lx.Next() {
			if a.errs.full() { // a line of garbage: its tokens are not kept
				return
			}
			if len(toks) == maxLineTokens {
				a.cutTokens++
				a.cut = a.cut || t.Kind == TokIllegal
				continue
			}
			toks = append(toks, t)
		}
		a.line(toks)
		if t.Kind == TokEOF {
			break
		}
	}
	a.noData()
}

// noData reports a data label that no data followed.
func (a *asm) noData() {
	if a.pending >= 0 {
		d := a.labels.at(a.pending)
		a.errorf(d.pos, "data label %q has no data after it", d.name)
		a.pending = -1
	}
}

// line parses one line's tokens. A TokIllegal token (garbage, which the
// lexer reported) holds the place of what it spoils, as go/parser's BadExpr
// does: the rest of the line is still checked, and nothing is said twice.
// Whether garbage stands for one operand, several or none cannot be told,
// so a line with garbage among its operands gets no count error.
func (a *asm) line(toks []Token) {
	if len(toks) == 0 {
		return
	}
	rest := toks
	var lbl *Token
	if rest[0].Kind == TokLabel {
		lbl, rest = &rest[0], rest[1:]
		if len(rest) > 0 && rest[0].Kind == TokLabel {
			a.errorf(rest[0].Pos, "only one label per line")
			rest = rest[1:]
		}
	}
	var head Token
	hasHead := len(rest) > 0
	if hasHead {
		head, rest = rest[0], rest[1:]
	}
	dir := ""
	if head.Kind == TokDirective {
		dir = strings.ToLower(head.Value)
	}

	// Section directives.
	if dir == "data" || dir == "code" {
		if lbl != nil {
			a.errorf(lbl.Pos, "a label cannot name the section directive %s", head.Text)
		}
		if len(rest) > 0 {
			a.errorf(rest[0].Pos, ".%s takes no operands", dir)
		}
		a.noData()
		a.section = sectionCode
		if dir == "data" {
			a.section = sectionData
		}
		return
	}

	if lbl != nil {
		if i, ok := a.define(*lbl); ok && a.labels.at(i).kind == SymbolData {
			if a.pending >= 0 {
				d := a.labels.at(a.pending)
				a.errorf(d.pos, "data label %q has no data of its own: label %q follows before any (write .ascii '' for data of no bytes)", d.name, lbl.Value)
			}
			a.pending = i
		}
	}
	if !hasHead {
		return
	}
	a.pending = -1 // whatever follows the label, it is not "nothing"

	if len(rest) > 0 && rest[0].Kind == TokIllegal && touches(head, rest[0]) {
		return // garbage inside the mnemonic ("lo~ad"): the lexer said so, once
	}
	prev := head // "add $1$2$3" reads as three operands, but it is a slip
	for _, t := range rest {
		if touches(prev, t) && prev.Kind != TokIllegal && t.Kind != TokIllegal {
			a.errorf(t.Pos, "no space before %v %s", t.Kind, t.Text)
		}
		prev = t
	}
	switch head.Kind {
	case TokIllegal: // in place of a mnemonic: nothing to check the operands against
	case TokIdent:
		a.instruction(head, rest)
	case TokDirective:
		a.directive(head, dir, rest)
	default:
		a.errorf(head.Pos, "expected a mnemonic or directive, found %s %s", head.Kind, head.Text)
	}
}

// touches reports whether b starts right where a ends, on its line.
func touches(a, b Token) bool {
	return a.Pos.Line == b.Pos.Line && a.Pos.Col+utf8.RuneCountInString(a.Text) == b.Pos.Col
}

// garbled reports whether garbage (TokIllegal) stands among args, the
// operands of the line being parsed, or among its tokens not kept.
func (a *asm) garbled(args []Token) bool {
	return a.cut || slices.ContainsFunc(args, func(t Token) bool { return t.Kind == TokIllegal })
}

// operands is how many operands the line being parsed has: args and the
// tokens not kept.
func (a *asm) operands(args []Token) int { return len(args) + a.cutTokens }

// define records a label defined in this chunk and returns its index in
// a.labels; false for a duplicate. A code label stands for the next
// instruction, a data label for the next byte of data.
func (a *asm) define(t Token) (int, bool) {
	if prev, ok := a.byName.find(&a.labels, t.Value); ok {
		a.errorf(t.Pos, "duplicate label %q (first defined at %s)", t.Value, a.labels.at(prev).pos)
		return 0, false
	}
	if _, ok := a.prior[t.Value]; ok {
		a.errorf(t.Pos, "duplicate label %q (already defined in this session)", t.Value)
		return 0, false
	}
	d := labelDef{name: t.Value, pos: t.Pos, kind: SymbolCode, at: a.code.len()}
	if a.section == sectionData {
		d.kind, d.value = SymbolData, a.roBase+a.roLen
	}
	i := a.labels.len()
	a.labels.add(d)
	a.byName.add(&a.labels, i)
	return i, true
}

func plural(n int, what string) string {
	switch n {
	case 0:
		return "no " + what + "s"
	case 1:
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// mnemonics maps lower-case mnemonics to opcodes. It is made on first use,
// so that a run that assembles nothing does not pay for it.
var mnemonics = sync.OnceValue(func() map[string]vm.Opcode {
	m := map[string]vm.Opcode{}
	for _, op := range vm.Opcodes() {
		info, _ := op.Info()
		m[strings.ToLower(info.Name)] = op
	}
	return m
})

// lookupMnemonic finds the opcode of a mnemonic in any case.
func lookupMnemonic(name string) (vm.Opcode, bool) {
	m := mnemonics()
	op, ok := m[name]
	if !ok {
		op, ok = m[strings.ToLower(name)]
	}
	return op, ok
}

func (a *asm) instruction(head Token, args []Token) {
	op, ok := lookupMnemonic(head.Value)
	if !ok {
		a.errorf(head.Pos, "unknown mnemonic %q", head.Value)
		a.registersAnywhere(args)
		return
	}
	info, _ := op.Info()
	if a.section != sectionCode {
		a.errorf(head.Pos, "instruction %s in the .data section", info.Name)
		a.registersAnywhere(args)
		return
	}
	in := instr{pos: head.Pos, ref: noRef, op: op, n: 1}
	maxN := info.Shape.NumOperands()
	minN := maxN
	if info.Shape == vm.ShapeRShift {
		minN = 1
	}
	if n := a.operands(args); n < minN || n > maxN {
		want := plural(maxN, "operand")
		if minN != maxN {
			want = fmt.Sprintf("%d or %d operands", minN, maxN)
		}
		if !a.garbled(args) {
			a.errorf(head.Pos, "%s takes %s, got %d", info.Name, want, n)
		}
		a.registersAnywhere(args)
		in.bad = true
	} else {
		for i, t := range args {
			if !a.operand(&in, info, i, t) {
				in.bad = true
			}
		}
	}
	a.addCode(in)
}

// addCode appends in to the code. Every instruction takes at least one
// word, so once the code holds as many as the 24-bit address space has
// room for, the next cannot fit whatever the layout: assembly stops there,
// as it does after maxErrors, instead of keeping every line of a file
// that can never load. (A LOAD of a label that takes two words can still
// push the code past the end earlier; encode reports that.)
func (a *asm) addCode(in instr) {
	if a.codeBase/vm.InstructionSize+a.code.len() >= (vm.MaxImm24+1)/vm.InstructionSize {
		a.errorf(in.pos, "code exceeds the 24-bit address space: assembly stopped here")
		a.codeFull = true
		return
	}
	a.code.add(in)
}

// registersAnywhere reports the registers out of range among the operands
// of an instruction whose operands cannot be checked one by one (its
// mnemonic is unknown, their number is wrong): $40 is wrong wherever it
// stands.
func (a *asm) registersAnywhere(args []Token) {
	for _, t := range args {
		if t.Kind == TokRegister {
			a.register(t)
		}
	}
}

// operand checks argument i of an instruction and stores its value in in.
func (a *asm) operand(in *instr, info vm.Info, i int, t Token) bool {
	name := info.Name
	wrong := func(want string) bool {
		a.errorf(t.Pos, "%s operand %d must be %s, got %v %s", name, i+1, want, t.Kind, t.Text)
		return false
	}
	if t.Kind == TokIllegal {
		return false // reported by the lexer
	}
	shape := info.Shape
	if i == 0 && shape != vm.ShapeAddr24 && shape != vm.ShapeImm24 && shape != vm.ShapeData24 || shape == vm.ShapeRR || shape == vm.ShapeRRR {
		if t.Kind != TokRegister {
			return wrong("a register")
		}
		r, ok := a.register(t)
		in.regs[i] = r
		return ok
	}
	switch shape {
	case vm.ShapeRImm16:
		if in.op == vm.OpLoad {
			switch t.Kind {
			case TokLabelRef:
				a.reference(in, t)
				return true
			case TokInteger:
				v, ok := a.integer(t, math.MinInt32, math.MaxInt32, name)
				in.imm = uint32(int32(v))
				if !fits16(int(v)) {
					in.n = 2
				}
				return ok
			}
			return wrong("an integer or a label")
		}
		if t.Kind != TokInteger {
			return wrong("an integer")
		}
		v, ok := a.integer(t, 0, math.MaxUint16, name)
		in.imm = uint32(v)
		return ok
	case vm.ShapeRShift:
		if t.Kind != TokInteger {
			return wrong("an integer")
		}
		v, ok := a.integer(t, 0, math.MaxUint8, name)
		in.regs[1] = uint8(v)
		if v == 0 {
			in.regs[1] = 32 // shifts are by n mod 32; byte 0 itself means 16
		}
		return ok
	case vm.ShapeAddr24, vm.ShapeData24:
		switch t.Kind {
		case TokLabelRef:
			a.reference(in, t)
			return true
		case TokInteger:
			v, ok := a.address(t, name)
			if ok && info.Shape == vm.ShapeAddr24 { // a code address: checked against the code
				if v%vm.InstructionSize != 0 {
					a.errorf(t.Pos, "%s target %s is not a multiple of 4", name, t.Text)
					ok = false
				} else {
					a.targets = append(a.targets, numericTarget{at: a.code.len(), pos: t.Pos, text: t.Text})
				}
			}
			in.imm = uint32(v)
			return ok
		}
		return wrong("an integer or a label")
	case vm.ShapeImm24:
		if t.Kind != TokInteger {
			return wrong("an integer")
		}
		v, ok := a.integer(t, 0, vm.MaxImm24, name)
		in.imm = uint32(v)
		return ok
	}
	return wrong("nothing") // not reached: counts are checked first
}

// reference makes the label use t the operand of in.
func (a *asm) reference(in *instr, t Token) {
	in.ref = int32(a.refs.len())
	a.refs.add(labelRef{name: t.Value, pos: t.Pos})
}

// fits16 reports whether v is a LOAD operand that needs no LUI.
func fits16(v int) bool { return 0 <= v && v <= math.MaxUint16 }

func (a *asm) register(t Token) (uint8, bool) {
	n, err := strconv.Atoi(t.Value)
	if err != nil || n > 31 {
		a.errorf(t.Pos, "register %s out of range (0..31)", t.Text)
		return 0, false
	}
	return uint8(n), true
}

// parseInteger converts the Value of an integer token; ok is false when it
// does not fit an int64.
func parseInteger(s string) (int64, bool) {
	neg, digits, base := integerParts(s)
	u, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// integer parses t and checks it against lo..hi; what names the
// instruction or directive for the message.
func (a *asm) integer(t Token, lo, hi int64, what string) (int64, bool) {
	v, ok := parseInteger(t.Value)
	if !ok || v < lo || v > hi {
		a.errorf(t.Pos, "integer %s out of range for %s (%d..%d)", t.Text, what, lo, hi)
		return 0, false
	}
	return v, true
}

// address parses t as a code address or read-only offset for the
// instruction what; the range in the message is written as addresses are.
func (a *asm) address(t Token, what string) (int64, bool) {
	v, ok := parseInteger(t.Value)
	if !ok || v < 0 || v > vm.MaxImm24 {
		a.errorf(t.Pos, "integer %s out of range for %s %s", t.Text, what, addressRange)
		return 0, false
	}
	return v, true
}

// addressRange is the range of a 24-bit address or offset, for messages.
var addressRange = "(" + vm.FormatAddress(0) + ".." + vm.FormatAddress(vm.MaxImm24) + ")"

func (a *asm) directive(head Token, dir string, args []Token) {
	var want section
	switch dir {
	case "asciiz", "ascii", "integer":
		want = sectionData
	case "word":
		want = sectionCode
	default:
		a.errorf(head.Pos, "unknown directive %s", head.Text)
		return
	}
	name := "." + dir
	if a.section != want {
		a.errorf(head.Pos, "%s outside the %s section", name, want)
		return
	}
	switch dir {
	case "asciiz", "ascii":
		t, ok := a.directiveOperand(head, name, args, TokString, "a string")
		if !ok {
			return
		}
		a.addData(datum{text: t.Value, nul: dir == "asciiz"})
	case "integer":
		// Four bytes even when the operand is bad, so that the labels after
		// it keep their offsets in later messages.
		var v int64
		if t, ok := a.directiveOperand(head, name, args, TokInteger, "an integer"); ok {
			v, _ = a.integer(t, math.MinInt32, math.MaxInt32, name)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		a.addData(datum{text: string(b[:])})
	case "word":
		// Likewise one instruction's place in the code.
		w := instr{pos: head.Pos, ref: noRef, n: 1, word: true, bad: true}
		if t, ok := a.directiveOperand(head, name, args, TokInteger, "an integer"); ok {
			v, ok := a.integer(t, 0, math.MaxUint32, name)
			w.imm, w.bad = uint32(v), !ok
		}
		a.addCode(w)
	}
}

// datum is a piece of read-only data: text (for strings, most often a
// slice of the source), then a NUL if nul is set.
type datum struct {
	text string
	nul  bool
}

func (d datum) len() int {
	if d.nul {
		return len(d.text) + 1
	}
	return len(d.text)
}

// addData appends a piece to the read-only data.
func (a *asm) addData(d datum) {
	a.data.add(d)
	a.roLen += d.len()
}

// directiveOperand returns the one operand of the directive name, which
// must be a token of kind want (described as what); false after reporting
// an error.
func (a *asm) directiveOperand(head Token, name string, args []Token, want TokenKind, what string) (Token, bool) {
	if n := a.operands(args); n != 1 {
		if !a.garbled(args) {
			a.errorf(head.Pos, "%s takes 1 operand, got %d", name, n)
		}
		return Token{}, false
	}
	t := args[0]
	if t.Kind == TokIllegal {
		return Token{}, false // reported by the lexer
	}
	if t.Kind != want {
		a.errorf(t.Pos, "%s operand must be %s, got %v %s", name, what, t.Kind, t.Text)
		return Token{}, false
	}
	return t, true
}
