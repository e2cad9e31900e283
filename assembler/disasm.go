package assembler

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/iridium-go/iridium/vm"
)

// Disassemble turns a program back into assembly source. For code that
// vm.Verify accepts, assembling the result gives exactly the same bytes
// (with Assemble, i.e. at code address 0 and read-only offset 0).
//
// The listing has:
//
//   - a .data section when there is read-only data: the bytes are split into
//     chunks after every NUL and at every offset that a PRTS prints from; a
//     chunk that ends in NUL is an .asciiz, any other an .ascii. Bytes other
//     than printable ASCII are written as \n, \t or \xHH, and ' and \ are
//     escaped. A chunk that a PRTS prints is labelled Dxxxx, xxxx being its
//     offset in hex;
//   - a .code section: one instruction per line, mnemonic in lower case,
//     followed by a comment with its address. Direct jump and call targets
//     inside the code (or at its very end) get labels Lxxxx. PRTS offsets
//     inside the read-only data use the D labels; other operands are
//     numbers;
//   - a 4-byte word that is not a valid instruction (unknown opcode,
//     register byte >= 32, non-zero unused byte, jump target past the end of
//     the code or not a multiple of 4) as a ".word #0xOOAABBCC" line (bytes
//     0-3 in order), with the reason in the comment; Assemble turns it back
//     into the same bytes, though vm.Verify will still refuse them (and Load
//     refuses such a .word);
//   - code whose length is not a multiple of 4 ends with a comment listing
//     the trailing bytes; those do not re-assemble.
func Disassemble(p *vm.Program) string { return DisassembleWithSymbols(p, nil) }

// DisassembleWithSymbols is Disassemble using the program's own label names
// where syms has them (the REPL's !program, iridium -d on assembly);
// addresses without a name get the synthesized Lxxxx and Dxxxx labels.
// Assembling the result gives the same bytes and defines every name at its
// place. As a data label needs data after it, a name that shares its
// offset with a later one, or comes after the last byte, is given an
// empty .ascii string.
func DisassembleWithSymbols(p *vm.Program, syms []Symbol) string {
	var s strings.Builder
	WriteDisassembly(&s, p, syms) // a strings.Builder takes every write
	return s.String()
}

// WriteDisassembly writes DisassembleWithSymbols(p, syms) to w line by
// line, so that a listing of hundreds of megabytes (a 16 MB program of
// jumps has one) is never held whole, and stops at the first error
// writing, which it returns (a reader that has gone, such as head).
func WriteDisassembly(w io.Writer, p *vm.Program, syms []Symbol) error {
	b := bufio.NewWriterSize(w, 64<<10)
	disassemble(b, p, syms)
	return b.Flush()
}

// addrSet is a set of addresses, one bit each: code addresses or
// read-only offsets, millions of them in a large program.
type addrSet []uint64

func newAddrSet(size int) addrSet { return make(addrSet, size/64+1) }
func (s addrSet) add(at int)      { s[at/64] |= 1 << (at % 64) }
func (s addrSet) has(at int) bool { return at/64 < len(s) && s[at/64]&(1<<(at%64)) != 0 }

// listingNames names code addresses and read-only offsets: every name a symbol
// gives an address is printed there, and operands use the first.
type listingNames struct {
	code, data map[int][]string
	taken      map[string]bool // every symbol name, so synthesized ones avoid them
}

func newListingNames(syms []Symbol, codeLen, roLen int) listingNames {
	l := listingNames{code: map[int][]string{}, data: map[int][]string{}, taken: map[string]bool{}}
	for _, s := range syms {
		l.taken[s.Name] = true
		switch {
		case s.Kind == SymbolCode && s.Value >= 0 && s.Value <= codeLen && s.Value%vm.InstructionSize == 0:
			l.code[s.Value] = append(l.code[s.Value], s.Name)
		case s.Kind == SymbolData && s.Value >= 0 && s.Value <= roLen:
			l.data[s.Value] = append(l.data[s.Value], s.Name)
		}
	}
	return l
}

