package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// labelDef matches a label definition at the start of a source line.
var labelDef = regexp.MustCompile(`(?m)^\s*([A-Za-z_][A-Za-z0-9_]*):`)

// iridium -d on an assembly file lists it with its own label names, and
// the listing assembles to the same bytecode as the file.
func TestDisassembleKeepsLabelNames(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.iasm")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dis := iridium(t, "", nil, "-d", file)
			if dis.code != 0 || dis.stderr != "" {
				t.Fatalf("-d: code %d, stderr %s", dis.code, dis.stderr)
			}
			for _, m := range labelDef.FindAllStringSubmatch(string(src), -1) {
				if !strings.Contains(dis.stdout, "\n"+m[1]+":\n") {
					t.Errorf("the listing lacks the label %s:\n%s", m[1], dis.stdout)
				}
			}
			if assembled, again := assembleTo(t, file), assembleTo(t, writeFile(t, "listing.iasm", dis.stdout)); !bytes.Equal(assembled, again) {
				t.Errorf("the listing assembles to other bytes:\n%s", dis.stdout)
			}
		})
	}
}

// The label names are used where the program jumps, calls and prints; a
// bytecode file has no names, and its listing makes them up.
func TestDisassembleOperandNames(t *testing.T) {
	fib := "../../examples/fib.iasm"
	tests := []struct {
		name, file    string
		want, notWant []string
	}{
		{"assembly", fib,
			[]string{"fib:\n", "recurse:\n", "newline:\n", "call    @fib ", "djmpne  @recurse ", "prts    @newline "},
			[]string{"L0014", "L0028", "D0000"}},
		{"bytecode", assembleToFile(t, fib),
			[]string{"L0014:\n", "L0028:\n", "D0000:\n", "call    @L0014 ", "djmpne  @L0028 ", "prts    @D0000 "},
			[]string{"fib", "recurse", "newline"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iridium(t, "", nil, "--disassemble", tc.file)
			if r.code != 0 {
				t.Fatalf("code %d, stderr %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("listing lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("listing has %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// A fault names its pc as the listing prints the instruction's address.
func TestFaultPCAsInListing(t *testing.T) {
	file := writeFile(t, "div.iasm", "load $0 #1\nload $1 #0\ndiv $0 $1 $2\n")
	run := iridium(t, "", nil, file)
	if run.code != exitFault || !strings.Contains(run.stderr, "division by zero at pc 0x0008 (DIV)") {
		t.Errorf("run: code %d, stderr %q; want the fault at pc 0x0008", run.code, run.stderr)
	}
	dis := iridium(t, "", nil, "-d", file)
	if !strings.Contains(dis.stdout, "div     $0 $1 $2        ; 0x0008\n") {
		t.Errorf("the listing does not show DIV at 0x0008:\n%s", dis.stdout)
	}
}

// assembleToFile assembles file with -o into a new bytecode file.
func assembleToFile(t *testing.T, file string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(file)+".iebc")
	if r := iridium(t, "", nil, "-o", out, file); r.code != 0 {
		t.Fatalf("-o %s: code %d, stderr %s", file, r.code, r.stderr)
	}
	return out
}

// assembleTo assembles file with -o and returns the bytecode.
func assembleTo(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(assembleToFile(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// -d lists bytecode that the VM refuses, each refused word as a .word
// with the reason, so that a broken file can be looked at; running it is
// refused with the reason.
func TestDisassembleRefusedBytecode(t *testing.T) {
	bytecode := func(code ...byte) string {
		p := &vm.Program{Code: code}
		bin, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, "refused.ibc", string(bin))
	}
	tests := []struct {
		name, file, listed, refused string
	}{
		{"unknown opcode", bytecode(200, 0, 0, 0),
			".word   #0xc8000000     ; 0x0000 invalid: unknown opcode", "unknown opcode at pc 0x0000 (opcode 200)"},
		{"register 255", bytecode(byte(vm.OpAdd), 1, 2, 255),
			".word   #0x010102ff     ; 0x0000 invalid: register operand out of range: $255", "$255"},
		{"jump past the end", bytecode(byte(vm.OpHlt), 0, 0, 0, byte(vm.OpDjmp), 0, 0, 12),
			".word   #0x3100000c     ; 0x0004 invalid: jump target outside the code", "jump target"},
		{"half an instruction", bytecode(byte(vm.OpHlt), 0, 0, 0, 7),
			"; trailing bytes (not a whole instruction): 07", "not a multiple of 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := iridium(t, "", nil, "-d", tc.file); r.code != exitOK || !strings.Contains(r.stdout, tc.listed) || r.stderr != "" {
				t.Errorf("-d: code %d, stdout %q, stderr %q; want code 0 and a line %q", r.code, r.stdout, r.stderr, tc.listed)
			}
			if r := iridium(t, "", nil, tc.file); r.code != exitFault || !strings.Contains(r.stderr, tc.refused) {
				t.Errorf("run: code %d, stderr %q; want code %d and %q", r.code, r.stderr, exitFault, tc.refused)
			}
		})
	}
}

// A listing or the help that cannot be written is an error (status 1),
// as a program's output is: nothing is lost silently.
func TestListingWriteFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err) // Linux has it; CI runs on Linux
	}
	defer full.Close()
	file := writeFile(t, "prog.iasm", "load $1 #3\nhlt\n")
	for _, args := range [][]string{{"-d", file}, {"--help"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, binary, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &stderr
		err := cmd.Run()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitFault || !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("%v > /dev/full: %v, stderr %q; want status %d and the write's error", args, err, stderr.String(), exitFault)
		}
	}
}
