package wire

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// TestWriteSeedCorpus rewrites testdata/fuzz/* from sampleMessages when
// WIRE_WRITE_CORPUS is set; otherwise it checks the files are there.
func TestWriteSeedCorpus(t *testing.T) {
	type entry struct {
		dir  string
		args []string
	}
	quote := func(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }
	var entries []entry
	for _, m := range sampleMessages() {
		fr, err := AppendFrame(nil, m, DefaultMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := m.MarshalMsg(nil)
		entries = append(entries,
			entry{"FuzzDecodeFrame", []string{quote(fr)}},
			entry{"FuzzDecodeFrame", []string{quote(append(fr, fr[:len(fr)/2]...))}}, // truncated second frame
			entry{"FuzzDecodeMessage", []string{fmt.Sprintf("byte('\\x%02x')", uint8(m.Type())), quote(body)}},
		)
	}
	huge := msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "nodes"), 1<<31)
	entries = append(entries,
		entry{"FuzzDecodeFrame", []string{quote([]byte{0, 0, 0, 0, 5})}},
		entry{"FuzzDecodeFrame", []string{quote([]byte{0, 0x10, 0, 1, 10})}},
		entry{"FuzzDecodeFrame", []string{quote([]byte{0, 0, 0, 2, 99, 0x80})}},
		entry{"FuzzDecodeMessage", []string{"byte('\\x08')", quote(huge)}},
		entry{"FuzzDecodeMessage", []string{"byte('\\x01')", quote([]byte{0x81, 0xa4, 'p', 'o', 'r', 't', 0xce, 0, 1, 0, 0})}},
	)
	write := os.Getenv("WIRE_WRITE_CORPUS") != ""
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
			t.Errorf("seed corpus file missing (run with WIRE_WRITE_CORPUS=1): %v", err)
		}
	}
}
