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
	undo    *chunkUndo // what Undo takes back; nil when there is nothing
}

// chunkUndo is the session as it was before its last chunk, and the
// labels that chunk defined (a chunk cannot redefine an earlier label, so
// taking it back is deleting them).
type chunkUndo struct {
	codeLen, roLen int
	section        section
	labels         []string
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
	syms := a.symbols()
	u := &chunkUndo{codeLen: s.codeLen, roLen: s.roLen, section: s.section, labels: make([]string, len(syms))}
	for i, sym := range syms {
		s.syms[sym.Name] = sym
		u.labels[i] = sym.Name
	}
	s.codeLen, s.roLen, s.section, s.undo = a.codeEnd, a.roBase+a.roLen, a.section, u
	return p, nil
}

// Undo takes back the last chunk that assembled, as if it never had: its
// labels, its code and data lengths, its section. It costs what the chunk
// did, not what the session holds: the REPL calls it when the VM refuses a
// chunk the assembler accepted. A second Undo, or one after Reset, does
// nothing.
func (s *Session) Undo() {
	u := s.undo
	if u == nil {
		return
	}
	for _, name := range u.labels {
		delete(s.syms, name)
	}
	s.codeLen, s.roLen, s.section, s.undo = u.codeLen, u.roLen, u.section, nil
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
	s.codeLen, s.roLen, s.section, s.undo = 0, 0, sectionCode, nil
	if p != nil {
		s.codeLen, s.roLen = len(p.Code), len(p.ROData)
	}
	s.syms = make(map[string]Symbol, len(syms))
	for _, sym := range syms {
		s.syms[sym.Name] = sym
	}
}
