package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A node started under nohup keeps SIGHUP ignored, as nohup asks; started
// without it, it catches SIGHUP to leave its cluster gracefully. The
// kernel's view of the process (SigIgn, SigCgt) tells which.
func TestNohupKeepsSIGHUPIgnored(t *testing.T) {
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Fatalf("nohup: %v", err) // coreutils: on every machine that runs the tests
	}
	for _, tc := range []struct {
		name    string
		command []string
		ignored bool
	}{
		{"daemon under nohup", []string{nohup, binary, "--daemon-mode"}, true},
		{"daemon", []string{binary, "--daemon-mode"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.command[1:], "--data-root-dir", t.TempDir(), "--node-alias", "alpha", "--cookie", testCookie, "-P", "0")
			n := startProc(t, "alpha", exec.Command(tc.command[0], args...))
			n.expect(`alpha listening on `) // its signals are set by then
			ignored, caught := signalMasks(t, n.cmd.Process.Pid)
			const hup = 1 << (1 - 1) // SIGHUP is signal 1
			if got := ignored&hup != 0; got != tc.ignored || (caught&hup != 0) == tc.ignored {
				t.Errorf("SIGHUP ignored %v, caught %v; want ignored %v", got, caught&hup != 0, tc.ignored)
			}
		})
	}
}

// signalMasks reads the SigIgn and SigCgt masks of process pid.
func signalMasks(t *testing.T, pid int) (ignored, caught uint64) {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	mask := func(name string) uint64 {
		m := regexp.MustCompile(`(?m)^` + name + `:\s*([0-9a-f]+)$`).FindStringSubmatch(string(status))
		if m == nil {
			t.Fatalf("no %s in %s", name, strings.TrimSpace(string(status)))
		}
		v, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return mask("SigIgn"), mask("SigCgt")
}
