package cluster

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzHandshake from
// handshakeSeeds when CLUSTER_WRITE_CORPUS is set; otherwise it checks the
// files are there.
func TestWriteSeedCorpus(t *testing.T) {
	type entry struct {
		dir  string
		args []string
	}
	quote := func(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }
	var entries []entry
	for _, hs := range handshakeSeeds() {
		entries = append(entries, entry{"FuzzHandshake", []string{fmt.Sprintf("byte('\\x%02x')", hs.mode), quote(hs.data)}})
	}
	write := os.Getenv("CLUSTER_WRITE_CORPUS") != ""
	for _, e := range entries {
		content := "go test fuzz v1\n"
		for _, a := range e.args {
			content += a + "\n"
		}
		name := fmt.Sprintf("seed-%x", sha256.Sum256([]byte(content)))[:21]
		path := filepath.Join("testdata", "fuzz", e.dir, name)
		if write {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("seed corpus file missing (run with CLUSTER_WRITE_CORPUS=1): %v", err)
		}
	}
}
