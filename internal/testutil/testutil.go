// Package testutil holds what the tests of several packages share.
package testutil

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Buffer is a bytes.Buffer that a program under test may write to while
// the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor polls out until it contains want, failing the test if that takes
// longer than within.
func WaitFor(t testing.TB, out *Buffer, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v in:\n%s", want, within, out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Missing skips a test whose tool or privilege this machine lacks, loudly;
// in CI (CI set), where .ci/run provides everything, it fails instead.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip("SKIPPED LOUDLY: " + why)
}

// ChunkReader returns its chunks one Read at a time (the rest of a chunk
// that did not fit on the next Read), a nil chunk as a passed deadline
// (os.ErrDeadlineExceeded), then io.EOF: a connection whose bytes arrive
// in pieces and whose reads time out where the test says.
type ChunkReader struct{ Chunks [][]byte }

func (r *ChunkReader) Read(p []byte) (int, error) {
	if len(r.Chunks) == 0 {
		return 0, io.EOF
	}
	c := r.Chunks[0]
	if c == nil {
		r.Chunks = r.Chunks[1:]
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, c)
	if r.Chunks[0] = c[n:]; len(r.Chunks[0]) == 0 {
		r.Chunks = r.Chunks[1:]
	}
	return n, nil
}

// PlainLine fails t unless line, one line of what a program printed for
// people, holds no raw control byte (a tab excepted) and is valid UTF-8:
// text from outside must reach it escaped.
func PlainLine(t testing.TB, line string) {
	t.Helper()
	for _, c := range []byte(line) {
		if c < ' ' && c != '\t' || c == 0x7f {
			t.Fatalf("raw control byte %#x in %q", c, line)
		}
	}
	if !utf8.ValidString(line) {
		t.Fatalf("invalid UTF-8 in %q", line)
	}
}
