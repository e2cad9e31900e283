package assembler

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/iridium-go/iridium/vm"
)

// Assemble assembles a whole source file with a fresh symbol table.
func Assemble(src string) (*vm.Program, error) {
	p, _, err := AssembleFile(src)
	return p, err
}

// AssembleFile assembles a whole source file and also returns its symbols,
// sorted by name (for the REPL's !load_file).
func AssembleFile(src string) (*vm.Program, []Symbol, error) {
	a := newAsm(0, 0, sectionCode, nil)
	p, err := a.run(src)
	if err != nil {
		return nil, nil, err
	}
	return p, a.symbols(), nil
}

type section uint8

const (
	sectionCode section = iota
	sectionData
)

func (s section) String() string {
	if s == sectionData {
		return ".data"
	}
	return ".code"
}

type stmtKind uint8

const (
	stmtLabel stmtKind = iota // a label alone on its line (or on a bad line)
	stmtInstr                 // an instruction
	stmtData                  // .asciiz, .ascii, .integer: bytes in the read-only data
	stmtWord                  // .word: four raw bytes of code
)

// labelDef is a label defined in the chunk being assembled.
type labelDef struct {
	name  string
	pos   Pos
	kind  SymbolKind
	value int
}

// stmt is one line of source after pass 1's parsing.
type stmt struct {
	kind  stmtKind
	label *labelDef // label defined on this line, nil if none
	head  Token     // mnemonic or directive
	bad   bool      // an error was reported; the line encodes nothing

	// Instructions.
	op     vm.Opcode
	info   vm.Info
	regs   [2]uint8 // register operands after the first (RR, RRR)
	reg    uint8    // first register operand
	imm    int64    // integer operand
	hasImm bool     // SHL/SHR: the #n operand is present
	ref    *Token   // label reference operand
	n      int      // number of 4-byte instructions (LOAD expands to 2)

	// Data and .word.
	data []byte
}

// asm is the state of one assembly run: a whole file or one Session chunk.
type asm struct {
	errs     errorList
	codeBase int // code address of the chunk's first instruction
	roBase   int // read-only offset of the chunk's first data byte
	section  section
	prior    map[string]Symbol // symbols from earlier Session chunks
	defs     map[string]*labelDef
	order    []*labelDef
	stmts    []*stmt
	codeEnd  int
	roEnd    int
}

func newAsm(codeBase, roBase int, sec section, prior map[string]Symbol) *asm {
	return &asm{codeBase: codeBase, roBase: roBase, section: sec, prior: prior, defs: map[string]*labelDef{}}
}

func (a *asm) errorf(pos Pos, format string, args ...any) {
	a.errs.add(pos, fmt.Sprintf(format, args...))
}

// run is the whole assembly: pass 1 parses every line, defines labels and
// sizes every statement (iterating to a fixed point where LOAD of a label
// needs it), pass 2 encodes. Both passes keep going after errors.
func (a *asm) run(src string) (*vm.Program, error) {
	a.parse(src)
	a.layout()
	p := a.encode()
	if err := a.errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func (a *asm) symbols() []Symbol {
	syms := make([]Symbol, 0, len(a.order))
	for _, d := range a.order {
		syms = append(syms, Symbol{Name: d.name, Kind: d.kind, Value: d.value})
	}
	sortSymbols(syms)
	return syms
}

// ---- pass 1: parsing ----

func (a *asm) parse(src string) {
	lx := NewLexer(src, a.errs.add)
	var pending *labelDef // data label still waiting for its data
	for {
		var toks []Token
		bad := false
		t := lx.Next()
		for ; t.Kind != TokEOF && t.Kind != TokNewline; t = lx.Next() {
			if t.Kind == TokIllegal {
				bad = true // reported by the lexer
				continue
			}
			toks = append(toks, t)
		}
		a.line(toks, bad, &pending)
		if t.Kind == TokEOF {
			break
		}
	}
	a.noData(&pending)
}

// noData reports a data label that no data followed.
func (a *asm) noData(pending **labelDef) {
	if d := *pending; d != nil {
		a.errorf(d.pos, "data label %q has no data after it", d.name)
		*pending = nil
	}
}

func (a *asm) line(toks []Token, bad bool, pending **labelDef) {
	if len(toks) == 0 {
		return
	}
	s := &stmt{bad: bad}
	rest := toks
	var lbl *Token
	if rest[0].Kind == TokLabel {
		lbl, rest = &rest[0], rest[1:]
		if len(rest) > 0 && rest[0].Kind == TokLabel {
			a.errorf(rest[0].Pos, "only one label per line")
			s.bad = true
			rest = rest[1:]
		}
	}
	if len(rest) > 0 {
		s.head = rest[0]
		rest = rest[1:]
	}
	head := s.head
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
		a.noData(pending)
		a.section = sectionCode
		if dir == "data" {
			a.section = sectionData
		}
		return
	}

	if lbl != nil {
		s.label = a.define(*lbl)
		if s.label != nil && s.label.kind == SymbolData {
			a.noData(pending)
			*pending = s.label
		}
	}
	if head.Kind != 0 || bad {
		*pending = nil // whatever follows the label, it is not "nothing"
	}
	a.stmts = append(a.stmts, s)
	if s.bad || head.Kind == 0 {
		return
	}

	switch head.Kind {
	case TokIdent:
		a.instruction(s, rest)
	case TokDirective:
		a.directive(s, dir, rest)
	default:
		a.errorf(head.Pos, "expected a mnemonic or directive, found %s %s", head.Kind, head.Text)
		s.bad = true
	}
}

