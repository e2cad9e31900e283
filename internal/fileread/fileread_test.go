package fileread

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
