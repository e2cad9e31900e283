package assembler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// A file with a NUL byte is binary: one assembly error at its first NUL
// that says so, not one error per stretch of its bytes. Its column counts
// characters, as every error's does.
func TestNotText(t *testing.T) {
	elf := "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00\x01garbage\xff", 500)
	const msg = ": a binary file, neither Iridium bytecode nor assembly text"
	tests := []struct {
		name, src, want string
	}{
		{"binary", elf, "1:8: NUL byte at offset 0x0007" + msg},
		{"NUL in a string", ".data\ns: .asciiz 'a\x00b'", "2:14: NUL byte at offset 0x0013" + msg},
		{"NUL far in", strings.Repeat("nop\n", 0x1000) + "\x00", "4097:1: NUL byte at offset 0x4000" + msg},
		{"tab, runes, bad UTF-8", "; h\u00e9llo\n\tnop \u2713 \xff\xfe\x00 \x00", "2:10: NUL byte at offset 0x0014" + msg},
		{"half a rune", "\xe2\x82\x00", "1:3: NUL byte at offset 0x0002" + msg},
		{"CR LF", "nop\r\n\x00", "2:1: NUL byte at offset 0x0005" + msg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, p *vm.Program, err error) {
				t.Helper()
				if p != nil || !errors.Is(err, ErrNotText) {
					t.Fatalf("%s: %v, %v; want ErrNotText", how, p, err)
				}
				errs := Errors(err)
				if len(errs) != 1 || errs[0].Error() != tc.want || err.Error() != tc.want {
					t.Errorf("%s: %q (Errors: %q), want one error %q", how, err, errs, tc.want)
				}
				if len(errs) > 0 && !errors.Is(errs[0], ErrNotText) {
					t.Errorf("%s: the Error itself does not wrap ErrNotText", how)
				}
			}
			p, err := Assemble(tc.src)
			check("Assemble", p, err)
			p, _, err = AssembleFile(tc.src)
			check("AssembleFile", p, err)
			p, _, err = Load([]byte(tc.src))
			check("Load", p, err)
		})
	}
	// Other assembly errors wrap nothing.
	if _, err := Assemble("frob"); err == nil || errors.Is(err, ErrNotText) {
		t.Errorf("Assemble(frob): %v", err)
	}
	// Bytecode is full of NULs, and Load still loads it.
	bin, err := mustAssemble(t, "nop\nhlt").MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := Load(bin); err != nil || len(p.Code) != 8 {
		t.Errorf("Load(bytecode) = %v, %v", p, err)
	}
	// A REPL line is no file: a NUL in it is an error where it stands.
	if _, err := NewSession().Assemble("nop \x00"); err == nil || err.Error() != `1:5: unexpected character '\x00'` {
		t.Errorf("Session.Assemble: %v", err)
	}
}

// The message of a long error list shows the first maxShownErrors errors
// and counts the rest; Errors returns them all, up to maxErrors and the
// one saying that assembly stopped there.
func TestErrorListCapped(t *testing.T) {
	stopped := fmt.Sprintf("%d:1: %s", maxErrors+1, tooManyErrors)
	tests := []struct {
		bad      int
		wantTail []string // the lines after the errors shown
	}{
		{1, nil},
		{maxShownErrors, nil},
		{maxShownErrors + 1, []string{"... and 1 more error"}},
		{maxErrors, []string{"... and 980 more errors"}},
		// Assembly stops after maxErrors: one more error says so, at
		// the line where it stopped, shown last.
		{maxErrors + 1, []string{"... and at least 980 more errors", stopped}},
		{100 * maxErrors, []string{"... and at least 980 more errors", stopped}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.bad), func(t *testing.T) {
			src := strings.Repeat("frob $1\n", tc.bad)
			_, err := Assemble(src)
			errs := Errors(err)
			if n := len(errs); n != min(tc.bad, maxErrors+1) {
				t.Fatalf("Errors() has %d errors, want %d", n, min(tc.bad, maxErrors+1))
			}
			if last := errs[len(errs)-1]; tc.bad > maxErrors && last.Error() != stopped {
				t.Errorf("last error %q, want assembly stopped at line %d", last, maxErrors+1)
			}
			lines := strings.Split(err.Error(), "\n")
			shown := lines[:len(lines)-len(tc.wantTail)]
			if tail := lines[len(shown):]; !slices.Equal(tail, tc.wantTail) {
				t.Errorf("last lines %q, want %q", tail, tc.wantTail)
			}
			if len(shown) != min(tc.bad, maxShownErrors) {
				t.Errorf("%d errors shown, want %d:\n%s", len(shown), min(tc.bad, maxShownErrors), err)
			}
			for i, l := range shown {
				if want := fmt.Sprintf(`%d:1: unknown mnemonic "frob"`, i+1); l != want {
					t.Fatalf("line %d: %q, want %q", i+1, l, want)
				}
			}
		})
	}
}

