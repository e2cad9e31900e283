package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// threeNodes is a, b and c, meshed: b and c joined through a.
func threeNodes(t *testing.T) []*Manager {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	c := newNode(t, testConfig(t, "c"))
	join(t, b, a)
	join(t, c, a)
	nodes := []*Manager{a, b, c}
	waitMesh(t, nodes, 5*time.Second)
	return nodes
}

func TestThreeNodes(t *testing.T) {
	nodes := threeNodes(t)
	a := nodes[0]
	// Join returned only once c was connected to every member it was told of.
	for _, n := range nodes {
		for _, m := range n.Members() {
			if m.IP != "127.0.0.1" {
				t.Errorf("%s lists %s at IP %q", n.Alias(), m.Alias, m.IP)
			}
		}
	}
	// The list stays a full mesh well past the heartbeat timeout: idle
	// connections are kept alive by Ping/Pong.
	time.Sleep(2 * a.cfg.HeartbeatTimeout)
	if !fullMesh(nodes) {
		t.Fatalf("mesh lost while idle:%s", describe(nodes)())
	}
}

func TestJoinReturnsConnectedToEveryListedMember(t *testing.T) {
	nodes := []*Manager{newNode(t, testConfig(t, "n0"))}
	for i := 1; i < 6; i++ {
		n := newNode(t, testConfig(t, fmt.Sprintf("n%d", i)))
		join(t, n, nodes[0])
		// No waiting: the joiner lists everybody as soon as Join returns.
		if got := len(n.Members()); got != i+1 {
			t.Fatalf("after Join %s lists %v", n.Alias(), n.MemberAliases())
		}
		nodes = append(nodes, n)
	}
	waitMesh(t, nodes, 5*time.Second)
}

func TestTenNodes(t *testing.T) {
	var nodes []*Manager
	for i := range 10 {
		n := newNode(t, testConfig(t, fmt.Sprintf("n%02d", i)))
		if i > 0 {
			join(t, n, nodes[(i-1)/2]) // through different members
		}
		nodes = append(nodes, n)
	}
	waitMesh(t, nodes, 5*time.Second)
}

// joinAll makes every node in joiners join through its partner at the same
// moment.
func joinAll(t *testing.T, joiners, through []*Manager) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(joiners))
	for i := range joiners {
		addr := addrOf(t, through[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs[i] = joiners[i].Join(ctx, addr)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s joins through %s: %v", joiners[i].Alias(), through[i].Alias(), err)
		}
	}
}

func TestConcurrentJoinsThroughDifferentMembers(t *testing.T) {
	for i := range 10 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a, b := twoNodes(t)
			c := newNode(t, testConfig(t, "c"))
			d := newNode(t, testConfig(t, "d"))
			joinAll(t, []*Manager{c, d}, []*Manager{a, b})
			waitMesh(t, []*Manager{a, b, c, d}, 5*time.Second)
		})
	}
}

func TestManyConcurrentJoins(t *testing.T) {
	a, b := twoNodes(t)
	nodes := []*Manager{a, b}
	var joiners, through []*Manager
	for i := range 12 {
		n := newNode(t, testConfig(t, fmt.Sprintf("j%02d", i)))
		joiners = append(joiners, n)
		through = append(through, nodes[rand.IntN(2)])
	}
	joinAll(t, joiners, through)
	waitMesh(t, append(nodes, joiners...), 10*time.Second)
}

// TestSimultaneousConnections makes both nodes of a pair open a connection to
// each other at the same moment: both must keep the same one.
func TestSimultaneousConnections(t *testing.T) {
	for i := range 20 {
		a := newNode(t, testConfig(t, "a"))
		b := newNode(t, testConfig(t, "b"))
		sa, sb := a.sess, b.sess
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a.dialNow(sa, "b", addrOf(t, b)) }()
		go func() { defer wg.Done(); b.dialNow(sb, "a", addrOf(t, a)) }()
		wg.Wait()
		nodes := []*Manager{a, b}
		waitMesh(t, nodes, 5*time.Second)
		// Settled: one connection, opened by "a" (the smaller alias) unless
		// only b's attempt got through, the same on both sides.
		eventually(t, 2*time.Second, func() bool {
			pa, pb := a.peerOf("b"), b.peerOf("a")
			return pa != nil && pb != nil && pa.initiator == pb.initiator &&
				pa.conn.LocalAddr().String() == pb.conn.RemoteAddr().String()
		}, func() string { return fmt.Sprintf("round %d: the two sides keep different connections", i) })
		a.Shutdown()
		b.Shutdown()
	}
}