// synth makes a label name that no symbol uses.
func (l listingNames) synth(prefix string, at int) string {
	name := fmt.Sprintf("%s%04x", prefix, at)
	for l.taken[name] {
		name += "_"
	}
	return name
}

func (l listingNames) codeName(at int) string {
	if names := l.code[at]; len(names) > 0 {
		return names[0]
	}
	return l.synth("L", at)
}

func (l listingNames) dataName(at int) string {
	if names := l.data[at]; len(names) > 0 {
		return names[0]
	}
	return l.synth("D", at)
}

// writeLabels writes the label lines for an address: the symbols' names, or the
// synthesized name when the address needs a label and has none.
func writeLabels(b *bufio.Writer, names []string, needed bool, synth func() string) {
	for _, name := range names {
		b.WriteString(name + ":\n")
	}
	if needed && len(names) == 0 {
		b.WriteString(synth() + ":\n")
	}
}

// writeDataLabels writes the label lines for a read-only offset, as writeLabels
// does, where the data that follows must come right after the last of
// them: each one before it gets an empty string, no bytes at the same
// offset.
func writeDataLabels(b *bufio.Writer, names []string, needed bool, synth func() string, off int) {
	if needed && len(names) == 0 {
		names = []string{synth()}
	}
	for i, name := range names {
		b.WriteString(name + ":\n")
		if i < len(names)-1 {
			emptyString(b, off)
		}
	}
}

func emptyString(b *bufio.Writer, off int) {
	writeLine(b, fmt.Sprintf("    %-7s ''", ".ascii"), vm.FormatAddress(off))
}

// disassemble writes the listing to b; it stops early when a write fails
// (b then keeps the error for Flush).
func disassemble(b *bufio.Writer, p *vm.Program, syms []Symbol) {
	var code, ro []byte
	if p != nil {
		code, ro = p.Code, p.ROData
	}
	n := len(code) / vm.InstructionSize * vm.InstructionSize
	names := newListingNames(syms, n, len(ro))

	// Find jump targets and string offsets.
	jumps := newAddrSet(n + 1) // a target may be the end of the code
	strs := newAddrSet(len(ro))
	for pc := 0; pc < n; pc += vm.InstructionSize {
		in := vm.Decode(code[pc:])
		if refused(in, n) != nil {
			continue
		}
		info, _ := in.Op.Info()
		switch t := int(in.Imm24()); {
		case info.Shape == vm.ShapeAddr24:
			jumps.add(t)
		case info.Shape == vm.ShapeData24 && t < len(ro):
			strs.add(t)
		}
	}

	if len(ro) > 0 || names.data[len(ro)] != nil {
		b.WriteString(".data\n")
		for off := 0; off < len(ro); {
			if _, err := b.Write(nil); err != nil {
				return
			}
			end := off + 1
			for end < len(ro) && ro[end-1] != 0 && !strs.has(end) && names.data[end] == nil {
				end++
			}
			writeDataLabels(b, names.data[off], strs.has(off), func() string { return names.dataName(off) }, off)
			chunk := ro[off:end]
			dir := ".ascii"
			if chunk[len(chunk)-1] == 0 {
				dir, chunk = ".asciiz", chunk[:len(chunk)-1]
			}
			writeLine(b, fmt.Sprintf("    %-7s %s", dir, quoteString(chunk)), vm.FormatAddress(off))
			off = end
		}
		for _, name := range names.data[len(ro)] { // after the last byte
			b.WriteString(name + ":\n")
			emptyString(b, len(ro))
		}
	}
	b.WriteString(".code\n")
	for pc := 0; pc < n; pc += vm.InstructionSize {
		if _, err := b.Write(nil); err != nil { // what a failed write left
			return
		}
		writeLabels(b, names.code[pc], jumps.has(pc), func() string { return names.codeName(pc) })
		in := vm.Decode(code[pc:])
		addr := vm.FormatAddress(pc)
		if err := refused(in, n); err != nil {
			writeLine(b, fmt.Sprintf("    %-7s #0x%02x%02x%02x%02x", ".word", byte(in.Op), in.A, in.B, in.C), addr+" invalid: "+err.Error())
			continue
		}
		info, _ := in.Op.Info()
		writeLine(b, "    "+formatInstr(in, info, len(ro), strs, names), addr)
	}
	writeLabels(b, names.code[n], jumps.has(n), func() string { return names.codeName(n) })
	if n < len(code) {
		b.WriteString("; trailing bytes (not a whole instruction):")
		for _, c := range code[n:] {
			fmt.Fprintf(b, " %02x", c)
		}
		b.WriteByte('\n')
	}
}