// define records a label defined in this chunk; nil for a duplicate.
func (a *asm) define(t Token) *labelDef {
	if prev, ok := a.defs[t.Value]; ok {
		a.errorf(t.Pos, "duplicate label %q (first defined at %s)", t.Value, prev.pos)
		return nil
	}
	if _, ok := a.prior[t.Value]; ok {
		a.errorf(t.Pos, "duplicate label %q (already defined in this session)", t.Value)
		return nil
	}
	kind := SymbolCode
	if a.section == sectionData {
		kind = SymbolData
	}
	d := &labelDef{name: t.Value, pos: t.Pos, kind: kind}
	a.defs[t.Value] = d
	a.order = append(a.order, d)
	return d
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

// describe names an operand token for an error message.
func describe(t Token) string { return t.Kind.String() + " " + t.Text }

func (a *asm) instruction(s *stmt, args []Token) {
	head := s.head
	op, ok := vm.Lookup(strings.ToUpper(head.Value))
	if !ok {
		a.errorf(head.Pos, "unknown mnemonic %q", head.Value)
		s.bad = true
		return
	}
	info, _ := op.Info()
	s.kind, s.op, s.info, s.n = stmtInstr, op, info, 1
	if a.section != sectionCode {
		a.errorf(head.Pos, "instruction %s in the .data section", info.Name)
		s.bad = true
		return
	}
	maxN := info.Shape.NumOperands()
	minN := maxN
	if info.Shape == vm.ShapeRShift {
		minN = 1
	}
	if len(args) < minN || len(args) > maxN {
		want := plural(maxN, "operand")
		if minN != maxN {
			want = fmt.Sprintf("%d or %d operands", minN, maxN)
		}
		a.errorf(head.Pos, "%s takes %s, got %d", info.Name, want, len(args))
		s.bad = true
		return
	}
	for i, t := range args {
		if !a.operand(s, i, t) {
			s.bad = true
		}
	}
}

// operand checks argument i of an instruction and stores its value in s.
func (a *asm) operand(s *stmt, i int, t Token) bool {
	name := s.info.Name
	wrong := func(want string) bool {
		a.errorf(t.Pos, "%s operand %d must be %s, got %s", name, i+1, want, describe(t))
		return false
	}
	shape := s.info.Shape
	if i == 0 && shape != vm.ShapeAddr24 && shape != vm.ShapeImm24 || shape == vm.ShapeRR || shape == vm.ShapeRRR {
		if t.Kind != TokRegister {
			return wrong("a register")
		}
		r, ok := a.register(t)
		if i == 0 {
			s.reg = r
		} else {
			s.regs[i-1] = r
		}
		return ok
	}
	switch shape {
	case vm.ShapeRImm16:
		if s.op == vm.OpLoad {
			switch t.Kind {
			case TokLabelRef:
				s.ref = &t
				return true
			case TokInteger:
				v, ok := a.integer(t, math.MinInt32, math.MaxInt32, name)
				s.imm = v
				if v < 0 || v > math.MaxUint16 {
					s.n = 2
				}
				return ok
			}
			return wrong("an integer or a label")
		}
		if t.Kind != TokInteger {
			return wrong("an integer")
		}
		v, ok := a.integer(t, 0, math.MaxUint16, name)
		s.imm = v
		return ok
	case vm.ShapeRShift:
		if t.Kind != TokInteger {
			return wrong("an integer")
		}
		v, ok := a.integer(t, 0, math.MaxUint8, name)
		s.imm, s.hasImm = v, true
		return ok
	case vm.ShapeAddr24:
		switch t.Kind {
		case TokLabelRef:
			s.ref = &t
			return true
		case TokInteger:
			v, ok := a.integer(t, 0, vm.MaxImm24, name)
			if ok && v%vm.InstructionSize != 0 {
				a.errorf(t.Pos, "%s target %s is not a multiple of 4", name, t.Text)
				ok = false
			}
			s.imm = v
			return ok
		}
		return wrong("an integer or a label")
	case vm.ShapeImm24:
		if t.Kind == TokLabelRef && s.op == vm.OpPrts {
			s.ref = &t
			return true
		}
		if t.Kind != TokInteger {
			if s.op == vm.OpPrts {
				return wrong("an integer or a label")
			}
			return wrong("an integer")
		}
		v, ok := a.integer(t, 0, vm.MaxImm24, name)
		s.imm = v
		return ok
	}
	return wrong("nothing") // not reached: counts are checked first
}

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
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	base := 10
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, base = s[2:], 16
	}
	u, err := strconv.ParseUint(s, base, 64)
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

