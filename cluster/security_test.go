package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// relay is a stranger without the cookie that took over the address of a
// dead member: every member redials it there. For each dial it opens a
// connection to target and passes the target's Challenge to the dialler as
// its own, renamed as the dead member when rename is set, then the
// dialler's answer on to the target, as a Hello or as it came. It records
// everything the target sends back.
type relay struct {
	t      *testing.T
	ln     net.Listener
	target string
	rename string

	mu       sync.Mutex
	relayed  int            // answers (Hello/Join) passed on to the target
	fromDial []wire.Message // what diallers sent
	fromTgt  []wire.Message // what the target sent, Challenges included
	wg       sync.WaitGroup
}

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			r.relayOne(c)
		}()
	}
}

func (r *relay) relayOne(c net.Conn) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	dialler := tls.Server(c, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()}})
	if dialler.Handshake() != nil {
		return
	}
	tc, err := net.DialTimeout("tcp", r.target, time.Second)
	if err != nil {
		return
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	target := tls.Client(tc, &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
	if target.Handshake() != nil {
		return
	}
	tr := wire.NewFrameReader(target, 0)
	dr := wire.NewFrameReader(dialler, 0)
	ch, err := tr.ReadMessage()
	if err != nil {
		return
	}
	r.record(&r.fromTgt, ch)
	if c, ok := ch.(*wire.Challenge); ok && r.rename != "" {
		ch = &wire.Challenge{Nonce: c.Nonce, Alias: r.rename}
	}
	writeFrame(dialler, ch)
	answer, err := dr.ReadMessage()
	if err != nil {
		return // the dialler hung up on the Challenge
	}
	r.record(&r.fromDial, answer)
	if j, ok := answer.(*wire.Join); ok {
		answer = &wire.Hello{Alias: j.Alias, Port: j.Port, Nonce: j.Nonce, Proof: j.Proof}
	}
	r.mu.Lock()
	r.relayed++
	r.mu.Unlock()
	writeFrame(target, answer)
	for {
		m, err := tr.ReadMessage()
		if err != nil {
			return
		}
		r.record(&r.fromTgt, m)
		writeFrame(dialler, m)
	}
}

func (r *relay) record(to *[]wire.Message, m wire.Message) {
	r.mu.Lock()
	*to = append(*to, m)
	r.mu.Unlock()
}

func (r *relay) close() {
	r.ln.Close()
	r.wg.Wait()
}

// TestRelayWithoutCookieGetsNothing: a stranger on a dead member's address
// relays the handshakes of the members that redial it to another member.
// The proofs are bound to the connection, the acceptor and the kind of
// message: the target answers nothing but its Challenge and an Error, and
// no member list changes.
func TestRelayWithoutCookieGetsNothing(t *testing.T) {
	for _, rename := range []string{"", "c"} {
		t.Run("challenge alias "+map[string]string{"": "as the target sent it", "c": "renamed to the dead member"}[rename], func(t *testing.T) {
			a, da := watchedNode(t, testConfig(t, "a"))
			b, db := watchedNode(t, testConfig(t, "b"))
			c := newNode(t, testConfig(t, "c"))
			join(t, b, a)
			join(t, c, a)
			waitMesh(t, []*Manager{a, b, c}, 5*time.Second)
			cAddr := addrOf(t, c)
			c.Shutdown()
			waitMesh(t, []*Manager{a, b}, 5*time.Second)

			ln, err := net.Listen("tcp", cAddr)
			if err != nil {
				t.Skipf("c's port was taken meanwhile: %v", err)
			}
			r := &relay{t: t, ln: ln, target: addrOf(t, b), rename: rename}
			r.wg.Add(1)
			go r.serve()
			defer r.close()
			// a redials c about every RedialMaxInterval (500 ms here):
			// wait for several relayed attempts, or for a's dials to be
			// hung up on (the alias check) for as long.
			deadline := time.Now().Add(4 * time.Second)
			for time.Now().Before(deadline) {
				r.mu.Lock()
				n := r.relayed
				r.mu.Unlock()
				if rename != "" && n >= 3 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			r.close()
			r.mu.Lock()
			defer r.mu.Unlock()
			if rename != "" && r.relayed < 3 {
				t.Fatalf("only %d handshakes relayed", r.relayed)
			}
			if rename == "" && r.relayed != 0 {
				t.Errorf("a dialler answered a Challenge from %q at c's address %d times", "b", r.relayed)
			}
			for _, m := range r.fromTgt {
				switch m := m.(type) {
				case *wire.Challenge:
				case *wire.Error:
					if m.Code != wire.CodeAuth {
						t.Errorf("target refused with code %d (%s), want %d", m.Code, m.Message, wire.CodeAuth)
					}
				default:
					t.Fatalf("the relay got %#v from the target", m)
				}
			}
			waitMesh(t, []*Manager{a, b}, time.Second)
			for _, d := range slices.Concat(da.list(), db.list()) {
				if d.alias != "c" {
					t.Errorf("a member was dropped: %+v", d)
				}
			}
			t.Logf("%d dials relayed, target sent %d frames", r.relayed, len(r.fromTgt))
		})
	}
}

// injector is a TCP connection whose test may write raw bytes into it, as
// an attacker on the path would, between the TLS records of its owner.
type injector struct {
	net.Conn
	mu sync.Mutex
}

// TestInjectedFrameBreaksOnlyThatConnection: bytes injected into a member
// connection (a plaintext Members frame naming a ghost) fail TLS's record
// check. That connection closes and is made again; the ghost is never
// listed and no other connection notices.
func TestInjectedFrameBreaksOnlyThatConnection(t *testing.T) {
	var (
		mu   sync.Mutex
		toB  []*injector
		bDst string
	)
	cfg := testConfig(t, "a")
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		inj := &injector{Conn: c}
		mu.Lock()
		if addr == bDst {
			toB = append(toB, inj)
		}
		mu.Unlock()
		return inj, nil
	}
	t.Cleanup(func() { a.Shutdown() })
	b, db := watchedNode(t, testConfig(t, "b"))
	c, dc := watchedNode(t, testConfig(t, "c"))
	mu.Lock()
	bDst = addrOf(t, b)
	mu.Unlock()
	join(t, c, b)
	join(t, a, b) // a dials b: that connection can be injected into
	nodes := []*Manager{a, b, c}
	waitMesh(t, nodes, 5*time.Second)

	ghost, err := wire.AppendFrame(nil, &wire.Members{Nodes: []wire.NodeInfo{{Alias: "ghost", IP: "127.0.0.1", Port: 1}}}, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	inj := toB[len(toB)-1]
	mu.Unlock()
	inj.Conn.Write(ghost)
	eventually(t, 2*time.Second, func() bool { _, ok := db.of("a"); return ok }, func() string { return "b kept the connection" })
	waitMesh(t, nodes, 5*time.Second)
	for _, n := range nodes {
		if slices.Contains(n.MemberAliases(), "ghost") {
			t.Fatalf("%s lists the injected member", n.Alias())
		}
	}
	if d, ok := db.of("c"); ok {
		t.Errorf("b dropped c: %+v", d)
	}
	if d, ok := dc.of("b"); ok {
		t.Errorf("c dropped b: %+v", d)
	}
	d, _ := db.of("a")
	t.Logf("b dropped a for %q; the connection was made again", d.reason)
}

// TestMembersNamingThisNodeCauseNoDial: a member (it holds the cookie)
// lists this node's own address under thousands of aliases. Nothing dials
// it.
func TestMembersNamingThisNodeCauseNoDial(t *testing.T) {
	a, err := New(testConfig(t, "a"))
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int64
	a.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("test: no dial expected")
	}
	t.Cleanup(func() { a.Shutdown() })
	addr := addrOf(t, a)
	_, port, _ := net.SplitHostPort(addr)
	r := established(t, a)
	var ms wire.Members
	for i := range wire.MaxNodes {
		ip := "127.0.0.1"
		if i%2 == 1 {
			ip = "::ffff:127.0.0.1" // the same address, written another way
		}
		var p uint16
		fmt.Sscan(port, &p)
		ms.Nodes = append(ms.Nodes, wire.NodeInfo{Alias: fmt.Sprintf("me%d", i), IP: ip, Port: p})
	}
	r.write(&ms)
	r.write(&wire.Ping{Seq: 1})
	for { // the Pong says the Members before it were handled
		if p, ok := r.read().(*wire.Pong); ok && p.Seq == 1 {
			break
		}
	}
	time.Sleep(3 * a.cfg.HeartbeatInterval) // a maintenance round or more
	if n := dials.Load(); n != 0 {
		t.Fatalf("%d dials to the node's own address", n)
	}
}

// TestDialsInFlightCapped: a member lists thousands of aliases at an
// address that never answers. At most MaxDials dials are in flight at
// once.
func TestDialsInFlightCapped(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.MaxDials = 8
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, most, total atomic.Int64
	a.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		total.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done() // a black hole: the dial ends at the handshake deadline
		return nil, ctx.Err()
	}
	t.Cleanup(func() { a.Shutdown() })
	r := established(t, a)
	var ms wire.Members
	for i := range 4096 {
		ms.Nodes = append(ms.Nodes, wire.NodeInfo{Alias: fmt.Sprintf("hole%d", i), IP: "192.0.2.1", Port: uint16(1000 + i)})
	}
	r.write(&ms)
	eventually(t, 5*time.Second, func() bool { return total.Load() >= 8 }, func() string { return "no dials" })
	time.Sleep(3 * a.cfg.HeartbeatInterval)
	if m := most.Load(); m > 8 {
		t.Fatalf("%d dials in flight at once, cap 8", m)
	}
	t.Logf("%d dials started, at most %d at once", total.Load(), most.Load())
}

