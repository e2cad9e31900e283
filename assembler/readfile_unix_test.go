//go:build unix

package assembler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFile: a program file is read whole up to MaxFileSize; past it
// (a huge file, /dev/zero) it is refused having read no more than that; a
// reader that must not wait refuses what is not a regular file, a FIFO
// included, at once.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.iasm")
	os.WriteFile(small, []byte("hlt\n"), 0o644)
	huge := filepath.Join(dir, "huge.iasm")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxFileSize+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		path        string
		regularOnly bool
		want        string // "" for success, else a part of the error
	}{
		{"a small file", small, true, ""},
		{"a file over the limit", huge, false, "larger than 64 MiB"},
		{"a device that never ends", "/dev/zero", false, "larger than 64 MiB"},
		{"a device, regular files only", "/dev/zero", true, "a device, not a regular file"},
		{"a FIFO with no writer, regular files only", fifo, true, "a FIFO, not a regular file"},
		{"a directory", dir, true, "a directory, not a regular file"},
		{"nothing there", filepath.Join(dir, "none"), true, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				data []byte
				err  error
			}
			done := make(chan result, 1)
			go func() { data, err := ReadFile(tc.path, tc.regularOnly); done <- result{data, err} }()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("ReadFile did not return") // the FIFO's writer never comes
			}
			if tc.want == "" {
				if r.err != nil || string(r.data) != "hlt\n" {
					t.Fatalf("ReadFile = %q, %v", r.data, r.err)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("ReadFile error %v, want one saying %q", r.err, tc.want)
			}
		})
	}
}

// A regular file is read into one buffer of its size, and one over the
// limit is refused without reading it: a 64 MiB program took 169 MB.
func TestReadFileMemory(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.iasm")
	if err := os.WriteFile(big, []byte(strings.Repeat("nop\n", 2<<20)), 0o644); err != nil { // 8 MiB
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.iasm")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxFileSize+1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path     string
		maxAlloc uint64
	}{{big, 8<<20 + 64<<10}, {huge, 64 << 10}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		data, err := ReadFile(tc.path, true)
		runtime.ReadMemStats(&after)
		if tc.path == big && (err != nil || len(data) != 8<<20) {
			t.Fatalf("%s: %d bytes, %v", tc.path, len(data), err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > tc.maxAlloc {
			t.Errorf("%s: %d bytes allocated, want at most %d", filepath.Base(tc.path), alloc, tc.maxAlloc)
		}
	}
}

// A read that waits (a FIFO whose writer writes nothing, as a regular
// file such as /proc/kmsg may) gives up when its context is done, with the
// context's cause.
func TestReadFileContextGivesUp(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	opened, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once the reader opened it
		close(opened)
		if err == nil {
			<-done
			w.Close()
		}
	}()
	ctx, cancel := context.WithCancelCause(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := ReadFileContext(ctx, fifo, false)
		result <- err
	}()
	<-opened
	cause := errors.New("the session ended")
	cancel(cause)
	select {
	case err := <-result:
		if !errors.Is(err, cause) {
			t.Fatalf("ReadFileContext = %v, want %v", err, cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFileContext did not give up")
	}
}
