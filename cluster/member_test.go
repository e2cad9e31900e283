package cluster

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// tableConfig has round timings so that the expected times read easily.
func tableConfig() Config {
	c := DefaultConfig()
	c.Alias = "a"
	c.HeartbeatInterval = 100 * time.Millisecond
	c.HeartbeatTimeout = time.Second
	c.GossipInterval = 500 * time.Millisecond // announcedFor = 2.5 s
	c.RedialMaxInterval = 2 * time.Second
	c.RedialFor = time.Minute
	c.MaxDials = 2
	return c
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fakePeer(alias, ip string, port int, initiator string) *peer {
	return &peer{alias: alias, ip: ip, port: port, initiator: initiator}
}

// Starting points of the transitions: a table holding member "b" in the
// given state (or not at all), entered at t0.
func tableWith(t *testing.T, s memberState, known bool) (*memberTable, *peer) {
	t.Helper()
	tb := newMemberTable(tableConfig(), t0)
	if !known {
		return tb, nil
	}
	p := fakePeer("b", "127.0.0.1", 7002, "a")
	tb.heard("b", "127.0.0.1:7002", t0)
	switch s {
	case stateAnnounced:
	case stateDialing:
		tb.dueDials(t0, nil)
	case stateConnected:
		if _, err := tb.connect(p, t0); err != nil {
			t.Fatal(err)
		}
	case stateLost:
		tb.connect(p, t0)
		tb.drop(p, dropLost, t0)
	case stateLeft:
		tb.connect(p, t0)
		tb.drop(p, dropLeft, t0)
	}
	if got := tb.byAlias["b"].state; got != s {
		t.Fatalf("setup: b is %v, want %v", got, s)
	}
	return tb, p
}

// TestMemberTransitions walks every transition of the member state machine
// (member.go): from each state, each event, to the state it must lead to
// ("gone": forgotten).
func TestMemberTransitions(t *testing.T) {
	const gone = "gone"
	soon := t0.Add(50 * time.Millisecond)
	later := t0.Add(3 * time.Second) // past announcedFor (2.5 s)
	cases := []struct {
		name  string
		from  string // a state name, or "unknown"
		event func(tb *memberTable, p *peer) error
		want  string
		check func(t *testing.T, tb *memberTable)
	}{
		{"a peer lists an unknown member: announced, due at once", "unknown",
			func(tb *memberTable, _ *peer) error { tb.heard("b", "127.0.0.1:7002", t0); return nil }, "announced",
			func(t *testing.T, tb *memberTable) {
				if due := tb.dueDials(t0, nil); len(due) != 1 {
					t.Errorf("%d due, want 1", len(due))
				}
			}},
		{"a due announced member is dialled", "announced",
			func(tb *memberTable, _ *peer) error { tb.dueDials(t0, nil); return nil }, "dialing",
			func(t *testing.T, tb *memberTable) {
				if tb.dials != 1 {
					t.Errorf("%d dials in flight", tb.dials)
				}
			}},
		{"a dial fails: announced again, with a backoff", "dialing",
			func(tb *memberTable, _ *peer) error { tb.dialEnded("b", errors.New("refused"), t0); return nil }, "announced",
			func(t *testing.T, tb *memberTable) {
				mb := tb.byAlias["b"]
				if mb.backoff != 100*time.Millisecond || mb.next.Before(t0.Add(80*time.Millisecond)) || tb.dials != 0 {
					t.Errorf("backoff %v next %v dials %d", mb.backoff, mb.next.Sub(t0), tb.dials)
				}
				if len(tb.dueDials(soon, nil)) != 0 {
					t.Error("dialled again within its backoff")
				}
			}},
		{"a dial meets another cookie: retried only rarely", "dialing",
			func(tb *memberTable, _ *peer) error { tb.dialEnded("b", ErrAuth, t0); return nil }, "announced",
			func(t *testing.T, tb *memberTable) {
				if mb := tb.byAlias["b"]; mb.backoff != 2*time.Second {
					t.Errorf("backoff %v, want RedialMaxInterval", mb.backoff)
				}
			}},
		{"a dial finds another node at the address: forgotten", "dialing",
			func(tb *memberTable, _ *peer) error { tb.dialEnded("b", errWrongMember, t0); return nil }, gone, nil},
		{"a dial succeeds", "dialing",
			func(tb *memberTable, p *peer) error {
				if _, err := tb.connect(p, t0); err != nil {
					return err
				}
				if tb.dialEnded("b", nil, t0) {
					return errors.New("dialEnded changed a connected member")
				}
				return nil
			}, "connected", nil},
		{"it connects to this node while announced", "announced",
			func(tb *memberTable, p *peer) error { _, err := tb.connect(p, t0); return err }, "connected", nil},
		{"it connects to this node while a dial to it runs; the dial then fails", "dialing",
			func(tb *memberTable, p *peer) error {
				tb.connect(fakePeer("b", "127.0.0.1", 7002, "b"), t0)
				tb.dialEnded("b", errDuplicate, t0)
				return nil
			}, "connected", nil},
		{"its connection fails: lost, redialled", "connected",
			func(tb *memberTable, p *peer) error { tb.drop(p, dropLost, t0); return nil }, "lost",
			func(t *testing.T, tb *memberTable) {
				if mb := tb.byAlias["b"]; mb.lostAt != t0 || mb.peer != nil {
					t.Errorf("lostAt %v peer %v", mb.lostAt, mb.peer)
				}
			}},
		{"it says Leave", "connected",
			func(tb *memberTable, p *peer) error { tb.drop(p, dropLeft, t0); return nil }, "left", nil},
		{"it breaks the protocol: forgotten", "connected",
			func(tb *memberTable, p *peer) error { tb.drop(p, dropBroken, t0); return nil }, gone, nil},
		{"a stale connection of it ends: nothing changes", "connected",
			func(tb *memberTable, _ *peer) error {
				if tb.drop(fakePeer("b", "127.0.0.1", 7002, "a"), dropLost, t0) {
					return errors.New("drop of a stale connection changed the member")
				}
				return nil
			}, "connected", nil},
		{"the same node reconnects (same initiator): the new connection wins", "connected",
			func(tb *memberTable, old *peer) error {
				got, err := tb.connect(fakePeer("b", "127.0.0.1", 7002, "a"), t0)
				if got != old {
					return fmt.Errorf("old connection %v not returned for closing", got)
				}
				return err
			}, "connected", nil},
		{"a second connection loses the tie-break", "connected",
			func(tb *memberTable, _ *peer) error {
				_, err := tb.connect(fakePeer("b", "127.0.0.1", 7002, "b"), t0)
				if !errors.Is(err, errDuplicate) {
					return fmt.Errorf("connect = %v, want errDuplicate", err)
				}
				return nil
			}, "connected", nil},
		{"its alias from another address", "connected",
			func(tb *memberTable, _ *peer) error {
				_, err := tb.connect(fakePeer("b", "127.0.0.1", 9999, "b"), t0)
				if !errors.Is(err, ErrAliasTaken) {
					return fmt.Errorf("connect = %v, want ErrAliasTaken", err)
				}
				return nil
			}, "connected", nil},
		{"a lost member is redialled", "lost",
			func(tb *memberTable, _ *peer) error { tb.dueDials(t0.Add(time.Second), nil); return nil }, "dialing", nil},
		{"a redial fails: lost again, backoff doubles", "lost",
			func(tb *memberTable, _ *peer) error {
				tb.dueDials(t0.Add(time.Second), nil)
				tb.dialEnded("b", errors.New("refused"), t0.Add(time.Second))
				return nil
			}, "lost",
			func(t *testing.T, tb *memberTable) {
				if mb := tb.byAlias["b"]; mb.backoff != 200*time.Millisecond {
					t.Errorf("backoff %v, want 200ms", mb.backoff)
				}
			}},
		{"a lost member comes back by itself", "lost",
			func(tb *memberTable, _ *peer) error {
				_, err := tb.connect(fakePeer("b", "127.0.0.1", 7002, "b"), t0)
				return err
			}, "connected", nil},
		{"a member that left is listed again at once: ignored", "left",
			func(tb *memberTable, _ *peer) error { tb.heard("b", "127.0.0.1:7002", soon); return nil }, "left",
			func(t *testing.T, tb *memberTable) {
				if len(tb.dueDials(soon, nil)) != 0 {
					t.Error("dialled a member that just left")
				}
			}},
		{"a member that left is listed much later: announced", "left",
			func(tb *memberTable, _ *peer) error { tb.heard("b", "127.0.0.1:7002", later); return nil }, "announced", nil},
		{"a member that left comes back by itself", "left",
			func(tb *memberTable, _ *peer) error {
				_, err := tb.connect(fakePeer("b", "127.0.0.1", 7002, "b"), t0)
				return err
			}, "connected", nil},
		{"an announced member nobody lists any more: forgotten", "announced",
			func(tb *memberTable, _ *peer) error { tb.expire(later); return nil }, gone, nil},
		{"an announced member listed lately: kept", "announced",
			func(tb *memberTable, _ *peer) error { tb.expire(soon); return nil }, "announced", nil},
		{"a lost member of a node with no peer left: kept past RedialFor", "lost",
			func(tb *memberTable, _ *peer) error { tb.expire(t0.Add(time.Hour)); return nil }, "lost", nil},
		{"a lost member of a node with other peers: forgotten after RedialFor", "lost",
			func(tb *memberTable, _ *peer) error {
				tb.connect(fakePeer("c", "127.0.0.1", 7003, "a"), t0)
				tb.expire(t0.Add(30 * time.Second))
				if tb.byAlias["b"] == nil {
					return errors.New("forgotten before RedialFor")
				}
				tb.expire(t0.Add(time.Hour))
				return nil
			}, gone, nil},
		{"a member that left is forgotten after announcedFor", "left",
			func(tb *memberTable, _ *peer) error { tb.expire(later); return nil }, gone, nil},
		{"another member now listens at a lost member's address: forgotten", "lost",
			func(tb *memberTable, _ *peer) error {
				tb.connect(fakePeer("new", "127.0.0.1", 7002, "new"), t0)
				tb.expire(soon)
				return nil
			}, gone, nil},
		{"another member now listens at an announced member's address: forgotten", "announced",
			func(tb *memberTable, _ *peer) error {
				tb.connect(fakePeer("new", "127.0.0.1", 7002, "new"), t0)
				tb.expire(soon)
				return nil
			}, gone, nil},
		{"an unknown member at a connected member's address: ignored", "unknown",
			func(tb *memberTable, _ *peer) error {
				tb.connect(fakePeer("c", "127.0.0.1", 7002, "a"), t0)
				tb.heard("b", "127.0.0.1:7002", t0)
				return nil
			}, gone, nil},
	}
	for _, tc := range cases {
		t.Run(tc.from+": "+tc.name, func(t *testing.T) {
			var s memberState
			for i, n := range stateNames {
				if n == tc.from {
					s = memberState(i)
				}
			}
			tb, p := tableWith(t, s, tc.from != "unknown")
			if err := tc.event(tb, p); err != nil {
				t.Fatal(err)
			}
			mb := tb.byAlias["b"]
			got := gone
			if mb != nil {
				got = mb.state.String()
			}
			if got != tc.want {
				t.Fatalf("b is %s, want %s", got, tc.want)
			}
			if mb != nil && mb.state == stateConnected && mb.peer == nil {
				t.Fatal("connected without a connection")
			}
			if tc.check != nil {
				tc.check(t, tb)
			}
		})
	}
}

// TestKeepNew: which of two connections between the same two nodes at the
// same address survives, as the node "self" decides it; "peer" is the
// other node, and a connection is named by its opener and its first
// message.
func TestKeepNew(t *testing.T) {
	tests := []struct {
		name, self, peer string
		old, new         string // "opener hello" or "opener join"
		keepNew          bool
	}{
		{"the peer reconnects", "a", "b", "b join", "b join", true},
		{"this node reconnects", "a", "b", "a join", "a join", true},
		{"the peer restarted and joined elsewhere first", "a", "b", "b hello", "b join", true},
		{"the peer restarted and joins through this node", "a", "b", "a join", "b hello", true},
		{"the peer restarted, this node's alias the larger", "c", "b", "c join", "b hello", true},
		{"a Join does not replace a Hello", "a", "b", "b hello", "a join", false},
		{"dialled at once: the smaller alias's connection wins", "a", "b", "a join", "b join", false},
		{"dialled at once, seen from the other end", "b", "a", "a join", "b join", false},
		{"dialled at once, the newer the smaller's", "c", "b", "c join", "b join", true},
		{"each joins through the other at once", "a", "b", "a hello", "b hello", false},
		{"each joins through the other, seen from the other end", "b", "a", "a hello", "b hello", false},
	}
	conn := func(peerAlias, desc string) *peer {
		var opener, first string
		fmt.Sscan(desc, &opener, &first)
		return &peer{alias: peerAlias, initiator: opener, hello: first == "hello"}
	}
	for _, tt := range tests {
		if got := keepNew(tt.self, conn(tt.peer, tt.old), conn(tt.peer, tt.new)); got != tt.keepNew {
			t.Errorf("%s: keepNew = %v, want %v", tt.name, got, tt.keepNew)
		}
	}
}

// TestDialsCapped: however many members are due, at most MaxDials dials
// run at once; the others start as dials succeed. A failed dial keeps its
// slot until the next tick (expire), so that addresses that refuse at once
// cannot make the node dial as fast as the kernel answers.
func TestDialsCapped(t *testing.T) {
	tb := newMemberTable(tableConfig(), t0) // MaxDials 2
	for i := range 6 {
		tb.heard(fmt.Sprintf("m%d", i), fmt.Sprintf("127.0.0.1:%d", 7000+i), t0)
	}
	first := tb.dueDials(t0, nil)
	if len(first) != 2 || tb.dials != 2 {
		t.Fatalf("%d dials started, %d in flight; want 2", len(first), tb.dials)
	}
	if more := tb.dueDials(t0, nil); len(more) != 0 {
		t.Fatalf("%d more dials beyond the cap", len(more))
	}

	// A success frees its slot at once.
	tb.connect(&peer{alias: first[0].alias}, t0)
	tb.dialEnded(first[0].alias, nil, t0)
	next := tb.dueDials(t0, nil)
	if len(next) != 1 {
		t.Fatalf("after a dial succeeded: %d started, want 1", len(next))
	}

	// A failure holds its slot until the next tick.
	tb.dialEnded(first[1].alias, errors.New("refused"), t0)
	if more := tb.dueDials(t0, nil); len(more) != 0 {
		t.Fatalf("after a dial failed: %d started before the tick, want 0", len(more))
	}
	tb.expire(t0.Add(time.Millisecond))
	if more := tb.dueDials(t0.Add(time.Millisecond), nil); len(more) != 1 || more[0].alias == first[1].alias {
		t.Fatalf("after the tick: %d started, want 1 (not the one that failed, whose backoff runs)", len(more))
	}
}

// TestMembersBounded: Members naming ever new aliases cannot grow the table
// past maxMembers.
func TestMembersBounded(t *testing.T) {
	tb := newMemberTable(tableConfig(), t0)
	for i := range maxMembers + 100 {
		tb.heard(fmt.Sprintf("m%d", i), fmt.Sprintf("10.0.%d.%d:7000", i/256, i%256), t0)
	}
	if len(tb.byAlias) != maxMembers {
		t.Fatalf("%d members kept, want %d", len(tb.byAlias), maxMembers)
	}
}

// TestDigestFollowsConnectedMembers: the table's digest is the sum of the
// alias hashes of this node and of every connected member, through every
// way in and out of stateConnected; a connection replaced by another to
// the same member changes nothing.
func TestDigestFollowsConnectedMembers(t *testing.T) {
	tb := newMemberTable(tableConfig(), t0)
	b, c := fakePeer("b", "127.0.0.1", 7002, "a"), fakePeer("c", "127.0.0.1", 7003, "a")
	later := t0.Add(time.Second)
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"alone", func() error { return nil }, nil},
		{"b connects", func() error { _, err := tb.connect(b, later); return err }, []string{"b"}},
		{"c connects", func() error { _, err := tb.connect(c, later); return err }, []string{"b", "c"}},
		{"c's connection replaced", func() error {
			_, err := tb.connect(fakePeer("c", "127.0.0.1", 7003, "a"), later)
			return err
		}, []string{"b", "c"}},
		{"b lost", func() error { tb.drop(b, dropLost, later); return nil }, []string{"c"}},
		{"b announced again", func() error { tb.heard("b", "127.0.0.1:7002", later); return nil }, []string{"c"}},
		{"b back", func() error { _, err := tb.connect(b, later); return err }, []string{"b", "c"}},
		{"b left", func() error { tb.drop(b, dropLeft, later); return nil }, []string{"c"}},
		{"c broke the protocol", func() error { tb.drop(tb.connectedPeer("c"), dropBroken, later); return nil }, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got, want := tb.digest.Load(), digestOf(append(st.want, tb.cfg.Alias)...); got != want {
			t.Errorf("%s: digest %#x, want that of %v and this node, %#x", st.name, got, st.want, want)
		}
	}
	if !tb.changed.Equal(later) || tb.settled(later) || !tb.settled(later.Add(tb.cfg.GossipInterval)) {
		t.Errorf("changed %v: the list settles a GossipInterval after its last change", tb.changed)
	}
}

// A member prints as !cluster_members and a daemon's list show it.
func TestMemberString(t *testing.T) {
	tests := []struct {
		m    Member
		want string
	}{
		{Member{Alias: "n1", IP: "127.0.0.1", Port: 2254}, "n1 127.0.0.1:2254"},
		{Member{Alias: "me", IP: "10.0.0.7", Port: 1, Self: true}, "me 10.0.0.7:1 (self)"},
		{Member{Alias: "v6", IP: "::1", Port: 65535}, "v6 [::1]:65535"},
		{Member{Alias: "z", IP: "fe80::1%eth0", Port: 80, Self: true}, "z [fe80::1%eth0]:80 (self)"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v: String() = %q, want %q", tt.m, got, tt.want)
		}
		if got := tt.m.AppendTo([]byte("> ")); string(got) != "> "+tt.want {
			t.Errorf("%+v: AppendTo = %q, want %q", tt.m, got, "> "+tt.want)
		}
	}
}
