package main

import (
	"strings"
	"testing"
)

// Scripted REPL sessions, exactly as a pipe gives and takes them.
func TestScriptedREPLRules(t *testing.T) {
	spin := writeFile(t, "spin.iasm", "spin: djmp @spin\n")
	bad := writeFile(t, "bad.iasm", "frob\nadd $1 $2\n")
	server := writeFile(t, "server.iasm", "serve: recv $1 $2\nsend $2 $1\ndjmp @serve\n")
	notInCluster := "not in a cluster: this node is not listening (!start_cluster or !join_cluster)\n"
	tests := []struct {
		name       string
		script     string
		wantStdout string // all of stdout, or its start if prefix
		prefix     bool
		wantStderr string // all of stderr
	}{
		{name: "an open line is ended before a command's output",
			script:     "load $5 #42\nprti $5\n!history\n",
			wantStdout: "42\nload $5 #42\nprti $5\n!history\n"},
		{name: "and at the end of the input, but not between program lines",
			script:     "load $5 #42\nprti $5\nprti $5\n",
			wantStdout: "4242\n"},
		{name: "and before a background program's report",
			script:     "!spawn " + spin + "\nload $5 #42\nprti $5\n!quit\n",
			wantStdout: "spawned #1: " + spin + " as node:2\n42\n#1 " + spin + " ended: exit code 2 (interrupted at pc", prefix: true},
		{name: "the end of the input stops a server that nothing can send to any more",
			script:     "!spawn " + server + "\n",
			wantStdout: "spawned #1: " + server + " as node:2\n#1 " + server + " ended: exit code 2 (interrupted at pc 0x0000 (RECV))\n", prefix: true},
		{name: "a line over 1 MiB is an error, and the script goes on",
			script:     "load $1 #1\nload $2 #2 ;" + strings.Repeat(" ", 2<<20) + "\nload $3 #3\n!history\n",
			wantStdout: "load $1 #1\nload $3 #3\n!history\n",
			wantStderr: "error: line 2 is longer than the limit of 1048576 bytes (1 MiB); skipped\n"},
		{name: "!spawn reads its path from the next line, which may not be a command",
			script:     "!spawn\n!registers\n",
			wantStderr: "error: !registers is a command, not a path: not run (a file so named is ./!registers)\n"},
		{name: "every line of an error is marked",
			script: "!load_file " + bad + "\n",
			wantStderr: "error: " + bad + ":1:1: unknown mnemonic \"frob\"\n" +
				"error: " + bad + ":2:1: ADD takes 3 operands, got 2\n"},
		{name: "outside a cluster, the cluster commands say so",
			script:     "!cluster_members\n!leave_cluster\n",
			wantStdout: notInCluster + notInCluster},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iridium(t, tc.script, nil, "--data-root-dir", t.TempDir(), "-P", "0", "--node-alias", "node")
			if r.code != 0 {
				t.Errorf("exit code %d", r.code)
			}
			stdout := r.stdout
			if tc.prefix {
				stdout = stdout[:min(len(stdout), len(tc.wantStdout))]
			}
			if stdout != tc.wantStdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.wantStdout)
			}
			if r.stderr != tc.wantStderr {
				t.Errorf("stderr %q, want %q", r.stderr, tc.wantStderr)
			}
		})
	}
}
