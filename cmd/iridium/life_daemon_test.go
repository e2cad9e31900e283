package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster"
)

// closedPort is a loopback port that nothing listens on (just freed).
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// A daemon whose --join contact does not answer says so at once, and that
// it goes on trying, rather than sit silent; once the contact is up, it
// joins. SIGTERM stops it, while it tries or after, with status 0.
func TestDaemonJoinUnreachable(t *testing.T) {
	port := closedPort(t)
	n, _ := startDaemon(t, "bravo", "--join", "127.0.0.1:"+port)
	n.expect(`iridium: cannot reach 127\.0\.0\.1:` + port + ` yet \(connection refused\), retrying until it answers\n`)
	n.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, n, 0)
	n.expect(`bravo left the cluster\n`)

	late, _ := startDaemon(t, "charlie", "--join", "127.0.0.1:"+port)
	late.expect(`cannot reach 127\.0\.0\.1:` + port + ` yet`)
	startDaemon(t, "alpha", "-P", port)
	late.expect(`members 2\n  alpha 127\.0\.0\.1:` + port + `\n  charlie 127\.0\.0\.1:\d+ \(self\)\n`)
}

// While the contact does not answer, joinWithRetry says so at once and
// again every remindEvery (here several times in 3 s), with the time and
// tries so far, until its context ends.
func TestJoinWithRetryReminds(t *testing.T) {
	cfg := cluster.DefaultLocalConfig()
	cfg.Alias, cfg.Cookie = "bravo", []byte(testCookie)
	mgr, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Shutdown()
	addr := "127.0.0.1:" + closedPort(t)
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = joinWithRetry(ctx, mgr, addr, 200*time.Millisecond, &progress)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's", err)
	}
	want := regexp.MustCompile(`^iridium: cannot reach ` + regexp.QuoteMeta(addr) + ` yet \(connection refused\), retrying until it answers\n` +
		`(iridium: still cannot reach ` + regexp.QuoteMeta(addr) + ` after [0-3]s and \d+ tries \(connection refused\), retrying\n)+$`)
	if !want.MatchString(progress.String()) {
		t.Errorf("progress %q, want the first line and reminders", progress.String())
	}
}

// A Join whose contact answered got the node into the cluster, even when a
// member the contact listed does not answer in time (here a stopped
// daemon, which the contact still lists): joinWithRetry says so and
// returns, rather than join again and, 30 s later, give up and stop the
// daemon.
func TestJoinWithRetryKeepsAJoinThatGotIn(t *testing.T) {
	newManager := func(cfg cluster.Config, alias string) *cluster.Manager {
		cfg.Alias, cfg.Cookie, cfg.Port = alias, []byte(testCookie), 0
		m, err := cluster.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Shutdown() })
		return m
	}
	alpha := newManager(cluster.DefaultConfig(), "alpha") // keeps a silent member for 2.5 s
	addr, err := alpha.Start()
	if err != nil {
		t.Fatal(err)
	}
	bravo, _ := startDaemon(t, "bravo", "--join", addr.String())
	bravo.expect(`members 2\n`)
	bravo.stop()

	charlie := newManager(cluster.DefaultLocalConfig(), "charlie") // gives bravo 2 s
	var progress strings.Builder
	if err := joinWithRetry(context.Background(), charlie, addr.String(), 30*time.Second, &progress); err != nil {
		t.Fatalf("joinWithRetry: %v", err)
	}
	if want := "iridium: joined through " + addr.String() + "; members not connected yet: 1 (still trying)\n"; progress.String() != want {
		t.Errorf("progress %q, want %q", progress.String(), want)
	}
	if got := charlie.MemberAliases(); !slices.Contains(got, "alpha") {
		t.Errorf("charlie lists %v, without its contact", got)
	}
}

// A daemon whose output nobody reads any more (`iridium --daemon-mode |
// head -1`, to learn its port) goes on serving through the member changes
// it can no longer print, and still leaves gracefully on SIGTERM; SIGHUP
// (its terminal gone) leaves gracefully too.
func TestDaemonOutlivesItsReader(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary, "--daemon-mode", "--data-root-dir", t.TempDir(), "--node-alias", "alpha",
				"--cookie", testCookie, "-P", "0")
			cmd.Stdout, cmd.Stderr = w, w
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			t.Cleanup(func() { cmd.Process.Kill(); <-done })
			first, err := bufio.NewReader(r).ReadString('\n') // head -1
			m := regexp.MustCompile(`alpha listening on 127\.0\.0\.1:(\d+)\n`).FindStringSubmatch(first)
			if err != nil || m == nil {
				t.Fatalf("first line %q, %v", first, err)
			}
			r.Close()

			bravo, _ := startDaemon(t, "bravo", "--join", "127.0.0.1:"+m[1])
			bravo.expect(`members 2\n  alpha 127\.0\.0\.1:` + m[1] + `\n  bravo 127\.0\.0\.1:\d+ \(self\)\n`)
			cmd.Process.Signal(sig)
			select {
			case <-done:
			case <-time.After(within):
				t.Fatalf("alpha did not exit within %v of %v", within, sig)
			}
			if !cmd.ProcessState.Exited() || cmd.ProcessState.ExitCode() != 0 {
				t.Fatalf("alpha ended with %v, want status 0", cmd.ProcessState)
			}
			bravo.expect(`members 1\n  bravo 127\.0\.0\.1:\d+ \(self\)\n`)
		})
	}
}
