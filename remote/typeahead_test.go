package remote

import (
	"bytes"
	"io"
	"testing"
)

// TestTypeaheadIsBounded: bytes typed while a program runs wait for the
// REPL up to maxTypeahead and are dropped past it, while a Ctrl-C that
// comes after them still interrupts the program.
func TestTypeaheadIsBounded(t *testing.T) {
	typed := append(bytes.Repeat([]byte("a"), 3*maxTypeahead), 3)
	interrupted := false
	r := newInterruptReader(bytes.NewReader(typed))
	r.onInterrupt = func() bool { interrupted = true; return true }
	r.pump() // returns at the end of the input
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxTypeahead || !interrupted {
		t.Errorf("queued %d bytes (want %d), interrupted %v", len(got), maxTypeahead, interrupted)
	}
}
