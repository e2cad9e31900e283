//go:build unix

package repl

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLoadFileRefusesAFIFO: a FIFO nobody writes would hold the session in
// a read that Ctrl-C cannot interrupt, so !load_file refuses it at once,
// and the session goes on.
func TestLoadFileRefusesAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut := script(t, "!load_file "+fifo, "load $1 #7", "!registers")
	if !strings.Contains(errOut, "a FIFO, not a regular file") || !strings.Contains(out, "$1 = 7\n") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
}
