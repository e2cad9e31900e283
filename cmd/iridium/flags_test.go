package main

import "testing"

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