// TestJoinWhileIdleConnectionsHeld: 2000 connections that never speak
// (more than MaxPendingHandshakes) cannot keep a joining node out: the
// oldest pending handshake is closed to make room for each new one.
func TestJoinWhileIdleConnectionsHeld(t *testing.T) {
	a, da := watchedNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	addr := addrOf(t, a)
	const idle = 2000
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	eventually(t, 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.sess.handshakes.len() == a.cfg.MaxPendingHandshakes
	}, func() string { return "pending handshakes not at the cap" })

	c := newNode(t, testConfig(t, "c"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Join(ctx, addr); err != nil {
		t.Fatalf("join while %d idle connections are held: %v", idle, err)
	}
	waitMesh(t, []*Manager{a, b, c}, 5*time.Second)
	t.Logf("joined in %v with %d idle connections held", time.Since(start).Round(time.Millisecond), idle)
	a.mu.Lock()
	pending := a.sess.handshakes.len()
	a.mu.Unlock()
	if pending > a.cfg.MaxPendingHandshakes {
		t.Errorf("%d pending handshakes, cap %d", pending, a.cfg.MaxPendingHandshakes)
	}
	if got := da.list(); len(got) != 0 {
		t.Errorf("a dropped members: %+v", got)
	}
}

// TestHandshakeUnderwaySurvivesConnectFlood: a connector that has made
// its TLS handshake and holds the Challenge is not closed for room by a
// flood of bare connects, however many more than MaxPendingHandshakes
// arrive after it: its Hello is answered. The flood is logged with one
// warning, not one per connection.
func TestHandshakeUnderwaySurvivesConnectFlood(t *testing.T) {
	logs := &logCounter{}
	cfg := testConfig(t, "a")
	cfg.Logger = slog.New(logs)
	cfg.MaxPendingHandshakes = 16
	a := newNode(t, cfg)
	addr := addrOf(t, a)
	h := openHostile(t, addr)
	ch := h.challenge()

	const flood = 200
	var bare []net.Conn
	defer func() {
		for _, c := range bare {
			c.Close()
		}
	}()
	for range flood {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		bare = append(bare, c)
	}
	const warning, quiet = "too many handshakes under way: closed connections that had not authenticated", "handshake closed for room"
	closed := flood + 1 - cfg.MaxPendingHandshakes
	eventually(t, 5*time.Second, func() bool { return logs.count(warning)+logs.count(quiet) == closed }, func() string {
		return fmt.Sprintf("%d connections logged as closed for room, want %d", logs.count(warning)+logs.count(quiet), closed)
	})

	nonce := newNonce()
	h.sendMsg(&wire.Hello{Alias: "joiner", Port: 1, Nonce: nonce,
		Proof: connectorProof(cfg.Cookie, wire.MsgHello, h.e, ch, nonce, "joiner", 1)})
	eventually(t, 5*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.frames) > 1
	}, func() string { return "no answer to the Hello" })
	h.mu.Lock()
	ack, ok := h.frames[1].(*wire.HelloAck)
	h.mu.Unlock()
	if !ok {
		t.Fatalf("answer to the Hello: %#v, want HelloAck", h.frames[1])
	}
	if ack.Node.Alias != "a" {
		t.Errorf("HelloAck from %q", ack.Node.Alias)
	}
	if n := logs.count("WARN " + warning); n != 1 {
		t.Errorf("%d warnings for one flood, want 1", n)
	}

	// Once the flood is over, the next connection finds room, and the log
	// says how many were closed for room after the warning.
	for _, c := range bare {
		c.Close()
	}
	eventually(t, 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.sess.handshakes.len() < cfg.MaxPendingHandshakes
	}, func() string { return "the flood's connections still pending" })
	late, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	eventually(t, 5*time.Second, func() bool { return logs.count("INFO handshakes below the limit again") == 1 },
		func() string { return "no line for the evictions after the warning" })
}

