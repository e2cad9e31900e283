package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iridium-go/iridium/internal/testutil"
)

func TestDaemonMode(t *testing.T) {
	a := startREPLNode(t, "alpha", "--daemon-mode")
	port := a.expect(`alpha listening on 127\.0\.0\.1:(\d+)\n`)[1]
	a.expect(`members 1\n  alpha 127\.0\.0\.1:` + port + ` \(self\)\n`)

	b := startREPLNode(t, "bravo", "--daemon-mode", "--join", "127.0.0.1:"+port)
	bport := b.expect(`bravo listening on 127\.0\.0\.1:(\d+)\n`)[1]
	b.expect(`\d{4}-\d\d-\d\dT[\d:.]+Z joining 127\.0\.0\.1:` + port + `\n`)
	b.expect(`members 2\n  alpha 127\.0\.0\.1:` + port + `\n  bravo 127\.0\.0\.1:` + bport + ` \(self\)\n`)
	a.expect(`members 2\n`)

	// SIGTERM: bravo leaves gracefully and exits with 0; alpha drops it.
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon did not stop on SIGTERM")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	b.expect(`bravo left the cluster`)
	a.expect(`members 1\n`)
}

func TestDaemonJoinRefused(t *testing.T) {
	a := startREPLNode(t, "alpha", "--daemon-mode")
	port := a.expect(`listening on 127\.0\.0\.1:(\d+)\n`)[1]
	b := startREPLNode(t, "bravo", "--daemon-mode", "--join", "127.0.0.1:"+port, "--cookie", "wrong")
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		t.Fatal("a daemon with the wrong cookie kept running")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	b.expect(`joining 127\.0\.0\.1:` + port + `: .*authentication failed`)
}

// TestDaemonJoinOfSomethingElse: --join of an address where a service
// that does not speak TLS answers (a wrong port) ends the daemon with
// status 1 and says what is there, instead of retrying for ever.
func TestDaemonJoinOfSomethingElse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // ends when the listener closes
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			c.Close()
		}
	}()
	b := startREPLNode(t, "bravo", "--daemon-mode", "--join", ln.Addr().String())
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		t.Fatal("a daemon joining an SSH server kept running")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	b.expect(`joining ` + regexp.QuoteMeta(ln.Addr().String()) + `: not an Iridium node: it does not answer in TLS`)
}

// freeBasePort finds n consecutive free ports on loopback. It looks below
// Linux's ephemeral range (32768 and up by default), where the outgoing
// connections of the tests running alongside would take ports from under a
// run found among the kernel's own picks.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 200; try++ {
		base := 20000 + rand.IntN(12000-n)
		ok := true
		for i := 0; ok && i < n; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free run of ports")
	return 0
}

// The scripts work as a newcomer runs them.
func TestLocalClusterScript(t *testing.T) {
	base := freeBasePort(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "local_cluster.sh"), "3")
	cmd.Env = append(os.Environ(), "IRIDIUM="+binary, "BASE_PORT="+strconv.Itoa(base), "IRIDIUM_LOG=info")
	cmd.Stdin = strings.NewReader("stop\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for i := 1; i <= 3; i++ {
		self := "node" + strconv.Itoa(i) + " 127.0.0.1:" + strconv.Itoa(base+i-1) + " (self)"
		if !bytes.Contains(out, []byte(self)) {
			t.Errorf("no %q in:\n%s", self, out)
		}
	}
	if !bytes.Contains(out, []byte("stopping 3 nodes")) {
		t.Errorf("the script did not stop its nodes:\n%s", out)
	}
}

// bench/cluster.sh, on a small cluster: every measure comes out as a number.
func TestBenchClusterScript(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		testutil.Missing(t, "ss is not installed (apt-get install iproute2; .ci/run installs it)")
	}
	base := freeBasePort(t, 4) - 1 // the script's nodes use BASE_PORT+1..+N
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "bench", "cluster.sh"), "4")
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "IRIDIUM="+binary, "BASE_PORT="+strconv.Itoa(base), "RUNS=1", "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a run that succeeded left %d entries in TMPDIR (%s)", len(left), left[0].Name())
	}
	for _, measure := range []string{
		`converge: 4 nodes, from launch +[\d.]+ ms`,
		`converge: 3 joining at once, protocol +[\d.]+ ms`,
		`join: 1 node to 3, from launch +[\d.]+ ms`,
		`join: 1 node to 3, protocol +[\d.]+ ms`,
		`idle node RSS +[\d.]+ MB`,
		`idle cluster of 4, CPU +\d+ % of one core`,
	} {
		if !regexp.MustCompile(measure).Match(out) {
			t.Errorf("no %q in:\n%s", measure, out)
		}
	}
}

// A bench/cluster.sh run that fails (here: no wait may take any time)
// keeps the nodes' logs and says where, so that a stall can be read after.
func TestBenchClusterScriptKeepsLogsOfAFailedRun(t *testing.T) {
	base := freeBasePort(t, 2) - 1
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "bench", "cluster.sh"), "2")
	cmd.Env = append(os.Environ(), "IRIDIUM="+binary, "BASE_PORT="+strconv.Itoa(base), "RUNS=1",
		"TMPDIR="+t.TempDir(), "TIMEOUT=0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("cluster.sh with TIMEOUT=0 succeeded:\n%s", out)
	}
	m := regexp.MustCompile(`logs of the nodes kept in (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no 'logs of the nodes kept in' in:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(string(m[1]), "n1.log")); err != nil {
		t.Errorf("the kept directory has no n1.log: %v\n%s", err, out)
	}
}

func TestTmuxClusterScript(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		testutil.Missing(t, "tmux is not installed (apt-get install tmux; .ci/run installs it)")
	}
	base := freeBasePort(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "test_cluster.sh"))
	cmd.Env = append(os.Environ(), "IRIDIUM="+binary, "BASE_PORT="+strconv.Itoa(base), "SESSION=iridium-test-"+strconv.Itoa(base))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if n := bytes.Count(out, []byte("(self)")); n != 3 {
		t.Errorf("want each of the 3 panes to list itself, got %d:\n%s", n, out)
	}
}

// TestDaemonCores checks the threads a daemon runs Go code on, as the Go
// runtime's scheduler trace reports them once the node is up: one per
// program it may run at once, unless GOMAXPROCS says otherwise.
func TestDaemonCores(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		env   string
		want  int
	}{
		{"default", nil, "", 1},
		// The child's own default is the machine's (or its cgroup's) CPUs,
		// as this test process's is: CI sets no GOMAXPROCS.
		{"threads 2", []string{"--threads", "2"}, "", min(2, runtime.GOMAXPROCS(0))},
		{"GOMAXPROCS wins", nil, "GOMAXPROCS=3", 3},
		{"GOMAXPROCS not a count", nil, "GOMAXPROCS=abc", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--data-root-dir", t.TempDir(), "--node-alias", "alpha",
				"--cookie", testCookie, "-P", "0", "--daemon-mode"}, tt.extra...)
			cmd := exec.Command(binary, args...)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "GODEBUG=schedtrace=20"}
			if tt.env != "" {
				cmd.Env = append(cmd.Env, tt.env)
			}
			n := startProc(t, "alpha", cmd)
			n.expect(`alpha listening on `)
			got := n.expect(`SCHED \d+ms: gomaxprocs=(\d+) `)[1]
			if got != strconv.Itoa(tt.want) {
				t.Errorf("gomaxprocs=%s, want %d", got, tt.want)
			}
		})
	}
}
