package cluster

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// hostile is a raw connection to a node whose every incoming frame is
// recorded by a reader goroutine, so that the node's writes never block.
type hostile struct {
	t      testing.TB
	c      *tls.Conn
	e      []byte // the connection's exported keying material
	mu     sync.Mutex
	frames []wire.Message
	first  chan struct{} // closed when the first frame arrived
	done   chan struct{} // closed when the node closed the connection
	closed time.Time
}

func openHostile(t testing.TB, addr string) *hostile {
	t.Helper()
	c, e := dialTLS(t, addr)
	h := &hostile{t: t, c: c, e: e, first: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { c.Close(); <-h.done })
	go func() {
		defer close(h.done)
		fr := wire.NewFrameReader(c, 0)
		for {
			m, err := fr.ReadMessage()
			h.mu.Lock()
			if err != nil {
				h.closed = time.Now()
				if len(h.frames) == 0 {
					close(h.first)
				}
				h.mu.Unlock()
				return
			}
			h.frames = append(h.frames, m)
			if len(h.frames) == 1 {
				close(h.first)
			}
			h.mu.Unlock()
		}
	}()
	return h
}

// challenge waits for the node's Challenge and returns it.
func (h *hostile) challenge() *wire.Challenge {
	h.t.Helper()
	select {
	case <-h.first:
	case <-time.After(5 * time.Second):
		h.t.Fatal("no Challenge")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.frames) == 0 {
		h.t.Fatal("closed before the Challenge")
	}
	ch, ok := h.frames[0].(*wire.Challenge)
	if !ok {
		h.t.Fatalf("first frame %#v", h.frames[0])
	}
	return ch
}

// send writes b, ignoring errors: the node may close the connection first.
func (h *hostile) send(b []byte) {
	h.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	h.c.Write(b)
}

func (h *hostile) sendMsg(m wire.Message) {
	b, err := wire.AppendFrame(nil, m, DefaultMaxFrameSize)
	if err != nil {
		h.t.Fatal(err)
	}
	h.send(b)
}

// closedWithin waits until the node closes the connection and returns
// what it sent and how long that took from now.
func (h *hostile) closedWithin(timeout time.Duration) ([]wire.Message, time.Duration) {
	h.t.Helper()
	start := time.Now()
	select {
	case <-h.done:
	case <-time.After(timeout):
		h.t.Fatalf("connection still open after %v", timeout)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.frames, h.closed.Sub(start)
}

// leaksNothing checks that an unauthenticated connection got the
// Challenge and at most one Error: no ack, no member list, no Members,
// no Ping.
func leaksNothing(t testing.TB, frames []wire.Message) {
	t.Helper()
	for i, f := range frames {
		switch {
		case i == 0 && f.Type() == wire.MsgChallenge:
		case i > 0 && i == len(frames)-1 && f.Type() == wire.MsgError:
		default:
			t.Fatalf("frame %d sent to an unauthenticated peer: %#v (all: %v)", i, f, frames)
		}
	}
}

func msgMap(fields ...func([]byte) []byte) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(fields)))
	for _, f := range fields {
		b = f(b)
	}
	return b
}

func field(name string, val func([]byte) []byte) func([]byte) []byte {
	return func(b []byte) []byte { return val(msgp.AppendString(b, name)) }
}

func str(s string) func([]byte) []byte {
	return func(b []byte) []byte { return msgp.AppendString(b, s) }
}
func bin(v []byte) func([]byte) []byte {
	return func(b []byte) []byte { return msgp.AppendBytes(b, v) }
}
func u16(v uint16) func([]byte) []byte {
	return func(b []byte) []byte { return msgp.AppendUint16(b, v) }
}
func raw(v []byte) func([]byte) []byte { return func(b []byte) []byte { return append(b, v...) } }
func intv(v int64) func([]byte) []byte {
	return func(b []byte) []byte { return msgp.AppendInt64(b, v) }
}
func nilArray(n int) func([]byte) []byte {
	return raw(append(msgp.AppendArrayHeader(nil, uint32(n)), bytes.Repeat([]byte{0xc0}, n)...))
}

