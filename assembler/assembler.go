package assembler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/iridium-go/iridium/internal/escape"
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
	codeFull bool  // the code has filled the address space: assembly stops (addCode)
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
			args[i] = escape.Clip(s)
		}
	}
	a.errs.add(pos, fmt.Sprintf(format, args...))
}

// checkEvery is how many lines or instructions a pass handles between two
// looks at the context: often enough to stop within a millisecond, seldom
// enough to cost nothing.
const checkEvery = 1024

// interrupted reports whether assembly must stop: because the context is
// done, because it has found maxErrors errors, or because the code has
// filled the address space. It looks at the context
// on its first call and then once every checkEvery calls; once it has said
// yes it always does.
func (a *asm) interrupted() bool {
	if a.stop != nil || a.codeFull || a.errs.full() {
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
