package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testCookie = []byte("test-cookie")

// eventually polls cond every few milliseconds until it holds or timeout
// passes; then it fails the test with the message msg returns.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, msg())
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// testLogger logs to the test when CLUSTER_LOG is set.
// CLUSTER_LOG=1 logs to the test; CLUSTER_LOG=/some/file appends to that file.
func testLogger(t testing.TB) *slog.Logger {
	dst := os.Getenv("CLUSTER_LOG")
	if dst == "" {
		return nil
	}
	var w io.Writer = tWriter{t}
	if strings.HasPrefix(dst, "/") {
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		w = f
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func testConfig(t testing.TB, alias string) Config {
	c := DefaultLocalConfig()
	c.Alias = alias
	c.Cookie = testCookie
	c.Logger = testLogger(t)
	return c
}

// newNode starts a listening node; it is shut down when the test ends.
func newNode(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Alias, err)
	}
	t.Cleanup(func() { m.Shutdown() })
	if _, err := m.Start(); err != nil {
		t.Fatalf("Start(%s): %v", cfg.Alias, err)
	}
	return m
}

func addrOf(t testing.TB, m *Manager) string {
	t.Helper()
	a, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

func join(t testing.TB, m *Manager, through *Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Join(ctx, addrOf(t, through)); err != nil {
		t.Fatalf("%s joins through %s: %v", m.Alias(), through.Alias(), err)
	}
}

// fullMesh reports whether every node lists exactly the given nodes, with the
// listening addresses they really have.
func fullMesh(nodes []*Manager) bool {
	want := expectedMembers(nodes)
	for _, n := range nodes {
		got := n.Members()
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i].Alias != want[i].Alias || got[i].Port != want[i].Port || got[i].Self != (got[i].Alias == n.Alias()) {
				return false
			}
		}
	}
	return true
}

// expectedMembers is each node's own entry, sorted by alias. Each node's
// list is read once: it may change between two reads while a mesh forms.
func expectedMembers(nodes []*Manager) []Member {
	var want []Member
	for _, n := range nodes {
		members := n.Members()
		want = append(want, members[slices.IndexFunc(members, func(m Member) bool { return m.Self })])
	}
	slices.SortFunc(want, func(a, b Member) int { return strings.Compare(a.Alias, b.Alias) })
	return want
}

func describe(nodes []*Manager) func() string {
	return func() string {
		var b strings.Builder
		for _, n := range nodes {
			fmt.Fprintf(&b, "\n%s sees %v", n.Alias(), n.MemberAliases())
		}
		return b.String()
	}
}

func waitMesh(t testing.TB, nodes []*Manager, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() bool { return fullMesh(nodes) }, describe(nodes))
}

// peerOf returns m's connection to alias, or nil.
func (m *Manager) peerOf(alias string) *peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return nil
	}
	return m.sess.members.connectedPeer(alias)
}

// wants reports whether m wants a connection to alias it does not have:
// the member is announced, lost or being dialled.
func (m *Manager) wants(alias string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return false
	}
	mb := m.sess.members.byAlias[alias]
	return mb != nil && (mb.state == stateAnnounced || mb.state == stateLost || mb.state == stateDialing)
}

// dialNow makes m dial alias at addr at once, as if a peer had listed it.
func (m *Manager) dialNow(s *session, alias, addr string) {
	m.mu.Lock()
	s.members.heard(alias, addr, time.Now())
	m.mu.Unlock()
	m.startDials(s)
}