// FormatErrors writes the same list with a prefix on every error, for
// callers that name the file on each line.
func TestFormatErrors(t *testing.T) {
	_, err := Assemble(strings.Repeat("frob $1\n", 25))
	errs := Errors(err)
	got := FormatErrors(errs, "f.iasm:")
	lines := strings.Split(got, "\n")
	if len(lines) != maxShownErrors+1 || lines[0] != `f.iasm:1:1: unknown mnemonic "frob"` ||
		lines[maxShownErrors-1] != `f.iasm:20:1: unknown mnemonic "frob"` || lines[maxShownErrors] != "... and 5 more errors" {
		t.Errorf("FormatErrors:\n%s", got)
	}
	if plain := FormatErrors(errs, ""); plain != err.Error() {
		t.Errorf("FormatErrors(errs, \"\") = %q, the error says %q", plain, err)
	}
}

// checkCounter is a context that counts how often assembly looks at it,
// and is done from look number cancelAt on (never if cancelAt is 0).
type checkCounter struct {
	context.Context
	checks, cancelAt int
}

var errStop = errors.New("stop, says the test")

func (c *checkCounter) Err() error {
	c.checks++
	if c.cancelAt > 0 && c.checks >= c.cancelAt {
		return context.Canceled
	}
	return nil
}

func TestAssembleContext(t *testing.T) {
	src := wideLoadChain(1000, 3000) + asciizSource(2000)

	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errStop)
	p, err := AssembleContext(ctx, src)
	if p != nil || !errors.Is(err, errStop) || !strings.HasPrefix(err.Error(), "assembly interrupted: ") {
		t.Fatalf("cancelled before: %v, %v", p, err)
	}
	if p, _, err := LoadContext(ctx, []byte(src)); p != nil || !errors.Is(err, errStop) {
		t.Fatalf("LoadContext: %v, %v", p, err)
	}

	// Stopped at any of the looks it takes, assembly returns the error and
	// no program; not stopped, it returns the program.
	all := &checkCounter{Context: context.Background()}
	want, syms, err := AssembleFileContext(all, src)
	if err != nil || len(syms) != 1000+2000 {
		t.Fatalf("not stopped: %v, %d symbols", err, len(syms))
	}
	for at := 1; at <= all.checks; at += max(1, all.checks/30) {
		ctx := &checkCounter{Context: context.Background(), cancelAt: at}
		p, _, err := AssembleFileContext(ctx, src)
		if p != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped at look %d of %d: %v, %v", at, all.checks, p, err)
		}
		if ctx.checks > at+1 {
			t.Errorf("stopped at look %d, looked %d times", at, ctx.checks)
		}
	}
	if p, err := AssembleContext(context.Background(), src); err != nil || string(p.Code) != string(want.Code) {
		t.Errorf("AssembleContext: %v", err)
	}
}

// Sizing the LOADs of the chain takes a few passes over the program, not
// one per LOAD: assembly looks at its context once per checkEvery lines
// or instructions handled, so the looks count the work.
func TestLayoutWorkIsLinear(t *testing.T) {
	const k = 4000
	src := wideLoadChain(k, 20000)
	lines := strings.Count(src, "\n")
	ctx := &checkCounter{Context: context.Background()}
	if _, err := AssembleContext(ctx, src); err != nil {
		t.Fatal(err)
	}
	const maxPasses = 8 // parsing, sizing, two placings, the sweep, encoding, and room
	if limit := maxPasses * (lines/checkEvery + 1); ctx.checks > limit {
		t.Errorf("%d looks at the context for %d lines: more than %d passes' worth (%d)", ctx.checks, lines, maxPasses, limit)
	}
}

// The assembler allocates a few bytes per byte of source, whatever the
// source holds: a bound on what it can hold at once. The bound is
// generous (the benchmarks report the figures); the assembler took 35-45
// bytes per byte of these sources before it kept one small record per
// line in blocks that never move.
func TestAssembleMemory(t *testing.T) {
	const maxPerByte = 10
	for _, tc := range []struct {
		name string
		make func(int) string
	}{
		{"asciiz", asciizSource},
		{"instructions", instrSource},
		{"wide load chain", func(n int) string { return wideLoadChain(4000, n) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sourceOfSize(1<<20, tc.make)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			p, syms, err := AssembleFile(src)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			runtime.KeepAlive(p)
			runtime.KeepAlive(syms)
			perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(src))
			t.Logf("%.2f bytes allocated per byte of source", perByte)
			if perByte > maxPerByte {
				t.Errorf("%.1f bytes allocated per byte of source, want at most %d", perByte, maxPerByte)
			}
		})
	}
}