// commentColumn is where the address comments start.
const commentColumn = 28

// writeLine writes one line of the listing: text, and comment in the
// comment column.
func writeLine(b *bufio.Writer, text, comment string) {
	b.WriteString(text)
	pad := max(commentColumn-len(text), 1)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteString("; ")
	b.WriteString(comment)
	b.WriteByte('\n')
}

// refused says why the VM would refuse in as an instruction of code
// codeLen bytes long, or nil. It asks vm.Verify about in alone, with a
// direct target checked here instead, since one instruction alone has no
// code to jump into.
func refused(in vm.Instruction, codeLen int) error {
	info, ok := in.Op.Info()
	if !ok {
		return vm.ErrUnknownOpcode
	}
	probe := in
	if info.Shape == vm.ShapeAddr24 {
		if !vm.ValidTarget(int(in.Imm24()), codeLen) {
			return vm.ErrBadTarget
		}
		probe.A, probe.B, probe.C = 0, 0, 0
	}
	b := probe.Bytes()
	if err := vm.Verify(&vm.Program{Code: b[:]}); err != nil {
		var f *vm.Fault
		if errors.As(err, &f) {
			return f.Err
		}
		return err
	}
	return nil
}

// formatInstr writes a valid instruction in assembly syntax.
func formatInstr(in vm.Instruction, info vm.Info, roLen int, strs addrSet, names listingNames) string {
	m := strings.ToLower(info.Name)
	var ops string
	switch info.Shape {
	case vm.ShapeNone:
		return m
	case vm.ShapeR:
		ops = fmt.Sprintf("$%d", in.A)
	case vm.ShapeRR:
		ops = fmt.Sprintf("$%d $%d", in.A, in.B)
	case vm.ShapeRRR:
		ops = fmt.Sprintf("$%d $%d $%d", in.A, in.B, in.C)
	case vm.ShapeRImm16:
		ops = fmt.Sprintf("$%d #%d", in.A, in.Imm16())
	case vm.ShapeRShift:
		ops = fmt.Sprintf("$%d", in.A)
		if in.B != 0 {
			ops += fmt.Sprintf(" #%d", in.B)
		}
	case vm.ShapeAddr24:
		ops = "@" + names.codeName(int(in.Imm24())) // within the code: labelled above
	case vm.ShapeImm24:
		ops = fmt.Sprintf("#%d", in.Imm24())
	case vm.ShapeData24:
		if t := int(in.Imm24()); t < roLen && strs.has(t) {
			ops = "@" + names.dataName(t)
		} else {
			ops = fmt.Sprintf("#%d", t)
		}
	}
	return fmt.Sprintf("%-7s %s", m, ops)
}

// quoteString writes b as a single-quoted assembly string.
func quoteString(b []byte) string {
	var s strings.Builder
	s.WriteByte('\'')
	for _, c := range b {
		switch {
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '\\':
			s.WriteString(`\\`)
		case c == '\'':
			s.WriteString(`\'`)
		case c == 0:
			s.WriteString(`\0`)
		case c < 0x20 || c >= 0x7f:
			s.WriteString(`\x` + hex2(c))
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte('\'')
	return s.String()
}
