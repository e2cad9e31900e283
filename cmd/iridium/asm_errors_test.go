package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/iridium-go/iridium/internal/testutil"
)

// A file without the bytecode magic is assembly, and one with a NUL byte
// (an executable, an image) is binary: it gets one assembly error, at the
// line and column of its first NUL, that says so, and exit status 2,
// whatever the run was asked to do with it.
func TestNotAssemblyFile(t *testing.T) {
	const msg = ": a binary file, neither Iridium bytecode nor assembly text\n"
	elf := writeFile(t, "prog", "\x7fELF\x02\x01\x01\x00"+strings.Repeat("\x00\x01garbage\xff\n", 5000))
	later := writeFile(t, "later.iasm", "; h\u00e9ader\nnop\n\tload $1 #2 \u2713\xff\x00junk\x00\n")
	tests := []struct {
		name, file, want string
	}{
		{"made-up ELF", elf, elf + ":\n1:8: NUL byte at offset 0x0007" + msg},
		{"NUL at line 3", later, later + ":\n3:15: NUL byte at offset 0x001e" + msg},
		{"this very binary", binary, binary + ":\n1:8: NUL byte at offset 0x0007" + msg},
	}
	for _, tc := range tests {
		for _, args := range [][]string{{tc.file}, {"-d", tc.file}, {"-o", os.DevNull, tc.file}} {
			t.Run(tc.name+" "+strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
				r := iridium(t, "", nil, args...)
				if r.code != exitUsage || r.stderr != tc.want || r.stdout != "" {
					t.Errorf("code %d, stdout %q, stderr (%d bytes):\n%.2000s\nwant code %d and stderr %q",
						r.code, r.stdout, len(r.stderr), r.stderr, exitUsage, tc.want)
				}
			})
		}
	}
	// The REPL's !load_file gets the same single error.
	r := iridium(t, "!load_file "+elf+"\n", nil)
	if !strings.Contains(r.stderr, elf+":1:8: NUL byte at offset 0x0007"+msg) || strings.Count(r.stderr, "\n") > 2 {
		t.Errorf("!load_file: stderr (%d bytes):\n%.2000s", len(r.stderr), r.stderr)
	}
}

