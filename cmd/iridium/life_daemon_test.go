package main

import (
	"context"
	"net"
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
// it goes on trying, rather than sit silent; SIGTERM stops it while it
// tries, like any daemon, with status 0.
func TestDaemonJoinUnreachable(t *testing.T) {
	port := closedPort(t)
	n, _ := startDaemon(t, "bravo", "--join", "127.0.0.1:"+port)
	n.expect(`iridium: cannot reach 127\.0\.0\.1:` + port + ` yet \(connection refused\), retrying for 30s\n`)
	n.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, n, 0)
	n.expect(`bravo left the cluster\n`)
}

// When the time to retry runs out, the error says so, with the last
// reason; the retrying was announced once.
func TestJoinWithRetryGivesUp(t *testing.T) {
	cfg := cluster.DefaultLocalConfig()
	cfg.Alias, cfg.Cookie = "bravo", []byte(testCookie)
	mgr, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Shutdown()
	addr := "127.0.0.1:" + closedPort(t)
	var progress strings.Builder
	err = joinWithRetry(context.Background(), mgr, addr, 300*time.Millisecond, &progress)
	if err == nil || !regexp.MustCompile(`^gave up after 300ms and \d+ tries: connection refused$`).MatchString(err.Error()) {
		t.Errorf("error %v", err)
	}
	if want := "iridium: cannot reach " + addr + " yet (connection refused), retrying for 300ms\n"; progress.String() != want {
		t.Errorf("progress %q, want %q", progress.String(), want)
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
	bravo.cmd.Process.Signal(syscall.SIGSTOP)

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