func (a *asm) directive(s *stmt, dir string, args []Token) {
	head := s.head
	var want section
	switch dir {
	case "asciiz", "ascii", "integer":
		want = sectionData
	case "word":
		want = sectionCode
	default:
		a.errorf(head.Pos, "unknown directive %s", head.Text)
		s.bad = true
		return
	}
	name := "." + dir
	if a.section != want {
		a.errorf(head.Pos, "%s outside the %s section", name, want)
		s.bad = true
		return
	}
	s.kind = stmtData
	if dir == "word" {
		s.kind = stmtWord
	}
	if len(args) != 1 {
		a.errorf(head.Pos, "%s takes 1 operand, got %d", name, len(args))
		s.bad = true
		return
	}
	t := args[0]
	switch dir {
	case "asciiz", "ascii":
		if t.Kind != TokString {
			a.errorf(t.Pos, "%s operand must be a string, got %s", name, describe(t))
			s.bad = true
			return
		}
		s.data = []byte(t.Value)
		if dir == "asciiz" {
			s.data = append(s.data, 0)
		}
	case "integer", "word":
		if t.Kind != TokInteger {
			a.errorf(t.Pos, "%s operand must be an integer, got %s", name, describe(t))
			s.bad = true
			return
		}
		var v int64
		var ok bool
		if dir == "integer" {
			v, ok = a.integer(t, math.MinInt32, math.MaxInt32, name)
			s.data = binary.LittleEndian.AppendUint32(nil, uint32(v))
		} else {
			v, ok = a.integer(t, 0, math.MaxUint32, name)
			s.data = binary.BigEndian.AppendUint32(nil, uint32(v))
		}
		s.bad = !ok
	}
}

// ---- pass 1: layout ----

// lookup finds a label's value as far as layout knows it.
func (a *asm) lookup(name string) (Symbol, bool) {
	if d, ok := a.defs[name]; ok {
		return Symbol{Name: name, Kind: d.kind, Value: d.value}, true
	}
	sym, ok := a.prior[name]
	return sym, ok
}

