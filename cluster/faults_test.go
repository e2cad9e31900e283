package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// drops records the members a node drops, with the reason and when.
type drops struct {
	mu  sync.Mutex
	got []drop
}

type drop struct {
	alias, reason string
	at            time.Time
}

// watch installs the recorder on cfg's node: call before New.
func (d *drops) hook() func(alias, reason string) {
	return func(alias, reason string) {
		d.mu.Lock()
		d.got = append(d.got, drop{alias, reason, time.Now()})
		d.mu.Unlock()
	}
}

func (d *drops) list() []drop {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got)
}

// of returns the last drop of alias, if any.
func (d *drops) of(alias string) (drop, bool) {
	l := d.list()
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].alias == alias {
			return l[i], true
		}
	}
	return drop{}, false
}

// watchedNode is newNode with a drop recorder.
func watchedNode(t testing.TB, cfg Config) (*Manager, *drops) {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Alias, err)
	}
	d := &drops{}
	m.onDrop = d.hook()
	t.Cleanup(func() { m.Shutdown() })
	if _, err := m.Start(); err != nil {
		t.Fatal(err)
	}
	return m, d
}

// TestBusyPeersAreNotDropped: with the default timings (500 ms / 2.5 s), a
// machine whose every core is busy does not make live members drop each
// other: a busy peer is still a live one.
func TestBusyPeersAreNotDropped(t *testing.T) {
	var nodes []*Manager
	var rec []*drops
	for _, alias := range []string{"a", "b", "c"} {
		cfg := DefaultConfig()
		cfg.Port = 0
		cfg.Alias, cfg.Cookie, cfg.Logger = alias, testCookie, testLogger(t)
		n, d := watchedNode(t, cfg)
		nodes, rec = append(nodes, n), append(rec, d)
	}
	join(t, nodes[1], nodes[0])
	join(t, nodes[2], nodes[0])
	waitMesh(t, nodes, 5*time.Second)

	// Twice as many spinning goroutines as cores, allocating, for two
	// heartbeat timeouts.
	busyFor := 2 * DefaultHeartbeatTimeout
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sink []byte
			for !stop.Load() {
				sink = make([]byte, 1024)
				for i := range sink {
					sink[i] = byte(i)
				}
			}
			_ = sink
		}()
	}
	time.Sleep(busyFor)
	stop.Store(true)
	wg.Wait()
	for i, d := range rec {
		if got := d.list(); len(got) != 0 {
			t.Errorf("%s dropped live members while busy: %+v", nodes[i].Alias(), got)
		}
	}
	if !fullMesh(nodes) {
		t.Errorf("mesh lost:%s", describe(nodes)())
	}
}

// TestDeadPeerDroppedWithinTimeout: a member that stops answering (its
// connection stays open, nothing comes) is dropped by every other member
// within the heartbeat timeout; one whose connection closes, at once.
func TestDeadPeerDroppedWithinTimeout(t *testing.T) {
	t.Run("silent", func(t *testing.T) {
		a, da := watchedNode(t, testConfig(t, "a"))
		b, db := watchedNode(t, testConfig(t, "b"))
		join(t, b, a)
		waitMesh(t, []*Manager{a, b}, 5*time.Second)
		// A raw member that completes the handshake with both, then falls
		// silent: not even a Pong.
		ra, rb := established(t, a), established(t, b)
		_, _ = ra, rb
		silentSince := time.Now()
		timeout := a.cfg.HeartbeatTimeout
		eventually(t, timeout+time.Second, func() bool { return !a.connected("raw") && !b.connected("raw") },
			func() string { return "raw still listed" })
		for _, d := range []*drops{da, db} {
			x, ok := d.of("raw")
			if !ok || x.reason != "heartbeat timeout" {
				t.Fatalf("drop of raw: %+v", x)
			}
			took := x.at.Sub(silentSince)
			t.Logf("silent member dropped after %v (timeout %v)", took.Round(time.Millisecond), timeout)
			if took > timeout+500*time.Millisecond {
				t.Errorf("dropped after %v, timeout %v", took, timeout)
			}
		}
		waitMesh(t, []*Manager{a, b}, time.Second)
	})
	t.Run("closed", func(t *testing.T) {
		a, da := watchedNode(t, quietConfig(t, "a"))
		b := newNode(t, quietConfig(t, "b"))
		join(t, b, a)
		waitMesh(t, []*Manager{a, b}, 5*time.Second)
		start := time.Now()
		b.Shutdown()
		eventually(t, time.Second, func() bool { return !a.connected("b") }, func() string { return "b still listed" })
		x, _ := da.of("b")
		t.Logf("closed connection: dropped after %v (%s)", x.at.Sub(start).Round(10*time.Microsecond), x.reason)
	})
	t.Run("leave", func(t *testing.T) {
		a, da := watchedNode(t, testConfig(t, "a"))
		b := newNode(t, testConfig(t, "b"))
		join(t, b, a)
		waitMesh(t, []*Manager{a, b}, 5*time.Second)
		start := time.Now()
		b.Leave()
		eventually(t, time.Second, func() bool { return !a.connected("b") }, func() string { return "b still listed" })
		x, _ := da.of("b")
		if x.reason != "left the cluster" {
			t.Errorf("drop reason %q", x.reason)
		}
		t.Logf("Leave: dropped after %v", x.at.Sub(start).Round(10*time.Microsecond))
		// A member that left is not redialled.
		time.Sleep(3 * a.cfg.HeartbeatInterval)
		if a.wants("b") {
			t.Error("a redials b, which left")
		}
	})
}

