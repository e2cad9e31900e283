package cluster

import (
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// next reads the next frame, or reports false once deadline has passed
// without one.
func (r *rawConn) next(deadline time.Time) (wire.Message, bool) {
	r.t.Helper()
	r.c.SetReadDeadline(deadline)
	m, err := r.fr.ReadMessage()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, false
	}
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return m, true
}

// nextAnswering is next, answering each Ping with a Pong that carries no
// digest (as a node that keeps none) until another frame comes.
func (r *rawConn) nextAnswering(deadline time.Time) (wire.Message, bool) {
	r.t.Helper()
	for {
		m, ok := r.next(deadline)
		if !ok {
			return nil, false
		}
		p, isPing := m.(*wire.Ping)
		if !isPing {
			return m, true
		}
		r.write(&wire.Pong{Seq: p.Seq})
	}
}

// digestOf is the member-list digest of a full mesh of aliases.
func digestOf(aliases ...string) uint64 {
	var d uint64
	for _, a := range aliases {
		d += wire.AliasHash(a)
	}
	return d
}

// TestMembersWithTheSameDigestAreSkipped: a Members message that carries
// the receiver's own digest names nobody it lacks, so the receiver learns
// nothing from it and dials nobody; without a digest, or with another one,
// the list is read as always.
func TestMembersWithTheSameDigestAreSkipped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		digest func(mine uint64) uint64
		learns bool
	}{
		{"same digest", func(mine uint64) uint64 { return mine }, false},
		{"no digest", func(uint64) uint64 { return 0 }, true},
		{"another digest", func(mine uint64) uint64 { return mine + 1 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newNode(t, testConfig(t, "a"))
			r := established(t, a)
			mine := digestOf("a", "raw")
			if got := a.sess.members.digest.Load(); got != mine {
				t.Fatalf("a's digest %#x, want %#x (a and raw)", got, mine)
			}
			// ghost listens nowhere: a dial to it would fail, but a that
			// learns of it wants it.
			r.write(&wire.Members{Nodes: []wire.NodeInfo{{Alias: "ghost", IP: "127.0.0.1", Port: 1}}, Digest: tc.digest(mine)})
			// a handles a connection's frames in order: once the Pong
			// comes, the Members message has been handled.
			r.write(&wire.Ping{Seq: 7, Digest: mine})
			for {
				m := r.read()
				if p, ok := m.(*wire.Pong); ok && p.Seq == 7 {
					break
				}
			}
			a.mu.Lock()
			_, known := a.sess.members.byAlias["ghost"]
			a.mu.Unlock()
			if known != tc.learns {
				t.Errorf("a knows ghost: %v, want %v", known, tc.learns)
			}
		})
	}
}

// TestListGoesOnlyToAPeerWhoseDigestDiffers: a peer whose Pings and Pongs
// carry the node's own digest never gets the member list; once it reports
// another digest, the node sends it the whole list with its digest.
func TestListGoesOnlyToAPeerWhoseDigestDiffers(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.GossipInterval = time.Second // the raw member reports its digest well before a's list settles
	a := newNode(t, cfg)
	r := established(t, a)
	mine := digestOf("a", "raw")
	r.write(&wire.Ping{Seq: 1, Digest: mine})
	// Three gossip intervals with the same lists: Pings and Pongs only.
	for deadline := time.Now().Add(3 * cfg.GossipInterval); ; {
		m, ok := r.next(deadline)
		if !ok {
			break
		}
		switch m := m.(type) {
		case *wire.Ping:
			r.write(&wire.Pong{Seq: m.Seq, Digest: mine})
		case *wire.Pong:
		default:
			t.Fatalf("a sent %#v to a peer whose list is its own", m)
		}
	}
	// raw now reports a list that differs: a sends its own.
	r.write(&wire.Ping{Seq: 2, Digest: mine + 1})
	for deadline := time.Now().Add(3 * cfg.GossipInterval); ; {
		m, ok := r.next(deadline)
		if !ok {
			t.Fatal("a never sent its list to a peer whose digest differs")
		}
		if mm, ok := m.(*wire.Members); ok {
			if mm.Digest != mine || len(mm.Nodes) != 1 || mm.Nodes[0].Alias != "raw" {
				t.Fatalf("a sent %#v, want its whole list (raw) with digest %#x", mm, mine)
			}
			return
		}
		if p, ok := m.(*wire.Ping); ok {
			r.write(&wire.Pong{Seq: p.Seq, Digest: mine + 1})
		}
	}
}

