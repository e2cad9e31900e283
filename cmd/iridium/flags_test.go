package main

import (
	"io"
	"strings"
	"testing"
)

// Numbers on the command line are decimal, leading zeros included: the
// flag package's own integers read 0101 as octal, a port nobody meant.
func TestNumericFlagsAreDecimal(t *testing.T) {
	tests := []struct {
		args []string
		get  func(*options) int
		want int
	}{
		{[]string{"-P", "0101"}, func(o *options) int { return o.clusterPort }, 101},
		{[]string{"--server-bind-port", "08080"}, func(o *options) int { return o.clusterPort }, 8080},
		{[]string{"-p=0022"}, func(o *options) int { return o.remotePort }, 22},
		{[]string{"-t", "010"}, func(o *options) int { return o.threads }, 10},
		{[]string{"--max-heap", "+64"}, func(o *options) int { return o.maxHeapMiB }, 64},
		{nil, func(o *options) int { return o.clusterPort }, 2254},
	}
	for _, tc := range tests {
		o := nodeOptions(t, t.TempDir(), nil, tc.args...)
		if got := tc.get(o); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.args, got, tc.want)
		}
	}
}

// Arguments past FILE are refused: a flag there is said to belong before
// FILE, unless "--" ended the flags; with no flag at all, nothing breaks.
func TestArgumentsAfterFILE(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"a.iasm", "b.iasm"}, "expected at most one FILE, got 2: a.iasm b.iasm"},
		{[]string{"a.iasm", "-t", "2"}, "flags go before FILE: -t came after a.iasm"},
		{[]string{"--", "a.iasm", "-x"}, "expected at most one FILE, got 2: a.iasm -x"},
		{[]string{"-t", "2", "--", "a.iasm", "-x"}, "expected at most one FILE, got 2: a.iasm -x"},
	} {
		var stderr strings.Builder
		_, err := parseFlags(tc.args, func(string) string { return "" }, io.Discard, &stderr)
		if err != errUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: %v, %q; want %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}