// TestLostConnectionIsRedialled: a connection that breaks between two live
// members is made again by itself, with nobody calling Join.
func TestLostConnectionIsRedialled(t *testing.T) {
	nodes := threeNodes(t)
	for round := range 5 {
		// Break the a-c connection (or b-c) under both of them.
		from := nodes[round%2]
		p := from.peerOf("c")
		start := time.Now()
		p.raw.Close()
		eventually(t, time.Second, func() bool { return !from.connected("c") }, func() string { return "c still listed" })
		waitMesh(t, nodes, 5*time.Second)
		t.Logf("round %d: %s-c connection back after %v", round, from.Alias(), time.Since(start).Round(time.Millisecond))
	}
}

// partition makes dials between the nodes of a cut set and the others fail,
// as they do when a host is cut off.
type partition struct {
	mu  sync.Mutex
	cut map[string]bool // listening addresses cut off
}

func (pt *partition) set(addr string, cut bool) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.cut == nil {
		pt.cut = make(map[string]bool)
	}
	pt.cut[addr] = cut
}

func (pt *partition) dialer(self func() string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		pt.mu.Lock()
		blocked := pt.cut[addr] != pt.cut[self()]
		pt.mu.Unlock()
		if blocked {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("network is unreachable (test partition)")}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// partitionedNode is newNode whose dials go through pt.
func partitionedNode(t testing.TB, cfg Config, pt *partition) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.dialContext = pt.dialer(selfAddr(m))
	t.Cleanup(func() { m.Shutdown() })
	if _, err := m.Start(); err != nil {
		t.Fatal(err)
	}
	return m
}

// selfAddr returns m's listening address as its Members lists it.
func selfAddr(m *Manager) func() string {
	return func() string {
		for _, x := range m.Members() {
			if x.Self {
				return x.Addr()
			}
		}
		return ""
	}
}