// helloWith is a Hello body with a wrong proof and extra fields.
func helloWith(extra ...func([]byte) []byte) []byte {
	return msgMap(append([]func([]byte) []byte{
		field("alias", str("mallory")), field("port", u16(9999)),
		field("nonce", bin([]byte("0123456789abcdef"))), field("proof", bin(make([]byte, 32))),
	}, extra...)...)
}

func frameLen(l uint32, rest ...byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, l), rest...)
}

// TestHostileHandshakes sends a node every kind of broken, malicious or
// unauthenticated opening: none may crash it, get anything but the
// Challenge and an Error, or disturb its members.
func TestHostileHandshakes(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.HandshakeTimeout = time.Second
	a, da := watchedNode(t, cfg)
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	addr := addrOf(t, a)

	deep := append(bytes.Repeat([]byte{0x91}, 4000), 0xc0)
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rand.N(256))
	}
	cases := []struct {
		name  string
		bytes []byte
		want  string // the Error the node sends, "" for none (a plain close)
		// wait: the node closes only at the handshake deadline.
		wait bool
	}{
		{"L=0", frameLen(0), "", false},
		{"L one over the pre-authentication limit", frameLen(wire.PreAuthFrameSize + 1), "", false},
		{"L over the limit", frameLen(DefaultMaxFrameSize + 1), "", false},
		{"L=max uint32", frameLen(1<<32 - 1), "", false},
		{"most of a 1 MiB Hello", append(frameLen(DefaultMaxFrameSize, byte(wire.MsgHello)), make([]byte, 900_000)...), "", false},
		{"truncated header, then silence", []byte{0, 0}, "", true},
		{"truncated body, then silence", frameLen(100, byte(wire.MsgHello), 0x84, 0xa5), "", true},
		{"4 KiB frame announced, nothing sent", frameLen(wire.PreAuthFrameSize, byte(wire.MsgHello)), "", true},
		{"garbage bytes", garbage, "", false},
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "", false},
		{"unknown type 0", frame(0, []byte{0x80}), "unknown message type 0", false},
		{"unknown type 200", frame(200, []byte{0x80}), "unknown message type 200", false},
		{"Spawn instead of Hello", frame(wire.MsgSpawn, msgMap(field("ref", intv(1)))), "expected Hello or Join", false},
		{"Send instead of Hello", frame(wire.MsgSend, msgMap(field("from", intv(1)), field("to", intv(1)), field("value", intv(1)))), "expected Hello or Join", false},
		{"Kill instead of Hello", frame(wire.MsgKill, msgMap(field("pid", intv(1)))), "expected Hello or Join", false},
		{"unknown type 255", frame(255, nil), "unknown message type 255", false},
		{"Hello body is an array", frame(wire.MsgHello, msgp.AppendInt(msgp.AppendString(msgp.AppendArrayHeader(nil, 2), "x"), 1)), "malformed Hello", false},
		{"Hello body is a string", frame(wire.MsgHello, msgp.AppendString(nil, "hello")), "malformed Hello", false},
		{"Hello body is nil", frame(wire.MsgHello, []byte{0xc0}), "malformed Hello", false},
		{"Hello body is empty", frame(wire.MsgHello, nil), "malformed Hello", false},
		{"Hello with an empty map", frame(wire.MsgHello, []byte{0x80}), "missing alias", false},
		{"alias is an integer", frame(wire.MsgHello, msgMap(field("alias", intv(7)))), "malformed Hello", false},
		{"nonce is a map", frame(wire.MsgJoin, msgMap(field("nonce", raw([]byte{0x80})))), "malformed Join", false},
		{"port is negative", frame(wire.MsgHello, msgMap(field("alias", str("m")), field("port", intv(-1)))), "malformed Hello", false},
		{"trailing bytes after the body", frame(wire.MsgHello, append(helloWith(), 0xc0)), "malformed Hello", false},
		{"alias of 900 kB", frame(wire.MsgHello, msgMap(field("alias", str(strings.Repeat("m", 900_000))))), "", false},
		{"alias of 300 bytes", frame(wire.MsgHello, msgMap(field("alias", str(strings.Repeat("m", 300))))), "malformed Hello", false},
		{"proof of 100 kB", frame(wire.MsgHello, msgMap(field("proof", bin(make([]byte, 100_000))))), "", false},
		{"proof of 1 kB", frame(wire.MsgHello, msgMap(field("proof", bin(make([]byte, 1000))))), "malformed Hello", false},
		{"unknown field: 3 kB string", frame(wire.MsgHello, helloWith(field("pad", str(strings.Repeat("p", 3000))))), "authentication failed", false},
		{"unknown field: 900 kB string", frame(wire.MsgHello, helloWith(field("pad", str(strings.Repeat("p", 900_000))))), "", false},
		{"unknown field: array of 4000 nils", frame(wire.MsgHello, helloWith(field("pad", nilArray(4000)))), "authentication failed", false},
		{"unknown field: arrays nested 4000 deep", frame(wire.MsgHello, helloWith(field("pad", raw(deep)))), "authentication failed", false},
		{"array header claiming 2^31 entries", frame(wire.MsgHello, msgMap(field("pad", raw(msgp.AppendArrayHeader(nil, 1<<31))))), "malformed Hello", false},
		{"Members instead of Hello", frame(wire.MsgMembers, msgMap(field("nodes", raw(msgp.AppendArrayHeader(nil, 0))))), "expected Hello or Join", false},
		{"HelloAck instead of Hello", frame(wire.MsgHelloAck, []byte{0x80}), "expected Hello or Join", false},
		{"Challenge back", frame(wire.MsgChallenge, msgMap(field("nonce", bin([]byte("0123456789abcdef"))))), "expected Hello or Join", false},
		{"Leave instead of Hello", frame(wire.MsgLeave, msgMap(field("alias", str("b")))), "expected Hello or Join", false},
		{"Error instead of Hello", frame(wire.MsgError, msgMap(field("message", str("boo")))), "", false},
		{"wrong proof", frame(wire.MsgHello, helloWith()), "authentication failed", false},
		{"Join from a stranger, wrong proof", frame(wire.MsgJoin, helloWith()), "authentication failed", false},
		{"Join from a stranger, no proof", frame(wire.MsgJoin, msgMap(field("alias", str("stranger")), field("port", u16(1)))), "authentication failed", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := openHostile(t, addr)
			h.challenge()
			h.send(tc.bytes)
			// (Random garbage may read as the start of a frame: then the
			// node waits for the rest until the handshake deadline.)
			frames, took := h.closedWithin(cfg.HandshakeTimeout + 3*time.Second)
			leaksNothing(t, frames)
			if tc.want != "" {
				if e, ok := frames[len(frames)-1].(*wire.Error); !ok || !strings.Contains(e.Message, tc.want) {
					t.Fatalf("got %v, want an Error with %q", frames, tc.want)
				}
			} else if len(frames) > 1 && tc.name != "garbage bytes" && tc.name != "HTTP request" {
				t.Fatalf("got %v, want a close", frames)
			}
			if tc.wait && took < cfg.HandshakeTimeout/2 {
				t.Errorf("closed after %v, before the handshake deadline", took)
			}
			if tc.wait {
				t.Logf("closed at the handshake deadline, %v", took.Round(time.Millisecond))
			}
		})
	}

	t.Run("Hello trickled a byte at a time", func(t *testing.T) {
		// Once a member is authenticated, bytes still arriving keep its
		// connection (liveReader); before, the handshake deadline is
		// final whatever a stranger sends.
		h := openHostile(t, addr)
		h.challenge()
		hello := frame(wire.MsgHello, helloWith(field("pad", str(strings.Repeat("p", 200)))))
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for _, b := range hello {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				h.c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := h.c.Write([]byte{b}); err != nil {
					return
				}
			}
		}()
		frames, took := h.closedWithin(cfg.HandshakeTimeout + 3*time.Second)
		leaksNothing(t, frames)
		if took > cfg.HandshakeTimeout+time.Second {
			t.Errorf("closed after %v: the trickle held the handshake past its deadline", took)
		}
	})

	t.Run("replayed proof", func(t *testing.T) {
		// A proof seen on the wire for one connection is worthless for
		// the next: every Challenge is fresh, and E differs.
		h1 := openHostile(t, addr)
		ch1 := h1.challenge()
		nonce := []byte("0123456789abcdef")
		h1.c.Close()
		for _, kind := range []wire.MsgType{wire.MsgHello, wire.MsgJoin} {
			proof := connectorProof(testCookie, kind, h1.e, ch1, nonce, "b", 1)
			h := openHostile(t, addr)
			ch := h.challenge()
			if bytes.Equal(ch.Nonce, ch1.Nonce) || bytes.Equal(h.e, h1.e) {
				t.Fatal("the same Challenge or E twice")
			}
			h.sendMsg(opening(kind, "b", 1, nonce, proof))
			frames, _ := h.closedWithin(2 * time.Second)
			leaksNothing(t, frames)
			if e, ok := frames[len(frames)-1].(*wire.Error); !ok || !strings.Contains(e.Message, "authentication failed") {
				t.Fatalf("got %v", frames)
			}
		}
	})

	t.Run("no Members while the handshake is pending", func(t *testing.T) {
		// A connection waits in its handshake while a node joins (which
		// sends Members to every member): it gets none of it.
		h := openHostile(t, addr)
		ch := h.challenge()
		c := newNode(t, testConfig(t, "c"))
		join(t, c, a)
		waitMesh(t, []*Manager{a, b, c}, 5*time.Second)
		time.Sleep(2 * a.cfg.GossipInterval) // and a gossip round or two
		nonce := []byte("0123456789abcdef")
		h.sendMsg(&wire.Hello{Alias: "mallory", Port: 1, Nonce: nonce,
			Proof: connectorProof([]byte("guess"), wire.MsgHello, h.e, ch, nonce, "mallory", 1)})
		frames, _ := h.closedWithin(2 * time.Second)
		leaksNothing(t, frames)
		c.Leave()
	})

	t.Run("alias held by a live member", func(t *testing.T) {
		for _, kind := range []wire.MsgType{wire.MsgHello, wire.MsgJoin} {
			h := openHostile(t, addr)
			ch := h.challenge()
			nonce := []byte("0123456789abcdef")
			h.sendMsg(opening(kind, "b", 1, nonce, connectorProof(testCookie, kind, h.e, ch, nonce, "b", 1)))
			frames, _ := h.closedWithin(2 * time.Second)
			leaksNothing(t, frames)
			if e, ok := frames[len(frames)-1].(*wire.Error); !ok || !strings.Contains(e.Message, "alias taken") {
				t.Fatalf("got %v", frames)
			}
		}
	})

	// Through all of it a kept b, and still serves.
	waitMesh(t, []*Manager{a, b}, 2*time.Second)
	for _, d := range da.list() {
		if d.alias == "b" {
			t.Errorf("a dropped b: %+v", d)
		}
	}
	d := newNode(t, testConfig(t, "d"))
	join(t, d, a)
	waitMesh(t, []*Manager{a, b, d}, 5*time.Second)
}

