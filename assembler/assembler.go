package assembler

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/iridium-go/iridium/vm"
)

// ErrNotText is what the error for a whole file that holds a NUL byte
// wraps. No assembly source needs one (a string writes it as \0), and
// nearly every binary file has one within its first bytes, so it tells a
// binary file from a source file with mistakes in it: the binary file gets
// one assembly error, at its first NUL, instead of one error for every
// stretch of its bytes.
var ErrNotText = errors.New("neither Iridium bytecode nor assembly text")

// Assemble assembles a whole source file with a fresh symbol table.
func Assemble(src string) (*vm.Program, error) {
	return AssembleContext(context.Background(), src)
}

// AssembleContext is Assemble that gives up when ctx is done, returning an
// error that wraps context.Cause(ctx).
func AssembleContext(ctx context.Context, src string) (*vm.Program, error) {
	_, p, err := assembleFile(ctx, src, false)
	return p, err
}

// AssembleFile assembles a whole source file and also returns its symbols,
// sorted by name (for the REPL's !load_file and for listings that keep the
// source's label names).
func AssembleFile(src string) (*vm.Program, []Symbol, error) {
	return AssembleFileContext(context.Background(), src)
}

// AssembleFileContext is AssembleFile that gives up when ctx is done,
// returning an error that wraps context.Cause(ctx).
func AssembleFileContext(ctx context.Context, src string) (*vm.Program, []Symbol, error) {
	return assembleWithSymbols(ctx, src, false)
}

func assembleWithSymbols(ctx context.Context, src string, strict bool) (*vm.Program, []Symbol, error) {
	a, p, err := assembleFile(ctx, src, strict)
	if err != nil {
		return nil, nil, err
	}
	return p, a.symbols(), nil
}

// assembleFile assembles a whole file; strict refuses .words that the VM
// would refuse.
func assembleFile(ctx context.Context, src string, strict bool) (*asm, *vm.Program, error) {
	src = lineFeeds(src)
	if i := strings.IndexByte(src, 0); i >= 0 {
		return nil, nil, notText(src, i)
	}
	a := newAsm(ctx, 0, 0, sectionCode, nil)
	a.strict = strict
	p, err := a.run(src)
	return a, p, err
}

// lineFeeds is src with its lines ended by line feeds: a file whose lines
// end in a carriage return alone (as classic Mac OS wrote them) would
// otherwise be one long line, and every error in it would be on line 1. A
// CR in a file that has line feeds stays what it is (a blank before a
// line feed, or a byte of a string). The length stays the same, so byte
// offsets still name the same places.
func lineFeeds(src string) string {
	if strings.IndexByte(src, '\n') >= 0 || strings.IndexByte(src, '\r') < 0 {
		return src
	}
	return strings.ReplaceAll(src, "\r", "\n")
}