// TestCutOffNodeRejoins: a node cut off from every other member loses all
// its peers; the others drop it and, past RedialFor, forget it. The node
// alone keeps redialling its last known members, so that when the link
// comes back it joins again by itself.
func TestCutOffNodeRejoins(t *testing.T) {
	pt := &partition{}
	var nodes []*Manager
	for _, alias := range []string{"a", "b", "c"} {
		cfg := testConfig(t, alias)
		cfg.RedialFor = 200 * time.Millisecond // the others give c up quickly
		nodes = append(nodes, partitionedNode(t, cfg, pt))
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	join(t, b, a)
	join(t, c, b)
	waitMesh(t, nodes, 5*time.Second)

	// Cut c off: no new connection, and the ones it has break.
	pt.set(addrOf(t, c), true)
	c.mu.Lock()
	var conns []net.Conn
	for _, p := range c.sess.members.peers(nil) {
		conns = append(conns, p.raw)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		conn.Close()
	}
	waitMesh(t, nodes[:2], 2*time.Second)
	waitMesh(t, nodes[2:], 2*time.Second)
	// a and b forget c (RedialFor); c, alone, keeps trying.
	eventually(t, 3*time.Second, func() bool { return !a.wants("c") && !b.wants("c") },
		func() string { return "a or b still redials c" })
	time.Sleep(2 * c.cfg.RedialMaxInterval)
	wanted := 0
	for _, alias := range []string{"a", "b"} {
		if c.wants(alias) {
			wanted++
		}
	}
	if wanted != 2 {
		t.Fatalf("c, alone, redials %d members, want 2", wanted)
	}

	start := time.Now()
	pt.set(addrOf(t, c), false)
	waitMesh(t, nodes, 5*time.Second)
	t.Logf("link back: mesh again after %v (RedialMaxInterval %v)", time.Since(start).Round(time.Millisecond), c.cfg.RedialMaxInterval)
}

// TestAnnouncedMemberRedialled: a member heard of through Members whose
// first dial fails is dialled again while a peer still announces it.
func TestAnnouncedMemberRedialled(t *testing.T) {
	pt := &partition{}
	a := newNode(t, testConfig(t, "a"))
	b := partitionedNode(t, testConfig(t, "b"), pt)
	cm := partitionedNode(t, testConfig(t, "c"), pt)
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	// c can reach a but not b: its Join through a fails for member b...
	pt.set(addrOf(t, b), true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// (b's dials to c, when a announces it, fail too.)
	err := cm.Join(ctx, addrOf(t, a))
	if err == nil {
		t.Fatal("c joined although it cannot reach b")
	}
	t.Logf("Join = %v", err)
	if cm.connected("b") {
		t.Fatal("c reached b through the partition")
	}
	// ...and once b is reachable, the redial of a member a still announces
	// connects them.
	start := time.Now()
	pt.set(addrOf(t, b), false)
	waitMesh(t, []*Manager{a, b, cm}, 5*time.Second)
	t.Logf("announced member connected %v after the link came back", time.Since(start).Round(time.Millisecond))
}

// TestChurnConverges: 20 nodes join concurrently through random members
// while some leave, some are killed and some come back; every live node
// must end with the same, right, member list.
func TestChurnConverges(t *testing.T) {
	const n = 20
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seed := rng.Uint64()
	t.Logf("seed %d", seed)
	rng = rand.New(rand.NewPCG(seed, 1))
	nodes := make([]*Manager, n)
	for i := range nodes {
		nodes[i] = newNode(t, testConfig(t, fmt.Sprintf("n%02d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	gone := make(map[int]bool)      // killed or left (for now)
	member := map[int]bool{0: true} // joined the cluster at some point
	live := func() []int {
		mu.Lock()
		defer mu.Unlock()
		var out []int
		for i := range nodes {
			if !gone[i] {
				out = append(out, i)
			}
		}
		return out
	}
	// joinSome joins i through random live nodes that pass ok, until it
	// works, and records i as a member.
	joinSome := func(i int, ok func(j int) bool, r *rand.Rand) error {
		var err error
		for ctx.Err() == nil {
			cands := live()
			mu.Lock()
			cands = slices.DeleteFunc(cands, func(j int) bool { return j == i || !ok(j) })
			mu.Unlock()
			if len(cands) == 0 {
				return errors.New("no contact left")
			}
			j := cands[r.IntN(len(cands))]
			jctx, jcancel := context.WithTimeout(ctx, 5*time.Second)
			err = nodes[i].Join(jctx, addrOf(t, nodes[j]))
			jcancel()
			if err == nil {
				mu.Lock()
				member[i] = true
				delete(gone, i)
				mu.Unlock()
				return nil
			}
			time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
		}
		return err
	}
	// In phase 2 a node joins through a member of the cluster: two
	// newcomers that picked each other would rightly form a cluster of
	// their own.
	isMember := func(j int) bool { return member[j] }

	// Phase 1: nodes 1..11 join at once, each through a random node with
	// a smaller number (itself maybe still joining).
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 1; i < 12; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i+100)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = joinSome(i, func(j int) bool { return j < i }, r)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("phase 1: n%02d: %v", i, err)
		}
	}

	// Phase 2, all at once: nodes 12..19 join through random members;
	// of the first 12, two leave, two are killed, and two leave and join
	// again through random members.
	perm := rng.Perm(12)
	leavers, killed, returning := perm[0:2], perm[2:4], perm[4:6]
	start := time.Now()
	for i := 12; i < n; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i+200)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
			errs[i] = joinSome(i, isMember, r)
		}()
	}
	for k, i := range slices.Concat(leavers, killed, returning) {
		r := rand.New(rand.NewPCG(seed, uint64(i+300)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(r.IntN(150)) * time.Millisecond)
			switch {
			case k < 2:
				mu.Lock()
				gone[i] = true
				mu.Unlock()
				nodes[i].Leave()
			case k < 4:
				mu.Lock()
				gone[i] = true
				mu.Unlock()
				nodes[i].Shutdown()
			default:
				mu.Lock()
				gone[i] = true
				mu.Unlock()
				nodes[i].Leave()
				time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
				errs[i] = joinSome(i, isMember, r) // live again once it is back in
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("phase 2: n%02d: %v", i, err)
		}
	}
	var alive []*Manager
	for _, i := range live() {
		alive = append(alive, nodes[i])
	}
	t.Logf("%d live nodes; left %v, killed %v, left and came back %v", len(alive), leavers, killed, returning)
	settled := time.Now()
	waitMesh(t, alive, 15*time.Second)
	t.Logf("every live node lists the same %d members %v after the churn began, %v after the last Join returned",
		len(alive), time.Since(start).Round(time.Millisecond), time.Since(settled).Round(time.Millisecond))
	for _, i := range leavers {
		if got := nodes[i].MemberAliases(); len(got) != 1 {
			t.Errorf("n%02d left but lists %v", i, got)
		}
	}
	// And it stays so: nobody flaps.
	time.Sleep(2 * nodes[0].cfg.HeartbeatTimeout)
	if !fullMesh(alive) {
		t.Fatalf("the mesh did not hold:%s", describe(alive)())
	}
}
