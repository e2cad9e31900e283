package assembler

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden disassembles every testdata/*.iasm and compares the listing with
// its .golden file; go test -update rewrites them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.iasm")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.iasm")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Assemble(string(src))
			if err != nil {
				t.Fatalf("assemble: %v", err)
			}
			got := Disassemble(p)
			golden := strings.TrimSuffix(file, ".iasm") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("disassembly differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
			// Round trip: the listing assembles to the same bytes.
			q, err := Assemble(got)
			if err != nil {
				t.Fatalf("reassemble: %v\n%s", err, got)
			}
			if !bytes.Equal(p.Code, q.Code) || !bytes.Equal(p.ROData, q.ROData) {
				t.Errorf("round trip differs:\ncode  %x\n   vs %x\nrodata %x\n    vs %x", p.Code, q.Code, p.ROData, q.ROData)
			}
		})
	}
}