// notText is the one error for a whole file whose first NUL byte is at
// offset i: an assembly error at the NUL's line and column (counted as the
// lexer counts them), wrapping ErrNotText.
func notText(src string, i int) error {
	lineStart := strings.LastIndexByte(src[:i], '\n') + 1
	pos := Pos{1 + strings.Count(src[:lineStart], "\n"), 1 + utf8.RuneCountInString(src[lineStart:i])}
	msg := fmt.Sprintf("NUL byte at offset %s: a binary file, %v", vm.FormatAddress(i), ErrNotText)
	return errorList{{Pos: pos, Msg: msg, err: ErrNotText}}.err()
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

// labelRef is a label used as an operand.
type labelRef struct {
	name string
	pos  Pos
}

// noRef is instr.ref for an instruction without a label operand.
const noRef = -1

// instr is one instruction or .word after parsing: everything layout and
// pass 2 need, and nothing more, since there is one per line of code.
type instr struct {
	pos  Pos    // the mnemonic's or directive's, for errors found after parsing
	imm  uint32 // integer operand: an address or count, LOAD's int32 or .word's bytes, as bits
	ref  int32  // index in asm.refs of the label operand, or noRef
	op   vm.Opcode
	regs [3]uint8 // register operands in order; SHL/SHR: the count byte second
	n    uint8    // instructions it takes: 2 for a LOAD whose value needs a LUI
	word bool     // a .word: imm is the four bytes, byte 0 first
	bad  bool     // an error was reported: it takes its space, encodes nothing
}

// asm is the state of one assembly run: a whole file or one Session chunk.
type asm struct {
	ctx      context.Context
	ticks    int   // calls of interrupted, which looks at ctx once every checkEvery
	stop     error // why assembly was interrupted; nil while it goes on
	errs     errorList
	codeBase int // code address of the chunk's first instruction
	roBase   int // read-only offset of the chunk's first data byte
	section  section
	prior    map[string]Symbol   // symbols from earlier Session chunks
	labels   blockList[labelDef] // in the order of definition
	byName   labelIndex          // finds labels by name
	pending  int                 // index of a data label still waiting for its data; -1 if none
	code     blockList[instr]
	refs     blockList[labelRef]
	data     blockList[datum] // the read-only data, piece after piece
	roLen    int              // the bytes in data
	codeEnd  int
	targets  []numericTarget // direct targets given as numbers, checked against codeEnd in pass 2
	strict   bool            // a .word must be an instruction the VM accepts (see Load)
	line1    int             // the line number of the source's first line in positions; 0 means 1

	// The tokens of the line being parsed past maxLineTokens: counted for
	// the error message, not kept. cut says whether garbage was among them.
	cutTokens int
	cut       bool
}

// maxLineTokens bounds the tokens of a line that the parser keeps. A
// line that means anything has at most six (two labels, the second an
// error, a mnemonic and three operands); a line of millions of operands
// must cost what a short one does, not gigabytes.
const maxLineTokens = 16

// numericTarget is a direct jump or call target written as a number: only
// pass 2 knows where the code ends. Labels cannot point past it.
type numericTarget struct {
	at   int // index in asm.code
	pos  Pos
	text string
}

func newAsm(ctx context.Context, codeBase, roBase int, sec section, prior map[string]Symbol) *asm {
	return &asm{ctx: ctx, codeBase: codeBase, roBase: roBase, section: sec, prior: prior,
		byName: newLabelIndex(), pending: -1}
}

// errorf records an error at pos. Its string arguments are clipped: they
// quote the source (a label, a token), which may be any length.
func (a *asm) errorf(pos Pos, format string, args ...any) {
	for i, arg := range args {
		if s, ok := arg.(string); ok {
			args[i] = clip(s)
		}
	}
	a.errs.add(pos, fmt.Sprintf(format, args...))
}

// checkEvery is how many lines or instructions a pass handles between two
// looks at the context: often enough to stop within a millisecond, seldom
// enough to cost nothing.
const checkEvery = 1024

// interrupted reports whether assembly must stop: because the context is
// done, or because it has found maxErrors errors. It looks at the context
// on its first call and then once every checkEvery calls; once it has said
// yes it always does.
func (a *asm) interrupted() bool {
	if a.stop != nil || a.errs.full() {
		return true
	}
	a.ticks++
	if a.ticks%checkEvery == 1 && a.ctx.Err() != nil {
		a.stop = fmt.Errorf("assembly interrupted: %w", context.Cause(a.ctx))
		return true
	}
	return false
}

// run is the whole assembly: pass 1 parses every line, defines labels and
// lays out the code (sizing every LOAD of a label), pass 2 encodes. Both
// passes keep going after errors.
func (a *asm) run(src string) (*vm.Program, error) {
	a.parse(src)
	a.layout()
	p := a.encode()
	if a.stop != nil {
		return nil, a.stop
	}
	if err := a.errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// symbols returns the chunk's labels sorted by name. Their names are
// copied out of the source into one string, so that keeping the symbols
// (as the REPL does for a session) does not keep the whole source.
func (a *asm) symbols() []Symbol {
	size := 0
	for _, d := range a.labels.all() {
		size += len(d.name)
	}
	var b strings.Builder
	b.Grow(size)
	for _, d := range a.labels.all() {
		b.WriteString(d.name)
	}
	names := b.String()
	syms := make([]Symbol, a.labels.len())
	for i, d := range a.labels.all() {
		syms[i] = Symbol{Name: names[:len(d.name)], Kind: d.kind, Value: d.value}
		names = names[len(d.name):]
	}
	sortSymbols(syms)
	return syms
}

// ---- pass 1: parsing ----

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
			a.noData()
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
	case vm.ShapeAddr24:
		switch t.Kind {
		case TokLabelRef:
			a.reference(in, t)
			return true
		case TokInteger:
			v, ok := a.address(t, name)
			if ok && v%vm.InstructionSize != 0 {
				a.errorf(t.Pos, "%s target %s is not a multiple of 4", name, t.Text)
				ok = false
			}
			if ok {
				a.targets = append(a.targets, numericTarget{at: a.code.len(), pos: t.Pos, text: t.Text})
			}
			in.imm = uint32(v)
			return ok
		}
		return wrong("an integer or a label")
	case vm.ShapeData24:
		switch t.Kind {
		case TokLabelRef:
			a.reference(in, t)
			return true
		case TokInteger:
			v, ok := a.address(t, name)
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
		a.code.add(w)
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

// ---- pass 1: layout ----

// lookup finds a label's value as far as layout knows it, and its index in
// a.labels (-1 for a symbol of an earlier chunk).
func (a *asm) lookup(name string) (sym Symbol, index int, ok bool) {
	if i, ok := a.byName.find(&a.labels, name); ok {
		d := a.labels.at(i)
		return Symbol{Name: name, Kind: d.kind, Value: d.value}, i, true
	}
	sym, ok = a.prior[name]
	return sym, -1, ok
}

// layout gives every label its value and every LOAD of a label its size:
// one instruction if the value fits 16 bits, two otherwise. A LOAD that
// grows moves the code labels after it, which may make more LOADs grow, so
// the sizes wanted are the smallest that agree with the values they give.
//
// One sweep finds them. Data labels and earlier chunks' symbols do not move,
// so their LOADs are sized at once. A code label's value only grows as LOADs
// grow, and never falls below an earlier label's, so the code labels past
// 65535 are always the last ones. Walking back from the last code label,
// each one past 65535 makes its LOADs grow, which raises the labels after
// them: those already visited stay past 65535, the others are visited with
// their new values. The walk stops at the first label that is at most
// 65535: the labels before it are lower still, and only LOADs of labels
// past 65535 grow, so nothing moves any more. Each instruction and each
// label is visited a bounded number of times (the plain way, repeating the
// layout until no LOAD grows, can take a round per LOAD).
func (a *asm) layout() {
	// The LOADs of this chunk's code labels, for the sweep; the others are
	// sized at once.
	type load struct{ instr, label int }
	var loads []load
	for i, in := range a.code.all() {
		if a.interrupted() {
			return
		}
		if in.op != vm.OpLoad || in.word || in.ref == noRef {
			continue
		}
		switch sym, label, ok := a.lookup(a.refs.at(int(in.ref)).name); {
		case !ok: // undefined: encode reports it
		case label >= 0 && sym.Kind == SymbolCode:
			loads = append(loads, load{i, label})
		case !fits16(sym.Value):
			in.n = 2
		}
	}
	a.place()
	if len(loads) == 0 || a.stop != nil {
		return
	}

	// Sorted by label, the LOADs of the labels not yet visited are
	// loads[:k], those of the label being visited at its end.
	slices.SortFunc(loads, func(x, y load) int { return cmp.Compare(x.label, y.label) })
	k := len(loads)
	at, addr := a.code.len(), a.codeEnd // addr is the address of instruction at
	for i := a.labels.len() - 1; i >= 0; i-- {
		d := a.labels.at(i)
		if d.kind != SymbolCode {
			continue
		}
		for ; at > d.at; at-- {
			if a.interrupted() {
				return
			}
			addr -= vm.InstructionSize * int(a.code.at(at-1).n)
		}
		if fits16(addr) {
			break
		}
		for ; k > 0 && loads[k-1].label == i; k-- {
			j := loads[k-1].instr
			a.code.at(j).n = 2
			if j < at {
				addr += vm.InstructionSize
			}
		}
	}
	a.place()
}

// place gives the code labels their addresses, and a.codeEnd its value,
// under the current sizes.
func (a *asm) place() {
	addr, at := a.codeBase, 0 // addr is the address of instruction at
	for _, d := range a.labels.all() {
		if d.kind != SymbolCode {
			continue
		}
		for ; at < d.at; at++ {
			if a.interrupted() {
				return
			}
			addr += vm.InstructionSize * int(a.code.at(at).n)
		}
		d.value = addr
	}
	for ; at < a.code.len(); at++ {
		if a.interrupted() {
			return
		}
		addr += vm.InstructionSize * int(a.code.at(at).n)
	}
	a.codeEnd = addr
}

// ---- pass 2: encoding ----

func (a *asm) encode() *vm.Program {
	p := &vm.Program{}
	if a.stop != nil {
		return p
	}
	if a.roLen > 0 {
		p.ROData = make([]byte, 0, a.roLen)
		for _, d := range a.data.all() {
			p.ROData = append(p.ROData, d.text...)
			if d.nul {
				p.ROData = append(p.ROData, 0)
			}
		}
	}
	if size := a.codeEnd - a.codeBase; size > 0 {
		p.Code = make([]byte, 0, size)
	}
	for _, t := range a.targets {
		in := a.code.at(t.at)
		if int(in.imm) > a.codeEnd {
			info, _ := in.op.Info()
			a.errorf(t.pos, "%s target %s is past the end of the code (%s)", info.Name, t.text, vm.FormatAddress(a.codeEnd))
			in.bad = true
		}
	}
	addr := a.codeBase
	for _, in := range a.code.all() {
		if a.interrupted() {
			return p
		}
		size := vm.InstructionSize * int(in.n)
		if addr <= vm.MaxImm24+1 && addr+size > vm.MaxImm24+1 {
			a.errorf(in.pos, "code exceeds the 24-bit address space")
		}
		addr += size
		if !in.bad {
			p.Code = a.encodeInstr(p.Code, in)
		}
	}
	return p
}

// resolve looks up a label operand for pass 2: a label of kind want, or of
// any kind for LOAD.
func (a *asm) resolve(in *instr, info vm.Info, want SymbolKind, anyKind bool) (int, bool) {
	ref := a.refs.at(int(in.ref))
	sym, _, ok := a.lookup(ref.name)
	if !ok {
		a.errorf(ref.pos, "undefined label %q", ref.name)
		return 0, false
	}
	if !anyKind && sym.Kind != want {
		a.errorf(ref.pos, "%s needs a %s label, %q is a %s label", info.Name, want, ref.name, sym.Kind)
		return 0, false
	}
	if !anyKind && (sym.Value < 0 || sym.Value > vm.MaxImm24) {
		a.errorf(ref.pos, "label %q (%s) out of range for %s %s", ref.name, vm.FormatAddress(sym.Value), info.Name, addressRange)
		return 0, false
	}
	return sym.Value, true
}

func (a *asm) encodeInstr(code []byte, in *instr) []byte {
	if in.word {
		code = binary.BigEndian.AppendUint32(code, in.imm)
		if a.strict {
			if err := refused(vm.Decode(code[len(code)-vm.InstructionSize:]), a.codeEnd); err != nil {
				a.errorf(in.pos, ".word #0x%08x is not an instruction the VM accepts: %v", in.imm, err)
			}
		}
		return code
	}
	op := in.op
	info, _ := op.Info()
	emit := func(b [vm.InstructionSize]byte) { code = append(code, b[:]...) }
	switch info.Shape {
	case vm.ShapeNone:
		emit(vm.Encode(op, 0, 0, 0))
	case vm.ShapeR:
		emit(vm.Encode(op, in.regs[0], 0, 0))
	case vm.ShapeRR, vm.ShapeRShift:
		emit(vm.Encode(op, in.regs[0], in.regs[1], 0))
	case vm.ShapeRRR:
		emit(vm.Encode(op, in.regs[0], in.regs[1], in.regs[2]))
	case vm.ShapeRImm16:
		v := in.imm
		if in.ref != noRef {
			val, ok := a.resolve(in, info, 0, true)
			if !ok {
				return code
			}
			v = uint32(val)
		}
		if in.n == 2 {
			emit(vm.EncodeImm16(vm.OpLoad, in.regs[0], uint16(v>>16)))
			emit(vm.EncodeImm16(vm.OpLui, in.regs[0], uint16(v)))
		} else {
			emit(vm.EncodeImm16(op, in.regs[0], uint16(v)))
		}
	case vm.ShapeAddr24, vm.ShapeImm24, vm.ShapeData24:
		v := in.imm
		if in.ref != noRef {
			want := SymbolCode
			if info.Shape == vm.ShapeData24 {
				want = SymbolData
			}
			val, ok := a.resolve(in, info, want, false)
			if !ok {
				return code
			}
			v = uint32(val)
		}
		emit(vm.EncodeImm24(op, v))
	}
	return code
}
