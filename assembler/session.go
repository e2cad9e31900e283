package assembler

import (
	"context"

	"github.com/iridium-go/iridium/vm"
)

// Session assembles a program chunk by chunk, as the REPL does one line at
// a time. Each chunk is appended after everything assembled so far: its
// code addresses start at the code length so far and its read-only offsets
// at the read-only length so far, and it may use the labels of earlier
// chunks. The section (.data or .code) in effect at the end of a chunk is
// where the next chunk starts.
//
// A Session is not safe for concurrent use.
type Session struct {
	codeLen int
	roLen   int
	section section
	syms    map[string]Symbol
}

// NewSession returns an empty session.
func NewSession() *Session {
	return &Session{syms: map[string]Symbol{}}
}

// Assemble assembles src as the next chunk and returns only that chunk's
// bytes, with absolute addresses. On error nothing of the session changes.
func (s *Session) Assemble(src string) (*vm.Program, error) { return s.AssembleAt(src, 1) }

// AssembleAt is Assemble with src's first line numbered line in positions
// (line >= 1): a REPL reading a script gives each chunk its line in the
// script, so that errors name that line.
func (s *Session) AssembleAt(src string, line int) (*vm.Program, error) {
	a := newAsm(context.Background(), s.codeLen, s.roLen, s.section, s.syms)
	a.strict = true
	a.line1 = max(line, 1)
	p, err := a.run(src)
	if err != nil {
		return nil, err
	}
	for _, sym := range a.symbols() {
		s.syms[sym.Name] = sym
	}
	s.codeLen, s.roLen, s.section = a.codeEnd, a.roBase+a.roLen, a.section
	return p, nil
}

// Symbols returns the session's symbol table sorted by name.
func (s *Session) Symbols() []Symbol {
	syms := make([]Symbol, 0, len(s.syms))
	for _, sym := range s.syms {
		syms = append(syms, sym)
	}
	sortSymbols(syms)
	return syms
}

// Reset replaces the session's state: the code and read-only lengths become
// those of p (nil means an empty program), the symbol table becomes syms and
// the next chunk starts in the .code section. The REPL calls it after
// !load_file and !clear_program.
func (s *Session) Reset(p *vm.Program, syms []Symbol) {
	s.codeLen, s.roLen, s.section = 0, 0, sectionCode
	if p != nil {
		s.codeLen, s.roLen = len(p.Code), len(p.ROData)
	}
	s.syms = make(map[string]Symbol, len(syms))
	for _, sym := range syms {
		s.syms[sym.Name] = sym
	}
}
