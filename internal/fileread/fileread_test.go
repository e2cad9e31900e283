package fileread

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

// Read's limit holds at its edge, for regular files and for what is read
// to its end (a device), and regularOnly refuses the rest by kind.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ten")
	if err := os.WriteFile(file, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		path        string
		limit       int64
		regularOnly bool
		want        string // the contents, or "error: " and a part of the error
	}{
		{"a file of the limit", file, 10, true, "0123456789"},
		{"a file one byte over", file, 9, true, "error: file too large"},
		{"a device read to the limit", "/dev/zero", 4, false, "error: file too large"},
		{"an empty device", "/dev/null", 4, false, ""},
		{"a device, regular files only", "/dev/null", 4, true, "error: /dev/null: a device, not a regular file"},
		{"a FIFO, regular files only", fifo, 4, true, "error: " + fifo + ": a FIFO, not a regular file"},
		{"a directory, regular files only", dir, 4, true, "error: " + dir + ": a directory, not a regular file"},
		{"nothing there", filepath.Join(dir, "none"), 4, true, "error: no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Read(context.Background(), tc.path, tc.limit, tc.regularOnly)
			want, isErr := strings.CutPrefix(tc.want, "error: ")
			switch {
			case !isErr && (err != nil || string(data) != want):
				t.Fatalf("Read = %q, %v; want %q", data, err, want)
			case isErr && (err == nil || !strings.Contains(err.Error(), want)):
				t.Fatalf("Read error %v, want one saying %q", err, want)
			case isErr && strings.Contains(want, "not a regular file") && !errors.Is(err, ErrNotRegular):
				t.Fatalf("Read error %v does not wrap ErrNotRegular", err)
			}
		})
	}
}

// A stream over the limit is refused having allocated about twice the
// limit in all (the doubling buffers up to limit+1 bytes; one and a half
// times the limit live at once), not the four times of a buffer doubling
// past it; one under the limit comes back whole.
func TestReadStreamMemory(t *testing.T) {
	const limit = 8 << 20
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"under the limit", limit - 1000, false},
		{"at the limit", limit, false},
		{"endless", -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = zeros{}
			if tc.size >= 0 {
				r = io.LimitReader(zeros{}, int64(tc.size))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			data, err := readBounded(r, 0, limit)
			runtime.ReadMemStats(&after)
			if tc.wantErr != (err != nil) || !tc.wantErr && len(data) != tc.size {
				t.Fatalf("readBounded = %d bytes, %v; want %d bytes, error %v", len(data), err, tc.size, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > limit*5/2 {
				t.Errorf("reading allocated %d bytes, want at most %d (2.5 times the limit)", got, limit*5/2)
			}
		})
	}
}

// zeros reads as an endless stream of zero bytes, as /dev/zero does.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// The limit holds however the reader hands its bytes over: with the last
// of them together with EOF (iotest.DataErrReader), or a byte at a time.
func TestReadBoundedReaders(t *testing.T) {
	tests := []struct {
		name    string
		r       io.Reader
		limit   int64
		want    string
		wantErr bool
	}{
		{"data with EOF, at the limit", iotest.DataErrReader(strings.NewReader("0123456789")), 10, "0123456789", false},
		{"data with EOF, one byte over", iotest.DataErrReader(strings.NewReader("0123456789")), 9, "", true},
		{"a byte at a time, at the limit", iotest.OneByteReader(strings.NewReader("0123456789")), 10, "0123456789", false},
		{"a byte at a time, one byte over", iotest.OneByteReader(strings.NewReader("0123456789")), 9, "", true},
		{"empty", strings.NewReader(""), 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := readBounded(tc.r, 0, tc.limit)
			if tc.wantErr {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("readBounded = %q, %v; want ErrTooLarge", data, err)
				}
				return
			}
			if err != nil || string(data) != tc.want {
				t.Fatalf("readBounded = %q, %v; want %q", data, err, tc.want)
			}
		})
	}
}
