package repl

import (
	"fmt"
	"strings"
	"testing"
)

// The history keeps the last maxHistoryLines lines, and of them no more
// than maxHistoryBytes, oldest dropped first; a line longer than that is
// kept alone.
func TestHistoryBounded(t *testing.T) {
	mib := strings.Repeat("x", 1<<20)
	tests := []struct {
		name      string
		lines     []string
		wantFirst string
		wantLen   int
	}{
		{"short", []string{"a", "b"}, "a", 2},
		{"many lines", numbered(maxHistoryLines + 5), "line 5", maxHistoryLines},
		{"long lines", []string{"a", mib, mib, mib, mib, "b"}, mib, 4},
		{"one line past the bytes", []string{"a", mib + mib + mib + mib + "y"}, mib + mib + mib + mib + "y", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h history
			for _, l := range tc.lines {
				h.add(l)
			}
			total := 0
			for _, l := range h.lines {
				total += len(l)
			}
			if len(h.lines) != tc.wantLen || h.lines[0] != tc.wantFirst || h.lines[len(h.lines)-1] != tc.lines[len(tc.lines)-1] || total != h.bytes {
				t.Errorf("%d lines from %.10q to %.10q (%d bytes, counted %d); want %d from %.10q",
					len(h.lines), h.lines[0], h.lines[len(h.lines)-1], total, h.bytes, tc.wantLen, tc.wantFirst)
			}
			if len(h.lines) > 1 && h.bytes > maxHistoryBytes {
				t.Errorf("%d bytes kept, want at most %d", h.bytes, maxHistoryBytes)
			}
		})
	}
}

func numbered(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprint("line ", i)
	}
	return lines
}