// quietConfig has a heartbeat timeout far above the test's waits, so that
// only a Leave or a closed connection can explain a quick drop.
func quietConfig(t testing.TB, alias string) Config {
	c := testConfig(t, alias)
	c.HeartbeatInterval = 2 * time.Second
	c.HeartbeatTimeout = 20 * time.Second
	return c
}

func threeQuiet(t *testing.T) []*Manager {
	a := newNode(t, quietConfig(t, "a"))
	b := newNode(t, quietConfig(t, "b"))
	c := newNode(t, quietConfig(t, "c"))
	join(t, b, a)
	join(t, c, b)
	nodes := []*Manager{a, b, c}
	waitMesh(t, nodes, 5*time.Second)
	return nodes
}

func TestLeaveIsSeenAtOnce(t *testing.T) {
	nodes := threeQuiet(t)
	a, b, c := nodes[0], nodes[1], nodes[2]
	if err := c.Leave(); err != nil {
		t.Fatal(err)
	}
	if c.Listening() || len(c.Members()) != 1 {
		t.Errorf("after Leave: listening %v, members %v", c.Listening(), c.MemberAliases())
	}
	waitMesh(t, []*Manager{a, b}, 500*time.Millisecond)
	// Leave twice is harmless; the node can come back.
	if err := c.Leave(); err != nil {
		t.Fatal(err)
	}
	join(t, c, a)
	waitMesh(t, nodes, 5*time.Second)
}

func TestKilledPeerIsDropped(t *testing.T) {
	nodes := threeQuiet(t)
	nodes[2].Shutdown() // no Leave: the connections just close
	waitMesh(t, nodes[:2], 500*time.Millisecond)
}

func TestRestartUnderSameAlias(t *testing.T) {
	nodes := threeQuiet(t)
	for round := range 5 {
		old := nodes[2]
		port := old.Members()[2].Port
		old.Shutdown()
		cfg := quietConfig(t, "c")
		cfg.Port = port
		c := newNode(t, cfg)
		// At once: a and b may not have noticed the old c is gone yet.
		if err := c.Join(context.Background(), addrOf(t, nodes[round%2])); err != nil {
			t.Fatalf("round %d: restarted c joins: %v", round, err)
		}
		nodes[2] = c
		waitMesh(t, nodes, 5*time.Second)
	}
}

func TestJoinTwiceAndRejoin(t *testing.T) {
	a, b := twoNodes(t)
	if err := b.Join(context.Background(), addrOf(t, a)); err != nil {
		t.Fatalf("second Join: %v", err)
	}
	waitMesh(t, []*Manager{a, b}, time.Second)
}

