package main

import (
	"strings"
	"testing"
)

// TestFileRunProcesses: `iridium FILE` runs its program as the first
// process of a node of its own. The run ends when that process ends and
// the processes it spawned are stopped; a fault in another process is
// reported on stderr, naming it, and changes no exit status; the first
// process's fault gives status 1.
func TestFileRunProcesses(t *testing.T) {
	cases := []struct {
		name, src      string
		code           int
		stdout, stderr string
	}{
		{"a child's fault is reported, the status is the first's", `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5
	prti $4
	hlt
child:
	load $1 #0
	div $1 $1 $1`, 0, "1", "iridium: process local:2 ("},
		{"children still running are stopped at the end", `
	load $1 #0
	load $2 @spin
	spawn $1 $2 $3
	spawn $1 $2 $3
	prti $3
	hlt
spin:
	djmp @spin`, 0, "3", ""},
		{"the first process's fault is the run's", `
	load $1 #0
	load $2 @wait
	spawn $1 $2 $3
	div $1 $1 $1
wait:
	recv $1 $2`, 1, "", "division by zero at pc 0x000c (DIV)"},
		{"a RECV nobody answers is stopped by nothing but a signal: RECVT then", `
	load $9 #20
	recvt $1 $2 $9
	prti $2
	self $3
	prti $3`, 0, "01", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := iridium(t, "", nil, writeFile(t, "p.iasm", tc.src))
			if r.code != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.stderr) || (tc.stderr == "" && r.stderr != "") {
				t.Fatalf("code %d stdout %q stderr %q; want %d %q %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