// A line of a million operands is one error, and costs what the source
// does: a line's tokens past the few a line can mean are counted, not
// kept (kept, a 64 MiB line would take gigabytes). Garbage past the tokens
// kept still stands for operands of unknown count: no count error then.
func TestLongLineMemory(t *testing.T) {
	const n = 1 << 20
	for _, tc := range []struct {
		name, src, want string
	}{
		{"operands", "add " + strings.Repeat("$1 ", n), fmt.Sprintf("1:1: ADD takes 3 operands, got %d", n)},
		{"directive", ".data\ns: .asciiz " + strings.Repeat("'a' ", n), fmt.Sprintf("2:4: .asciiz takes 1 operand, got %d", n)},
		{"garbage after", "add " + strings.Repeat("#1 ", n) + "~", fmt.Sprintf("1:%d: unexpected character '~'", 5+3*n)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Assemble(tc.src)
			runtime.ReadMemStats(&after)
			if errs := Errors(err); len(errs) != 1 || errs[0].Error() != tc.want {
				t.Fatalf("%d errors: %v\nwant %s", len(errs), err, tc.want)
			}
			if perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(tc.src)); perByte > 1 {
				t.Errorf("%.1f bytes allocated per byte of source, want at most 1", perByte)
			}
		})
	}
}

// An error quotes at most escape.MaxQuoted characters of the source it names,
// and says how long it was: a message stays one short line whatever the
// source holds.
func TestLongSourceIsClipped(t *testing.T) {
	long := func(c string) string { return strings.Repeat(c, 5000) }
	tests := []struct {
		src, want string
	}{
		{"load $1 #" + strings.Repeat("9", 100_000), `1:9: integer #` + strings.Repeat("9", 39) + `... (100001 characters) out of range for LOAD (-2147483648..2147483647)`},
		{long("x") + " $1", `1:1: unknown mnemonic "` + strings.Repeat("x", 40) + `... (5000 characters)"`},
		{"load $1 @" + long("y"), `1:9: undefined label "` + strings.Repeat("y", 40) + `... (5000 characters)"`},
		{"load $1 #12" + long("q"), `1:9: bad integer "#12` + strings.Repeat("q", 37) + `... (5003 characters)"`},
		// An operand of the wrong kind: its kind is named whole, its text
		// clipped, and counted without the kind's name.
		{"load $0 '" + strings.Repeat("a", 50) + "'", `1:9: LOAD operand 2 must be an integer or a label, got string '` + strings.Repeat("a", 39) + `... (52 characters)`},
		{"push @" + long("z"), `1:6: PUSH operand 1 must be a register, got label reference @` + strings.Repeat("z", 39) + `... (5001 characters)`},
		{"a: hlt\na: hlt", `2:1: duplicate label "a" (first defined at 1:1)`}, // short: whole
	}
	for _, tc := range tests {
		_, err := Assemble(tc.src)
		errs := Errors(err)
		if len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("%.20q...: %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// One line of garbage stops assembly as many lines do: the lexer's errors
// count too, and the line's tokens past that point are not kept.
func TestErrorsStopInALine(t *testing.T) {
	_, err := Assemble("nop " + strings.Repeat("~ ", 5*maxErrors) + "\nfrob\n")
	errs := Errors(err)
	if len(errs) != maxErrors+1 || errs[len(errs)-1].Msg != tooManyErrors || errs[len(errs)-1].Pos.Line != 1 {
		t.Fatalf("%d errors, the last %v; want %d, the last saying assembly stopped on line 1", len(errs), errs[len(errs)-1], maxErrors+1)
	}
}

// Code that cannot fit the 24-bit address space stops assembly at the
// first instruction past its end, with one error there, and keeps no
// instruction after it: a file of millions of lines too many costs what
// the lines that fit do. A LOAD of a label that needs two words can push
// the code past the end too; layout finds that, and names the instruction
// that crosses it.
func TestCodeFillsTheAddressSpace(t *testing.T) {
	const room = 3 // instructions between the chunk's start and the end
	base := vm.MaxImm24 + 1 - room*vm.InstructionSize
	tests := []struct {
		name, src string
		want      string // the error, "" for none
		kept      int    // the instructions pass 1 keeps
	}{
		{"fits", "nop\nnop\nhlt", "", 3},
		{"one too many", "nop\nnop\nnop\nhlt", "4:1: code exceeds the 24-bit address space: assembly stopped here", 3},
		{"errors after it are not looked for", "nop\nnop\nnop\nhlt\nfrob $1\nload $99 #1", "4:1: code exceeds the 24-bit address space: assembly stopped here", 3},
		{"errors before it are kept", "frob\nnop\nnop\nnop\nnop", "1:1: unknown mnemonic \"frob\"\n5:1: code exceeds the 24-bit address space: assembly stopped here", 3},
		{"a .word", "nop\nnop\nnop\n.word #0", "4:1: code exceeds the 24-bit address space: assembly stopped here", 3},
		{"a LOAD of a label grows", "load $1 @x\nx: nop\nhlt", "3:1: code exceeds the 24-bit address space", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAsm(context.Background(), base, 0, sectionCode, nil)
			_, err := a.run(tc.src)
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
			if a.code.len() != tc.kept {
				t.Errorf("kept %d instructions, want %d", a.code.len(), tc.kept)
			}
			// A REPL session whose code already ends there says the same.
			s := NewSession()
			s.codeLen = base
			if _, err := s.Assemble(tc.src); (err == nil) != (tc.want == "") {
				t.Errorf("Session.Assemble: %v", err)
			}
		})
	}
}