func TestJoinStartsListener(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b, err := New(testConfig(t, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	if b.Listening() {
		t.Fatal("listening before Start")
	}
	if got := b.Members(); len(got) != 1 || !got[0].Self || got[0].Alias != "b" {
		t.Errorf("Members before Start = %v", got)
	}
	join(t, b, a)
	if !b.Listening() {
		t.Error("Join did not start the listener")
	}
	waitMesh(t, []*Manager{a, b}, time.Second)
}

// Start says the address the member list shows for this node: with every
// address asked for, the one asked for, not the listener's dual-stack [::].
func TestStartSaysTheAnnouncedAddress(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "0.0.0.0", "::"} {
		cfg := testConfig(t, "a")
		cfg.Host = host
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := m.Start()
		if err != nil {
			t.Fatal(err)
		}
		ap, err := netip.ParseAddrPort(addr.String())
		if self := m.Members()[0]; err != nil || ap.Addr().String() != host || self.Addr() != addr.String() {
			t.Errorf("host %s: Start says %v, the member list %s", host, addr, self.Addr())
		}
		m.Shutdown()
	}
}

func TestStartAndShutdownAreIdempotent(t *testing.T) {
	m, err := New(testConfig(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	a1, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	a2, err := m.Start()
	if err != nil || a1.String() != a2.String() {
		t.Fatalf("second Start = %v, %v; first %v", a2, err, a1)
	}
	self := m.Members()[0]
	if self.Addr() != a1.String() || self.Port == 0 {
		t.Errorf("self member %+v, listener %v", self, a1)
	}
	if err := m.Leave(); err != nil {
		t.Fatal(err)
	}
	a3, err := m.Start()
	if err != nil || a3.String() != a1.String() {
		t.Errorf("Start after Leave = %v, %v; want %v", a3, err, a1)
	}
	for range 2 {
		if err := m.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Start(); !errors.Is(err, ErrShutdown) {
		t.Errorf("Start after Shutdown = %v", err)
	}
	if err := m.Join(context.Background(), a1.String()); !errors.Is(err, ErrShutdown) {
		t.Errorf("Join after Shutdown = %v", err)
	}
	if err := m.Leave(); !errors.Is(err, ErrShutdown) {
		t.Errorf("Leave after Shutdown = %v", err)
	}
}

func TestShutdownDuringJoin(t *testing.T) {
	addr := fakeAcceptor(t, func(r *rawConn) { r.rest() }) // never answers
	m := newNode(t, testConfig(t, "m"))
	errc := make(chan error, 1)
	go func() { errc <- m.Join(context.Background(), addr) }()
	time.Sleep(20 * time.Millisecond)
	m.Shutdown()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Join succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join still blocked after Shutdown")
	}
}

// A Leave (another REPL session's !leave_cluster) or a Shutdown at any
// step of a Join makes it fail with one short error that says so, not with
// what the closed connection or the cancelled wait said on the way ("use
// of closed network connection", "cluster: join ...: cluster: node is not
// listening").
func TestStoppedWhileJoining(t *testing.T) {
	// Each contact sends on reached once the join is at its step, and holds
	// it there until the joining node closes the connection.
	hold := func(reached chan<- struct{}) func(net.Conn) {
		return func(c net.Conn) {
			reached <- struct{}{}
			io.Copy(io.Discard, c)
		}
	}
	steps := []struct {
		name    string
		contact func(t *testing.T, reached chan<- struct{}) string
	}{
		{"in the TLS handshake", func(t *testing.T, reached chan<- struct{}) string {
			return acceptOnce(t, hold(reached))
		}},
		{"waiting for the Challenge", func(t *testing.T, reached chan<- struct{}) string {
			return fakeAcceptor(t, func(r *rawConn) {
				reached <- struct{}{}
				r.rest()
			})
		}},
		{"waiting for the HelloAck", func(t *testing.T, reached chan<- struct{}) string {
			return fakeAcceptor(t, func(r *rawConn) {
				if r.challengeHello("contact") != nil {
					reached <- struct{}{}
				}
				r.rest()
			})
		}},
		{"waiting for a listed member", func(t *testing.T, reached chan<- struct{}) string {
			ghost, err := netip.ParseAddrPort(acceptOnce(t, hold(reached)))
			if err != nil {
				t.Fatal(err)
			}
			return fakeAcceptor(t, func(r *rawConn) {
				h := r.challengeHello("contact")
				if h == nil {
					return
				}
				r.write(&wire.HelloAck{Node: wire.NodeInfo{Alias: "contact", IP: "127.0.0.1", Port: 1},
					Nodes: []wire.NodeInfo{{Alias: "ghost", IP: "127.0.0.1", Port: ghost.Port()}},
					Proof: wire.AcceptorProof(testCookie, r.e, h.Nonce, "contact", h.Alias)})
				r.rest()
			})
		}},
	}
	stops := []struct {
		name string
		stop func(*Manager) error
		want string // ADDR for the contact's address
		is   error
	}{
		{"Leave", (*Manager).Leave, "cluster: join ADDR: left the cluster while joining", ErrNotListening},
		{"Shutdown", (*Manager).Shutdown, "cluster: manager is shut down", ErrShutdown},
	}
	for _, step := range steps {
		for _, st := range stops {
			t.Run(st.name+" "+step.name, func(t *testing.T) {
				reached := make(chan struct{}, 1)
				addr := step.contact(t, reached)
				cfg := testConfig(t, "m")
				cfg.HandshakeTimeout = 10 * time.Second // the step lasts until the stop
				m := newNode(t, cfg)
				errc := make(chan error, 1)
				go func() { errc <- m.Join(context.Background(), addr) }()
				select {
				case <-reached:
				case err := <-errc:
					t.Fatalf("Join returned before its step: %v", err)
				case <-time.After(10 * time.Second):
					t.Fatal("the join did not reach its step")
				}
				st.stop(m)
				var err error
				select {
				case err = <-errc:
				case <-time.After(10 * time.Second):
					t.Fatal("Join still blocked after the stop")
				}
				if want := strings.ReplaceAll(st.want, "ADDR", addr); err == nil || err.Error() != want || !errors.Is(err, st.is) {
					t.Errorf("Join = %v, want %q", err, want)
				}
				if m.Listening() {
					t.Error("listening after the stop")
				}
			})
		}
	}
}

// Several REPL sessions of one node may !join_cluster at once: each Join
// returns once the node is in the cluster, and none fails because another
// was joining (two Hellos at once made the contact replace the first
// connection with the second and close it before it answered: "EOF").
// The contacts are members of one cluster; the node leaves after each
// round.
func TestConcurrentJoinsOfOneNode(t *testing.T) {
	a := newNode(t, quietConfig(t, "a"))
	c := newNode(t, quietConfig(t, "c"))
	join(t, c, a)
	b := newNode(t, quietConfig(t, "b"))
	contacts := []string{addrOf(t, a), addrOf(t, c)}
	const rounds, sessions = 100, 4
	for round := range rounds {
		errs := make(chan error, sessions)
		for i := range sessions {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				errs <- b.Join(ctx, contacts[i%2])
			}()
		}
		var failed []error
		for range sessions {
			if err := <-errs; err != nil {
				failed = append(failed, err)
			}
		}
		if len(failed) > 0 {
			t.Fatalf("round %d: %d of %d joins failed: %v", round, len(failed), sessions, errors.Join(failed...))
		}
		if got := len(b.Members()); got != 3 {
			t.Fatalf("round %d: %d members after the joins, want 3", round, got)
		}
		if err := b.Leave(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemberAliases(t *testing.T) {
	a, b := twoNodes(t)
	if got := strings.Join(b.MemberAliases(), ","); got != "a,b" {
		t.Errorf("MemberAliases = %s", got)
	}
	var vmView interface {
		Alias() string
		MemberAliases() []string
	} = a
	if vmView.Alias() != "a" {
		t.Error(vmView.Alias())
	}
}

func TestConfig(t *testing.T) {
	d := DefaultConfig()
	if d.Host != "127.0.0.1" || d.Port != 2254 || d.MaxFrameSize != 1<<20 || d.Logger == nil ||
		d.HandshakeTimeout <= 0 || d.HeartbeatInterval <= 0 || d.HeartbeatTimeout > 3*time.Second ||
		d.GossipInterval <= 0 || d.RedialMaxInterval <= 0 || d.RedialFor <= 0 {
		t.Errorf("DefaultConfig = %+v", d)
	}
	ok := func(c *Config) {}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" = valid
	}{
		{"valid", ok, ""},
		{"no alias", func(c *Config) { c.Alias = "" }, "Alias is required"},
		{"alias with space", func(c *Config) { c.Alias = "a b" }, "white space"},
		{"alias with a bidi override", func(c *Config) { c.Alias = "a\u202eb" }, `alias "a\u202eb" contains white space or a non-printing character (U+202E)`},
		{"long alias", func(c *Config) { c.Alias = strings.Repeat("a", 256) }, "limit"},
		{"no cookie", func(c *Config) { c.Cookie = nil }, "Cookie is required"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "out of range"},
		{"negative timeout", func(c *Config) { c.HandshakeTimeout = -1 }, "HandshakeTimeout"},
		{"timeout below two intervals", func(c *Config) { c.HeartbeatTimeout = 2 * c.HeartbeatInterval }, "must exceed"},
		{"tiny frames", func(c *Config) { c.MaxFrameSize = 10 }, "MaxFrameSize"},
		{"negative gossip interval", func(c *Config) { c.GossipInterval = -1 }, "GossipInterval"},
		{"negative redial interval", func(c *Config) { c.RedialMaxInterval = -1 }, "RedialMaxInterval"},
		{"negative redial time", func(c *Config) { c.RedialFor = -1 }, "RedialFor"},
		{"zero values take defaults", func(c *Config) {
			*c = Config{Alias: "x", Cookie: []byte("k")}
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Alias, c.Cookie = "n", []byte("k")
			tc.change(&c)
			_, err := New(c)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("New = %v, want %q", err, tc.want)
			}
		})
	}
}

// An alias is printed as it is, so it holds only characters that print
// as themselves: letters, marks, numbers, punctuation and symbols of any
// script, and nothing that is white space, a control or a format character
// (which could reorder or hide a line), private or unassigned.
func TestCheckAlias(t *testing.T) {
	for _, tc := range []struct {
		alias string
		want  string // "" = valid; else the character CheckAlias names
	}{
		{"node-1", ""},
		{"nœud_1", ""},
		{"節点", ""},
		{"n\u0303o", ""}, // a combining mark prints on its letter
		{"🚀", ""},
		{`a"b\c`, ""},
		{"a b", "U+0020"},
		{"a\tb", "U+0009"},
		{"a\u00a0b", "U+00A0"},      // no-break space
		{"a\u3000b", "U+3000"},      // ideographic space
		{"a\u2028b", "U+2028"},      // line separator
		{"a\x7fb", "U+007F"},        // DEL
		{"a\u0085b", "U+0085"},      // next line (C1)
		{"a\u202eb", "U+202E"},      // right-to-left override
		{"a\u2066b", "U+2066"},      // left-to-right isolate
		{"a\u200bb", "U+200B"},      // zero-width space
		{"a\u200db", "U+200D"},      // zero-width joiner
		{"a\u00adb", "U+00AD"},      // soft hyphen
		{"\ufeffa", "U+FEFF"},       // byte order mark
		{"a\ue000b", "U+E000"},      // private use
		{"a\U000e0041b", "U+E0041"}, // tag character
	} {
		err := CheckAlias(tc.alias)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckAlias(%q) = %v, want nil", tc.alias, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), "("+tc.want+")")):
			t.Errorf("CheckAlias(%q) = %v, want a refusal naming %s", tc.alias, err, tc.want)
		}
	}
}

// logCounter is a slog.Handler that counts records by message, and by
// level and message ("WARN message").
type logCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *logCounter) WithGroup(string) slog.Handler            { return c }
func (c *logCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[r.Message]++
	c.n[r.Level.String()+" "+r.Message]++
	return nil
}

func (c *logCounter) count(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[msg]
}

// noGossipConfig is testConfig with the periodic gossip pushed out of the
// way, so that a test sees what joins and heartbeats do alone; its logs go
// to logs, if set.
func noGossipConfig(t testing.TB, alias string, logs *logCounter) Config {
	c := testConfig(t, alias)
	c.GossipInterval = time.Hour
	if logs != nil {
		c.Logger = slog.New(logs)
	}
	return c
}

// TestSimultaneousJoinsThroughOneMember: nodes that join through the same
// member at the same moment learn of each other from their HelloAcks
// alone, so the mesh costs one handshake per pair: none is refused as a
// duplicate, none replaces another, none fails. (Announcing every new
// connection to every peer made peers dial newcomers that were dialling
// them.) Gossip is pushed out of the way so that only the joins count.
func TestSimultaneousJoinsThroughOneMember(t *testing.T) {
	logs := &logCounter{}
	config := func(alias string) Config { return noGossipConfig(t, alias, logs) }
	seed := newNode(t, config("seed"))
	nodes := []*Manager{seed}
	var joiners, through []*Manager
	for i := range 12 {
		n := newNode(t, config(fmt.Sprintf("j%02d", i)))
		joiners = append(joiners, n)
		through = append(through, seed)
		nodes = append(nodes, n)
	}
	joinAll(t, joiners, through)
	waitMesh(t, nodes, 10*time.Second)
	n := len(nodes)
	want := n * (n - 1) // one connection per pair, registered at both ends
	// A node logs a registration just after its member list shows it.
	eventually(t, 5*time.Second, func() bool { return logs.count("member joined") >= want }, func() string {
		return fmt.Sprintf("%d registrations for %d nodes, want %d", logs.count("member joined"), n, want)
	})
	if got := logs.count("member joined"); got != want {
		t.Errorf("%d registrations for %d nodes, want %d (one connection per pair, registered at both ends)", got, n, want)
	}
	for _, msg := range []string{"handshake refused", "connection replaced", "connect failed"} {
		if got := logs.count(msg); got != 0 {
			t.Errorf("%q logged %d times, want 0", msg, got)
		}
	}
}

// TestClustersMerge: a member of one cluster joins a member of another; the
// two clusters become one mesh without waiting for gossip (pushed out of the
// way here): the joining node tells its old peers about the members its
// HelloAck listed.
func TestClustersMerge(t *testing.T) {
	config := func(alias string) Config { return noGossipConfig(t, alias, nil) }
	a, b := newNode(t, config("a")), newNode(t, config("b"))
	c, d := newNode(t, config("c")), newNode(t, config("d"))
	join(t, a, b) // b greets a: a is no greeter of b, so b hears nothing from a as a newcomer would
	join(t, d, c)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	waitMesh(t, []*Manager{c, d}, 5*time.Second)
	join(t, a, c)
	waitMesh(t, []*Manager{a, b, c, d}, 5*time.Second)
}

// TestIdlePairKeptAliveByPings: with no gossip and nothing else to say,
// Ping/Pong alone keep an idle pair connected for many heartbeat timeouts:
// neither end ever drops the other.
func TestIdlePairKeptAliveByPings(t *testing.T) {
	for _, hb := range []struct{ interval, timeout time.Duration }{
		{100 * time.Millisecond, time.Second},            // a Ping every 8 ticks: 200 ms to spare
		{200 * time.Millisecond, 500 * time.Millisecond}, // every tick: an interval to spare before the timeout
	} {
		t.Run(fmt.Sprintf("%v/%v", hb.interval, hb.timeout), func(t *testing.T) {
			logs := &logCounter{}
			config := func(alias string) Config {
				c := noGossipConfig(t, alias, logs)
				c.HeartbeatInterval, c.HeartbeatTimeout = hb.interval, hb.timeout
				return c
			}
			a, b := newNode(t, config("a")), newNode(t, config("b"))
			join(t, b, a)
			time.Sleep(4 * hb.timeout)
			if !fullMesh([]*Manager{a, b}) {
				t.Fatalf("the pair fell apart:%s", describe([]*Manager{a, b})())
			}
			if n := logs.count("member dropped"); n != 0 {
				t.Errorf("%d drops while idle", n)
			}
		})
	}
}

// Nodes that listen on different addresses of one host (here 127.0.0.2-4,
// as on a machine with several) form their mesh, and each lists every
// other at the address it listens on: a node dials from its own listening
// address, since members record a member at the address its connections
// come from, which the kernel would otherwise pick (127.0.0.1 here).
func TestNodesOnSeveralAddresses(t *testing.T) {
	var nodes []*Manager
	for i, alias := range []string{"alpha", "bravo", "charlie"} {
		cfg := testConfig(t, alias)
		cfg.Host = fmt.Sprintf("127.0.0.%d", i+2)
		nodes = append(nodes, newNode(t, cfg))
	}
	join(t, nodes[1], nodes[0])
	join(t, nodes[2], nodes[0])
	waitMesh(t, nodes, 10*time.Second)
	for _, n := range nodes {
		for _, m := range n.Members() {
			i := slices.IndexFunc(nodes, func(x *Manager) bool { return x.Alias() == m.Alias })
			if want := fmt.Sprintf("127.0.0.%d", i+2); m.IP != want {
				t.Errorf("%s lists %s at %s, want %s", n.Alias(), m.Alias, m.IP, want)
			}
		}
	}
}

// A node binds its dials to the address it listens on only where that is
// one address and the target is of its family and, loopback or not, of its
// kind.
func TestDialerSource(t *testing.T) {
	tests := []struct {
		listen, target, want string // want: the bound IP, "" for none
	}{
		{"127.0.0.2", "127.0.0.1:4000", "127.0.0.2"},
		{"127.0.0.2", "localhost:4000", "127.0.0.2"},
		{"127.0.0.2", "[::1]:4000", ""},
		{"127.0.0.2", "192.0.2.1:4000", ""},
		{"192.0.2.7", "127.0.0.1:4000", ""},
		{"192.0.2.7", "192.0.2.1:4000", "192.0.2.7"},
		{"::1", "[::1]:4000", "::1"},
		{"::1", "127.0.0.1:4000", ""},
		{"0.0.0.0", "127.0.0.1:4000", ""},
		{"::", "[::1]:4000", ""},
	}
	for _, tc := range tests {
		s := &session{self: selfAddrs{ip: netip.MustParseAddr(tc.listen)}}
		got := ""
		if la, ok := s.dialer(tc.target).LocalAddr.(*net.TCPAddr); ok {
			got = la.IP.String()
		}
		if got != tc.want {
			t.Errorf("listening on %s, dialling %s: bound to %q, want %q", tc.listen, tc.target, got, tc.want)
		}
	}
}

// A Join whose context is done already does nothing: it does not start
// the listener, and says why it stopped.
func TestJoinWithDoneContext(t *testing.T) {
	m, err := New(testConfig(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	cause := errors.New("given up")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	for range 20 { // once picked at random between two ready cases
		if err := m.Join(ctx, "127.0.0.1:1"); !errors.Is(err, cause) {
			t.Fatalf("Join: %v, want the cause", err)
		}
		if m.Listening() {
			t.Fatal("Join started the listener")
		}
	}
}