// TestConnectorOutlastsStrangersPastTLS: strangers that finish TLS and
// wait cannot make every bare connect close a real connector still in
// its TLS handshake: with more than half the places past TLS, those make
// room first, and the connector outlasts half the limit's worth of newer
// connections.
func TestConnectorOutlastsStrangersPastTLS(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.MaxPendingHandshakes = 16
	a := newNode(t, cfg)
	addr := addrOf(t, a)
	for range cfg.MaxPendingHandshakes - 1 {
		openHostile(t, addr).challenge() // past TLS, then silent
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range cfg.MaxPendingHandshakes/2 - 1 {
		bare, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer bare.Close()
	}
	eventually(t, 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.sess.handshakes.opening.Len() == cfg.MaxPendingHandshakes/2
	}, func() string { return "the bare connects were not all accepted" })

	tc, e := tlsEnd(t, c, false)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	fr := wire.NewFrameReader(tc, 0)
	m, err := fr.ReadMessage()
	ch, ok := m.(*wire.Challenge)
	if err != nil || !ok {
		t.Fatalf("no Challenge: %v %#v", err, m)
	}
	nonce := newNonce()
	b, _ := wire.AppendFrame(nil, &wire.Hello{Alias: "joiner", Port: 1, Nonce: nonce,
		Proof: connectorProof(cfg.Cookie, wire.MsgHello, e, ch, nonce, "joiner", 1)}, DefaultMaxFrameSize)
	tc.Write(b)
	if m, err := fr.ReadMessage(); err != nil {
		t.Fatalf("answer to the Hello: %v", err)
	} else if _, ok := m.(*wire.HelloAck); !ok {
		t.Fatalf("answer to the Hello: %#v, want HelloAck", m)
	}
}

// TestPlaintextPeerGetsNothing: a node of protocol version 1 (no TLS), or
// anything else that does not speak TLS, gets no Challenge and is closed.
func TestPlaintextPeerGetsNothing(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	c, err := net.DialTimeout("tcp", addrOf(t, a), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(frame(wire.MsgHello, []byte{0x80}))
	buf := make([]byte, 4096)
	var got []byte
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if strings.Contains(string(got), "alias") || strings.Contains(string(got), "nonce") {
		t.Fatalf("a plaintext peer got %q", got)
	}
}
