package testutil

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Seed is one entry of a fuzz target's committed seed corpus: the target's
// name and its arguments in the corpus file syntax (Bytes, Byte).
type Seed struct {
	Target string
	Args   []string
}

// Bytes is a []byte argument in corpus file syntax.
func Bytes(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }

// Byte is a byte argument in corpus file syntax.
func Byte(b uint8) string { return fmt.Sprintf("byte('\\x%02x')", b) }

// SeedCorpus writes each seed to testdata/fuzz/TARGET/seed-HASH when the
// environment variable env is set, and otherwise checks that the files are
// there, so that a changed seed is not forgotten.
func SeedCorpus(t *testing.T, env string, seeds []Seed) {
	t.Helper()
	write := os.Getenv(env) != ""
	for _, s := range seeds {
		content := "go test fuzz v1\n"
		for _, a := range s.Args {
			content += a + "\n"
		}
		name := fmt.Sprintf("seed-%x", sha256.Sum256([]byte(content)))[:21]
		path := filepath.Join("testdata", "fuzz", s.Target, name)
		if !write {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("seed corpus file missing (run with %s=1): %v", env, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