// What an error quotes back (source text, the file's path) is escaped, as
// in the REPL: an ESC or a carriage return in it is shown, not sent to the
// terminal.
func TestFileErrorsEscaped(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, source string
		want               []string
	}{
		{"a string token", filepath.Join(dir, "e.iasm"), "load $0 'a\x1b[31mb'\nprts '\r'\n",
			[]string{`got string 'a\x1b[31mb'`, `got string '\r'`}},
		{"the path", filepath.Join(dir, "e\x1b[2J.iasm"), "frob\n", []string{`e\x1b[2J.iasm:`}},
		{"a missing file's path", filepath.Join(dir, "none\u202e.iasm"), "", []string{`none\u202e.iasm: no such file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.source != "" {
				if err := os.WriteFile(tc.path, []byte(tc.source), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{{tc.path}, {"-d", tc.path}, {"-o", os.DevNull, tc.path}} {
				r := iridium(t, "", nil, args...)
				if strings.ContainsAny(r.stderr, "\x1b\r\u202e") {
					t.Errorf("%v: raw control characters in stderr %q", args, r.stderr)
				}
				for _, want := range tc.want {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("%v: stderr %q does not say %q", args, r.stderr, want)
					}
				}
			}
		})
	}
}

// A text file full of mistakes shows the first 20 errors and counts the
// rest.
func TestAssemblyErrorsCapped(t *testing.T) {
	tests := []struct {
		lines     int
		wantLines int
		wantLast  string
	}{
		{5, 1 + 5, `5:1: unknown mnemonic "frob"`},
		{20, 1 + 20, `20:1: unknown mnemonic "frob"`},
		{1000, 1 + 20 + 1, "... and 980 more errors"},
		{5000, 1 + 20 + 2, "1001:1: too many errors: assembly stopped here"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.lines), func(t *testing.T) {
			file := writeFile(t, "bad.iasm", strings.Repeat("frob $1\n", tc.lines))
			r := iridium(t, "", nil, file)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if r.code != exitUsage || len(lines) != tc.wantLines || lines[0] != file+":" || lines[len(lines)-1] != tc.wantLast {
				t.Errorf("code %d, %d lines of stderr:\n%.3000s\nwant code %d, %d lines ending %q",
					r.code, len(lines), r.stderr, exitUsage, tc.wantLines, tc.wantLast)
			}
		})
	}
}

// What the VM would refuse is an assembly error at its line, for a run and
// for -o, which writes only bytecode that loads; -d lists a raw .word as it
// is.
func TestRefusedCodeAtItsLine(t *testing.T) {
	file := writeFile(t, "raw.iasm", "load $1 #3\n.word #0xff000000\n  djmp #100\nhlt\n")
	want := file + ":\n" +
		"2:1: .word #0xff000000 is not an instruction the VM accepts: unknown opcode\n" +
		"3:8: DJMP target #100 is past the end of the code (0x0010)\n"
	out := t.TempDir() + "/raw.ibc"
	for _, args := range [][]string{{file}, {"-o", out, file}} {
		r := iridium(t, "", nil, args...)
		if r.code != exitUsage || r.stderr != want || r.stdout != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want code %d, stderr %q", args, r.code, r.stdout, r.stderr, exitUsage, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o wrote %s (stat: %v)", out, err)
	}
	raw := writeFile(t, "word.iasm", "load $1 #3\n.word #0xff000000\n")
	r := iridium(t, "", nil, "-d", raw)
	if r.code != exitOK || !strings.Contains(r.stdout, ".word   #0xff000000") {
		t.Errorf("-d: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// -o onto FILE itself, by any path, is refused and leaves the source as it
// was.
func TestOutputOverSource(t *testing.T) {
	src := "load $1 #3\nhlt\n"
	file := writeFile(t, "prog.iasm", src)
	link := filepath.Join(t.TempDir(), "link.iasm")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{file, link} {
		r := iridium(t, "", nil, "-o", out, file)
		if r.code != exitUsage || !strings.Contains(r.stderr, "is FILE itself") {
			t.Errorf("-o %s: code %d, stderr %q", out, r.code, r.stderr)
		}
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != src {
		t.Errorf("source now %q (%v)", got, err)
	}
}

// -o writes its file whole or not at all: on a full disk it fails, saying
// --output, and the file written before is still there, whole; /dev/null
// is written in place, and a directory is refused naming the flag.
func TestOutputWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		testutil.Missing(t, fmt.Sprintf("cannot mount a small tmpfs (needs root, as in CI): %v", err))
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	small := writeFile(t, "small.iasm", "hlt\n")
	big := writeFile(t, "big.iasm", strings.Repeat("nop\n", 8192)) // 32 KiB of code
	out := filepath.Join(dir, "prog.iebc")
	if r := iridium(t, "", nil, "-o", out, small); r.code != 0 {
		t.Fatalf("-o: code %d, %s", r.code, r.stderr)
	}
	before, _ := os.ReadFile(out)
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err = filler.Write(make([]byte, 4096)); err == nil; _, err = filler.Write(make([]byte, 4096)) {
	}
	filler.Close()
	r := iridium(t, "", nil, "-o", out, big)
	if r.code != exitFault || !strings.Contains(r.stderr, "iridium: --output: write "+out+": no space left") {
		t.Errorf("-o on a full disk: code %d, stderr %q (it names OUT, not a temporary file)", r.code, r.stderr)
	}
	if after, err := os.ReadFile(out); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the earlier output is now %d bytes (%v), was %d", len(after), err, len(before))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("left in the directory: %v", entries)
	}
	if r := iridium(t, "", nil, "-o", os.DevNull, small); r.code != 0 {
		t.Errorf("-o /dev/null: code %d, %s", r.code, r.stderr)
	}
	if r := iridium(t, "", nil, "-o", t.TempDir(), small); r.code != exitFault || !strings.Contains(r.stderr, "iridium: --output: ") {
		t.Errorf("-o DIR: code %d, stderr %q", r.code, r.stderr)
	}
}

// -o replaces OUT's contents and nothing else about it: its mode, a
// symbolic link to it (or to where it is to be), another hard link to it;
// a name near the longest a file may have works.
func TestOutputKeepsWhatOUTIs(t *testing.T) {
	src := writeFile(t, "p.iasm", "hlt\n")
	dir, elsewhere := t.TempDir(), t.TempDir()
	private := filepath.Join(dir, "private.iebc")
	put(t, dir, "private.iebc", "old", 0o600)
	linked := filepath.Join(dir, "linked.iebc")
	if err := os.Symlink(filepath.Join(elsewhere, "target.iebc"), linked); err != nil { // leads nowhere yet
		t.Fatal(err)
	}
	hard, other := filepath.Join(dir, "hard.iebc"), filepath.Join(elsewhere, "other-name.iebc")
	put(t, dir, "hard.iebc", "old", 0o644)
	if err := os.Link(hard, other); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, strings.Repeat("x", 250)+".iebc")
	for _, out := range []string{private, linked, hard, long} {
		if r := iridium(t, "", nil, "-o", out, src); r.code != 0 {
			t.Fatalf("-o %s: code %d, %s", filepath.Base(out), r.code, r.stderr)
		}
	}
	want, _ := os.ReadFile(long)
	if info, _ := os.Stat(private); info.Mode().Perm() != 0o600 {
		t.Errorf("a 0600 OUT is now %v", info.Mode())
	}
	if l, err := os.Lstat(linked); err != nil || l.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link is no longer one: %v", err)
	}
	for _, p := range []string{private, filepath.Join(elsewhere, "target.iebc"), hard, other} {
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s holds %q (%v), want the program", p, got, err)
		}
	}
}

// -o /dev/stdout, however it is named, writes to the stream stdout is,
// after what it holds, without opening it again: a file stdout appends to
// keeps what was there, and the program goes after it.
func TestOutputToStdoutStream(t *testing.T) {
	src := writeFile(t, "p.iasm", "hlt\n")
	r := iridium(t, "", nil, "-o", "/dev/stdout", src)
	if r.code != 0 || len(r.stdout) == 0 {
		t.Fatalf("-o /dev/stdout to a pipe: code %d, %d bytes, %s", r.code, len(r.stdout), r.stderr)
	}
	want := []byte(r.stdout)
	link := filepath.Join(t.TempDir(), "so")
	if err := os.Symlink("/dev/stdout", link); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"/dev/stdout", "//dev/stdout", "/dev/fd/1", "/proc/self/fd/1", link} {
		path := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(path, []byte("BEFORE\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, "-o", name, src)
		cmd.Stdout = f
		err = cmd.Run()
		f.Close()
		got, _ := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, append([]byte("BEFORE\n"), want...)) {
			t.Errorf("-o %s: %v; the file holds %q", name, err, got)
		}
	}
}