// TestHostileMember: a peer that passed the handshake and then breaks the
// protocol is dropped, alone.
func TestHostileMember(t *testing.T) {
	a, da := watchedNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)

	unusable := &wire.Members{}
	for i := range wire.MaxNodes {
		// Unusable entries (port 0): decoded, checked, ignored.
		unusable.Nodes = append(unusable.Nodes, wire.NodeInfo{Alias: "x" + strings.Repeat("y", i%200), IP: "127.0.0.1"})
	}
	huge, err := wire.AppendFrame(nil, unusable, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		bytes   []byte
		dropped bool
	}{
		{"L=0", frameLen(0), true},
		{"L over the limit", frameLen(DefaultMaxFrameSize + 1), true},
		{"truncated frame, then close", frameLen(50, byte(wire.MsgMembers), 0x81), true},
		{"garbage", []byte("\x00\x00\x00\x05\x08garbage and more garbage"), true},
		{"Members of the wrong shape", frame(wire.MsgMembers, msgMap(field("nodes", str("all of them")))), true},
		{"Hello after the handshake", frame(wire.MsgHello, helloWith()), true},
		{"unknown type", frame(77, nil), true},
		{"Members with 4096 unusable nodes", huge, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := established(t, a)
			r.writeBytes(tc.bytes)
			if tc.name == "truncated frame, then close" {
				r.c.CloseWrite()
			}
			if !tc.dropped {
				time.Sleep(3 * a.cfg.HeartbeatInterval)
				if !a.connected("raw") {
					t.Fatal("dropped for a valid message")
				}
				r.c.Close()
			}
			eventually(t, 2*time.Second, func() bool { return !a.connected("raw") }, func() string { return "still listed" })
		})
	}

	t.Run("reads nothing until its buffers fill", func(t *testing.T) {
		// The peer floods Pings and never reads the Pongs: the node's
		// queue or socket fills, and it drops the peer rather than block.
		r := established(t, a)
		before := len(da.list())
		ping, _ := wire.AppendFrame(nil, &wire.Ping{Seq: 1}, DefaultMaxFrameSize)
		batch := bytes.Repeat(ping, 4096)
		start := time.Now()
		deadline := start.Add(20 * time.Second)
		r.c.SetWriteDeadline(deadline)
		for a.connected("raw") && time.Now().Before(deadline) {
			if _, err := r.c.Write(batch); err != nil {
				break
			}
		}
		// Its Pongs fill the queue long before a write times out, and the
		// drop says so: not "connection closed", as if the peer had hung up.
		// (The drop of the case before may be recorded after before was
		// read: drops are told after the member list changes.)
		eventually(t, 5*time.Second, func() bool {
			return slices.ContainsFunc(da.list()[before:], func(d drop) bool { return d.alias == "raw" && d.reason == "send queue full" })
		}, func() string { return fmt.Sprintf("drops since the flood began: %+v", da.list()[before:]) })
		t.Logf("a peer that reads nothing dropped after %v", time.Since(start).Round(time.Millisecond))
	})

	waitMesh(t, []*Manager{a, b}, 2*time.Second)
	for _, d := range da.list() {
		if d.alias != "raw" {
			t.Errorf("a dropped %+v", d)
		}
	}
}

