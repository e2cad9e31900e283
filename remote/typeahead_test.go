package remote

import (
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// endless is a client that types without end; read counts what was taken.
type endless struct{ read atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.read.Add(int64(len(p)))
	return len(p), nil
}

// TestTypeaheadIsBounded: bytes typed ahead of the REPL queue up to about
// maxTypeahead, then the reader stops taking them (the client waits, as
// SSH's flow control makes it), and nothing typed is lost: what the REPL
// reads next comes on where the queue left off.
func TestTypeaheadIsBounded(t *testing.T) {
	src := &endless{}
	r := newInterruptReader(src)
	r.onInterrupt = func() bool { return false }
	done := make(chan struct{})
	go func() { defer close(done); r.pump() }()
	defer func() { r.Close(); <-done }()

	// An unbounded queue would take maxTypeahead twice over in far less
	// than the second this waits at most.
	deadline := time.Now().Add(time.Second)
	for src.read.Load() < 2*maxTypeahead && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := src.read.Load(); n < maxTypeahead || n > maxTypeahead+1024 {
		t.Fatalf("took %d bytes while the REPL read none, want %d to %d", n, maxTypeahead, maxTypeahead+1024)
	}
	// Reading makes room, and every byte taken is delivered.
	got, err := io.ReadAtLeast(r, make([]byte, 3*maxTypeahead), 3*maxTypeahead)
	if err != nil || got != 3*maxTypeahead {
		t.Fatalf("read %d bytes, %v", got, err)
	}
}

// The REPL takes typed-ahead bytes maxRead at a time, and once the reader
// is closed it takes none of those still queued: its input has ended.
func TestCloseDropsTypeahead(t *testing.T) {
	src := &endless{}
	r := newInterruptReader(src)
	r.onInterrupt = func() bool { return false }
	done := make(chan struct{})
	go func() { defer close(done); r.pump() }()
	if n, err := r.Read(make([]byte, 4096)); n < 1 || n > maxRead || err != nil {
		t.Fatalf("Read took %d bytes, %v; want 1 to %d", n, err, maxRead)
	}
	r.Close()
	if n, err := r.Read(make([]byte, 4096)); n != 0 || err != io.EOF {
		t.Errorf("after Close, Read took %d bytes, %v; want 0, EOF", n, err)
	}
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatal("pump went on after Close")
	}
}
