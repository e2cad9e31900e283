package main

import (
	"strings"
	"testing"
)

// TestFileRunProcesses: `iridium FILE` runs its program as the first
// process of a node of its own. The run ends when that process ends and
// the processes it spawned are stopped; a fault in another process is
// reported on stderr, naming it, and changes no exit status; the first
// process's fault gives status 1 and one line on stderr; --max-processes
// bounds the processes alive at once, as on a node, and --max-heap their
// heaps together.
func TestFileRunProcesses(t *testing.T) {
	cases := []struct {
		name, src      string
		args           []string
		code           int
		stdout, stderr string // stderr: what its one line holds, or "" for no line
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
	div $1 $1 $1`, nil, 0, "1", "iridium: process local:2 ("},
		{"children still running are stopped at the end", `
	load $1 #0
	load $2 @spin
	spawn $1 $2 $3
	spawn $1 $2 $3
	prti $3
	hlt
spin:
	djmp @spin`, nil, 0, "3", ""},
		{"the first process's fault is the run's", `
	load $1 #0
	load $2 @wait
	spawn $1 $2 $3
	div $1 $1 $1
wait:
	recv $1 $2`, nil, 1, "", "p.iasm: division by zero at pc 0x000c (DIV)"},
		{"--max-processes bounds a file run's processes", `
	load $1 #0
	load $2 @wait
	load $8 #1
	load $9 #0
	spawn $1 $2 $3      ; the second process: started (prints 1)
	djmpne @no1
	prti $8
	djmp @two
no1:
	prti $9
two:
	spawn $1 $2 $3      ; the third: refused (prints 0)
	djmpne @no2
	prti $8
	hlt
no2:
	prti $9
	hlt
wait:
	recv $4 $5`, []string{"--max-processes", "2"}, 0, "10", ""},
		{"what processes print keeps the order of their messages", `
	load $1 #1
	prti $1             ; 1, then the child starts
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5          ; the child printed 2 before it sent this
	load $1 #3
	prti $1
	hlt
child:
	load $1 #2
	prti $1
	parent $6
	send $6 $1
spin:
	djmp @spin          ; still running when the run ends`, nil, 0, "123", ""},
		{"--max-heap bounds the heaps of a file run's processes together", `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5          ; the child holds 2 MiB now
	load $6 #16
	shl $6 #16          ; 1 MiB fits beside it, 2 MiB does not
	aloc $6
	prti $6
	aloc $6
child:
	load $1 #32
	shl $1 #16
	aloc $1
	parent $2
	send $2 $1
	recv $1 $2`, []string{"--max-heap", "3"}, 1, "1048576", "p.iasm: allocation past the heap total of the node's processes at pc 0x0020 (ALOC)"},
		{"a RECV nobody answers is stopped by nothing but a signal: RECVT then", `
	load $9 #20
	recvt $1 $2 $9
	prti $2
	self $3
	prti $3`, nil, 0, "01", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := iridium(t, "", nil, append(tc.args, writeFile(t, "p.iasm", tc.src))...)
			lineOK := r.stderr == ""
			if tc.stderr != "" {
				line, rest, _ := strings.Cut(r.stderr, "\n")
				lineOK = strings.Contains(line, tc.stderr) && rest == ""
			}
			if r.code != tc.code || r.stdout != tc.stdout || !lineOK {
				t.Fatalf("code %d stdout %q stderr %q; want %d %q %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