// TestSilentConnectionFlood: hundreds of connections that never speak are
// closed at the handshake deadline, while the node keeps its members and
// takes new ones.
func TestSilentConnectionFlood(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.HandshakeTimeout = time.Second
	a, da := watchedNode(t, cfg)
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)

	const n = 300
	start := time.Now()
	hs := make([]*hostile, n)
	for i := range hs {
		hs[i] = openHostile(t, addrOf(t, a))
	}
	// Meanwhile a new node joins.
	c := newNode(t, testConfig(t, "c"))
	join(t, c, a)
	waitMesh(t, []*Manager{a, b, c}, 5*time.Second)
	var last time.Duration
	for _, h := range hs {
		frames, _ := h.closedWithin(cfg.HandshakeTimeout + 5*time.Second)
		leaksNothing(t, frames)
		if len(frames) != 1 {
			t.Fatalf("a silent connection got %v", frames)
		}
		last = max(last, h.closed.Sub(start))
	}
	t.Logf("%d silent connections all closed %v after they opened (handshake timeout %v)", n, last.Round(time.Millisecond), cfg.HandshakeTimeout)
	if last < cfg.HandshakeTimeout/2 {
		t.Errorf("closed after %v, before the handshake deadline", last)
	}
	if got := da.list(); len(got) != 0 {
		t.Errorf("a dropped members during the flood: %+v", got)
	}
	eventually(t, 2*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.sess.handshakes.len() == 0 && len(a.sess.conns) == 2
	}, func() string { return "connections left over" })
}

// TestWriterSplitsMembersToTheFrameLimit: a member list of long aliases
// (the gossip of a big cluster) goes out in frames the limit allows.
func TestWriterSplitsMembersToTheFrameLimit(t *testing.T) {
	const limit = wire.MinMaxFrameSize
	p, c2 := pipePeer(t, limit)
	var all wire.Members
	for i := range 40 {
		all.Nodes = append(all.Nodes, wire.NodeInfo{Alias: fmt.Sprintf("%03d%s", i, strings.Repeat("n", 200)), IP: "127.0.0.1", Port: 7})
	}
	errc := make(chan error, 1)
	go func() { errc <- p.write([]wire.Message{&all}, nil, false); p.raw.Close() }()
	fr := wire.NewFrameReader(c2, limit)
	var got []wire.NodeInfo
	for {
		msg, err := fr.ReadMessage()
		if err != nil {
			if !isClosedErr(err) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, msg.(*wire.Members).Nodes...)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all.Nodes) {
		t.Fatalf("got %d nodes, want %d", len(got), len(all.Nodes))
	}
}
