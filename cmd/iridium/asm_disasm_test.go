package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