// layout gives every label its value. A LOAD of a label takes one
// instruction if the value fits 16 bits and two otherwise; forward labels
// are not known on the first round, so layout repeats until no LOAD grows.
// Sizes only grow, so this ends after at most one round per LOAD.
func (a *asm) layout() {
	for {
		code, ro := a.codeBase, a.roBase
		for _, s := range a.stmts {
			if d := s.label; d != nil {
				d.value = code
				if d.kind == SymbolData {
					d.value = ro
				}
			}
			switch s.kind {
			case stmtInstr:
				code += vm.InstructionSize * s.n
			case stmtWord:
				code += vm.InstructionSize
			case stmtData:
				ro += len(s.data)
			}
		}
		a.codeEnd, a.roEnd = code, ro
		grew := false
		for _, s := range a.stmts {
			if s.kind == stmtInstr && s.op == vm.OpLoad && s.ref != nil && s.n == 1 {
				if sym, ok := a.lookup(s.ref.Value); ok && (sym.Value < 0 || sym.Value > math.MaxUint16) {
					s.n = 2
					grew = true
				}
			}
		}
		if !grew {
			return
		}
	}
}

// ---- pass 2: encoding ----

func (a *asm) encode() *vm.Program {
	p := &vm.Program{}
	addr := a.codeBase
	tooBig := false
	for _, s := range a.stmts {
		if s.kind == stmtInstr || s.kind == stmtWord {
			size := vm.InstructionSize * max(s.n, 1)
			if addr+size > vm.MaxImm24+1 && !tooBig {
				a.errorf(s.head.Pos, "code exceeds the 24-bit address space")
				tooBig = true
			}
			addr += size
		}
		if s.bad {
			continue
		}
		switch s.kind {
		case stmtData:
			p.ROData = append(p.ROData, s.data...)
		case stmtWord:
			p.Code = append(p.Code, s.data...)
		case stmtInstr:
			p.Code = a.encodeInstr(p.Code, s)
		}
	}
	return p
}

// resolve looks up a label operand for pass 2.
func (a *asm) resolve(s *stmt, want SymbolKind, anyKind bool) (int, bool) {
	t := s.ref
	sym, ok := a.lookup(t.Value)
	if !ok {
		a.errorf(t.Pos, "undefined label %q", t.Value)
		return 0, false
	}
	if !anyKind && sym.Kind != want {
		a.errorf(t.Pos, "%s needs a %s label, %q is a %s label", s.info.Name, want, t.Value, sym.Kind)
		return 0, false
	}
	if !anyKind && sym.Value > vm.MaxImm24 {
		a.errorf(t.Pos, "label %q (%d) out of range for %s (0..%d)", t.Value, sym.Value, s.info.Name, vm.MaxImm24)
		return 0, false
	}
	return sym.Value, true
}

func (a *asm) encodeInstr(code []byte, s *stmt) []byte {
	op := s.op
	emit := func(b [vm.InstructionSize]byte) { code = append(code, b[:]...) }
	switch s.info.Shape {
	case vm.ShapeNone:
		emit(vm.Encode(op, 0, 0, 0))
	case vm.ShapeR:
		emit(vm.Encode(op, s.reg, 0, 0))
	case vm.ShapeRR:
		emit(vm.Encode(op, s.reg, s.regs[0], 0))
	case vm.ShapeRRR:
		emit(vm.Encode(op, s.reg, s.regs[0], s.regs[1]))
	case vm.ShapeRImm16:
		v := s.imm
		if s.ref != nil {
			val, ok := a.resolve(s, 0, true)
			if !ok {
				return code
			}
			v = int64(val)
		}
		if op == vm.OpLoad && s.n == 2 {
			u := uint32(int32(v))
			emit(vm.EncodeImm16(vm.OpLoad, s.reg, uint16(u>>16)))
			emit(vm.EncodeImm16(vm.OpLui, s.reg, uint16(u)))
		} else {
			emit(vm.EncodeImm16(op, s.reg, uint16(v)))
		}
	case vm.ShapeRShift:
		n := uint8(0) // no operand: 0 means 16
		if s.hasImm {
			n = uint8(s.imm)
			if n == 0 {
				n = 32 // shifts by n mod 32; 0 itself would mean 16
			}
		}
		emit(vm.Encode(op, s.reg, n, 0))
	case vm.ShapeAddr24, vm.ShapeImm24:
		v := s.imm
		if s.ref != nil {
			want := SymbolCode
			if s.info.Shape == vm.ShapeImm24 {
				want = SymbolData
			}
			val, ok := a.resolve(s, want, false)
			if !ok {
				return code
			}
			v = int64(val)
		}
		emit(vm.EncodeImm24(op, uint32(v)))
	}
	return code
}