// TestListToAPeerWithoutDigest: a peer that keeps no digest (its Pings
// and Pongs say 0, as a node written from the protocol alone) gets the
// member list after each change of it, not at every gossip interval.
func TestListToAPeerWithoutDigest(t *testing.T) {
	cfg := testConfig(t, "a")
	a := newNode(t, cfg)
	r := established(t, a)
	r.write(&wire.Ping{Seq: 1})
	// lists counts the Members messages r gets in d, answering Pings
	// without a digest.
	lists := func(d time.Duration) (n int) {
		for deadline := time.Now().Add(d); ; {
			m, ok := r.nextAnswering(deadline)
			if !ok {
				return n
			}
			if _, ok := m.(*wire.Members); ok {
				n++
			}
		}
	}
	// raw's arrival changed a's list: raw gets it once, then no more.
	if n := lists(6 * cfg.GossipInterval); n != 1 {
		t.Fatalf("over six gossip intervals after it joined, raw got %d lists, want 1", n)
	}
	// Another member joins and leaves at once: a's list changes twice.
	other := establishedAs(t, a, "other", 10)
	other.write(&wire.Leave{Alias: "other"})
	other.c.Close()
	eventually(t, time.Second, func() bool { return !a.connected("other") }, func() string { return "other never left" })
	if n := lists(4 * cfg.GossipInterval); n == 0 {
		t.Fatal("after a's list changed, raw got no list")
	}
	if n := lists(4 * cfg.GossipInterval); n != 0 {
		t.Fatalf("with a's list unchanged, raw got %d more lists, want none", n)
	}
	// raw comes back on a new connection (restarted: same alias, same
	// address), which changes nothing in a's list: it gets the list again.
	r = establishedAs(t, a, "raw", 9)
	r.write(&wire.Ping{Seq: 2})
	if n := lists(4 * cfg.GossipInterval); n != 1 {
		t.Fatalf("on its new connection, raw got %d lists, want 1", n)
	}
}

// TestPingOnlyOnAQuietConnection: a connection that brings frames is never
// Pinged; one that falls quiet is, before the heartbeat timeout, with the
// node's digest.
func TestPingOnlyOnAQuietConnection(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = 100*time.Millisecond, 2*time.Second // Pings after 1 s of quiet
	a := newNode(t, cfg)
	r := established(t, a)
	mine := digestOf("a", "raw")

	// raw Pings every 100 ms for twice as long as a waits before it
	// Pings: a answers, and Pings not.
	var mu sync.Mutex // one writer at a time on r
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			writeFrame(r.c, &wire.Ping{Seq: seq, Digest: mine})
			mu.Unlock()
		}
	}()
	var pongs []uint64
	for deadline := time.Now().Add(2 * cfg.pingAfter()); ; {
		m, ok := r.next(deadline)
		if !ok {
			break
		}
		switch m := m.(type) {
		case *wire.Pong:
			pongs = append(pongs, m.Seq)
			if m.Digest != mine {
				t.Errorf("Pong digest %#x, want %#x", m.Digest, mine)
			}
		default:
			t.Fatalf("a sent %#v on a connection that is not quiet", m)
		}
	}
	close(stop)
	<-done
	if len(pongs) == 0 || !slices.IsSorted(pongs) || pongs[0] != 1 {
		t.Errorf("Pongs %v: want one per Ping, in order", pongs)
	}

	// raw falls quiet: a Pings it before the timeout.
	for deadline := time.Now().Add(cfg.HeartbeatTimeout); ; {
		m, ok := r.next(deadline)
		if !ok {
			t.Fatal("a never Pinged a quiet connection")
		}
		if p, ok := m.(*wire.Ping); ok {
			if p.Digest != mine {
				t.Errorf("Ping digest %#x, want %#x", p.Digest, mine)
			}
			break
		}
	}
}

// TestChangedListPropagates: a member that two members never told each
// other about is found through the lists of a third, whose digest differs
// from theirs. a joins b (so b greets nobody) and c connects to a with a
// Join (which brings back no list): neither b nor c hears of the other
// from a join. a's list settles, differs from theirs, and goes to both.
func TestChangedListPropagates(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	c := newNode(t, testConfig(t, "c"))
	join(t, a, b)
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	c.dialNow(s, "a", addrOf(t, a))
	waitMesh(t, []*Manager{a, b, c}, 5*time.Second)
}

// TestIdleMeshDropsNobody: an idle mesh with the default timings (500 ms
// heartbeat interval, 2.5 s timeout) keeps every member for several
// timeouts: the Pings of quiet connections keep them all alive. (Larger
// meshes: BenchmarkIdleMesh, which reports drops.)
func TestIdleMeshDropsNobody(t *testing.T) {
	const n = 20
	var nodes []*Manager
	var rec []*drops
	for i := range n {
		cfg := DefaultConfig()
		cfg.Port = 0
		cfg.Alias, cfg.Cookie, cfg.Logger = string(rune('a'+i)), testCookie, testLogger(t)
		m, d := watchedNode(t, cfg)
		nodes, rec = append(nodes, m), append(rec, d)
	}
	for _, m := range nodes[1:] {
		join(t, m, nodes[0])
	}
	waitMesh(t, nodes, 10*time.Second)
	time.Sleep(3 * DefaultHeartbeatTimeout)
	for i, d := range rec {
		if got := d.list(); len(got) != 0 {
			t.Errorf("%s dropped members of an idle mesh: %+v", nodes[i].Alias(), got)
		}
	}
	if !fullMesh(nodes) {
		t.Errorf("mesh lost:%s", describe(nodes)())
	}
}
