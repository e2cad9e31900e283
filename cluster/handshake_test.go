package cluster

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// rawConn speaks the wire protocol by hand over TLS, to test a node from
// outside.
type rawConn struct {
	t  testing.TB
	c  *tls.Conn
	e  []byte // the connection's exported keying material
	fr *wire.FrameReader
	ch *wire.Challenge // the acceptor's, once read by hello
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, e := dialTLS(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, e: e, fr: wire.NewFrameReader(c, 0)}
}

func (r *rawConn) write(m wire.Message) {
	r.t.Helper()
	if err := writeFrame(r.c, m); err != nil {
		r.t.Fatalf("write %s: %v", m.Type(), err)
	}
}

func (r *rawConn) writeBytes(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawConn) read() wire.Message {
	r.t.Helper()
	m, err := r.fr.ReadMessage()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return m
}

// rest reads frames until the connection ends and returns them.
func (r *rawConn) rest() []wire.Message {
	r.t.Helper()
	var out []wire.Message
	for {
		m, err := r.fr.ReadMessage()
		if err != nil {
			if !isClosedErr(err) {
				r.t.Fatalf("reading until EOF: %v", err)
			}
			return out
		}
		out = append(out, m)
	}
}

// challenge reads the acceptor's Challenge.
func (r *rawConn) challenge() *wire.Challenge {
	r.t.Helper()
	ch, ok := r.read().(*wire.Challenge)
	if !ok || len(ch.Nonce) != 16 || ch.Alias == "" {
		r.t.Fatalf("first frame is not a Challenge with a 16-byte nonce and an alias: %#v", ch)
	}
	r.ch = ch
	return ch
}

// hello reads the Challenge and answers a Hello (or Join) as alias, with
// a proof made with cookie.
func (r *rawConn) hello(kind wire.MsgType, alias string, port uint16, cookie []byte) (nonce []byte) {
	r.t.Helper()
	ch := r.challenge()
	nonce = []byte("raw-client-nonce")
	r.write(opening(kind, alias, port, nonce, connectorProof(cookie, kind, r.e, ch, nonce, alias, port)))
	return nonce
}

// expectRefused checks that the node answers exactly one Error frame with
// code and a text containing want, then closes: nothing else, the member
// list least of all.
func (r *rawConn) expectRefused(code wire.ErrorCode, want string) {
	r.t.Helper()
	frames := r.rest()
	if len(frames) != 1 {
		r.t.Fatalf("got %d frames %v, want one Error", len(frames), frames)
	}
	e, ok := frames[0].(*wire.Error)
	if !ok || e.Code != code || !strings.Contains(e.Message, want) {
		r.t.Fatalf("got %#v, want an Error with code %d containing %q", frames[0], code, want)
	}
}

// twoNodes returns a cluster a-b, so that there is a member list to leak.
func twoNodes(t *testing.T) (a, b *Manager) {
	a = newNode(t, testConfig(t, "a"))
	b = newNode(t, testConfig(t, "b"))
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	return a, b
}

func TestHandshakeWrongCookieLeaksNothing(t *testing.T) {
	a, _ := twoNodes(t)
	for _, kind := range []wire.MsgType{wire.MsgHello, wire.MsgJoin} {
		r := dialRaw(t, addrOf(t, a))
		r.hello(kind, "mallory", 9999, []byte("wrong cookie"))
		r.expectRefused(wire.CodeAuth, "authentication failed")
	}
	if got := a.MemberAliases(); strings.Join(got, ",") != "a,b" {
		t.Errorf("members after refused handshakes: %v", got)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	a, b := twoNodes(t)
	tests := []struct {
		name  string
		kind  wire.MsgType
		alias string
		port  uint16
		code  wire.ErrorCode
		want  string
	}{
		{"empty alias", wire.MsgHello, "", 9999, wire.CodeProtocol, "missing alias"},
		{"alias held at another address", wire.MsgHello, "b", 9999, wire.CodeAliasTaken, "alias taken"},
		{"alias held at another address (Join)", wire.MsgJoin, "b", 1, wire.CodeAliasTaken, "alias taken"},
		{"the acceptor's own alias", wire.MsgHello, "a", uint16(a.Members()[0].Port), wire.CodeAliasTaken, "alias taken"},
		{"no port", wire.MsgHello, "zed", 0, wire.CodeProtocol, "port"},
		{"alias with a space", wire.MsgJoin, "x y", 9999, wire.CodeProtocol, "invalid alias"},
		{"alias with a bidi override", wire.MsgHello, "evil\u202egnp.exe", 9999, wire.CodeProtocol, "invalid alias"},
		{"alias with a zero-width space", wire.MsgHello, "b\u200b", 9999, wire.CodeProtocol, "invalid alias"},
		{"alias with a zero-width joiner (Join)", wire.MsgJoin, "a\u200db", 9999, wire.CodeProtocol, "invalid alias"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, addrOf(t, a))
			r.hello(tc.kind, tc.alias, tc.port, testCookie)
			r.expectRefused(tc.code, tc.want)
		})
	}
	waitMesh(t, []*Manager{a, b}, time.Second)
}

func TestHandshakeUnexpectedFrames(t *testing.T) {
	a, b := twoNodes(t)
	t.Run("unknown type instead of Hello", func(t *testing.T) {
		r := dialRaw(t, addrOf(t, a))
		r.read()
		r.writeBytes(frame(42, []byte{0x80}))
		r.expectRefused(wire.CodeProtocol, "unknown message type 42")
	})
	t.Run("Ping instead of Hello", func(t *testing.T) {
		r := dialRaw(t, addrOf(t, a))
		r.read()
		r.write(&wire.Ping{Seq: 1})
		r.expectRefused(wire.CodeProtocol, "expected Hello or Join")
	})
	t.Run("garbage body", func(t *testing.T) {
		r := dialRaw(t, addrOf(t, a))
		r.read()
		r.writeBytes(frame(wire.MsgHello, []byte{0xc1, 0xc1}))
		r.expectRefused(wire.CodeProtocol, "malformed Hello")
	})
	t.Run("frame over the pre-authentication limit", func(t *testing.T) {
		r := dialRaw(t, addrOf(t, a))
		r.read()
		r.writeBytes(binary.BigEndian.AppendUint32(nil, wire.PreAuthFrameSize+1))
		if frames := r.rest(); len(frames) != 0 {
			t.Errorf("got %v, want the connection closed", frames)
		}
	})
	t.Run("L=0", func(t *testing.T) {
		r := dialRaw(t, addrOf(t, a))
		r.read()
		r.writeBytes([]byte{0, 0, 0, 0})
		if frames := r.rest(); len(frames) != 0 {
			t.Errorf("got %v, want the connection closed", frames)
		}
	})
	waitMesh(t, []*Manager{a, b}, time.Second)
}

func TestHandshakeTimeoutAcceptor(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.HandshakeTimeout = 200 * time.Millisecond
	a := newNode(t, cfg)
	r := dialRaw(t, addrOf(t, a))
	r.read() // Challenge, then say nothing
	start := time.Now()
	if frames := r.rest(); len(frames) != 0 {
		t.Errorf("got %v", frames)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a silent connector was closed after %v", d)
	}
}

// acceptOnce listens on loopback, runs serve on the first connection
// (closed after it) and returns the address; the test's end stops both.
func acceptOnce(t *testing.T, serve func(c net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return ln.Addr().String()
}

// fakeAcceptor listens and runs serve on the first connection, after the
// TLS handshake.
func fakeAcceptor(t *testing.T, serve func(r *rawConn)) string {
	return acceptOnce(t, func(c net.Conn) {
		tc, e := tlsEnd(t, c, true)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serve(&rawConn{t: t, c: tc, e: e, fr: wire.NewFrameReader(tc, 0)})
	})
}

// challengeHello opens a fake acceptor's side of the handshake as alias: a
// Challenge, then the connector's Hello; nil (and a test error) if something
// else came.
func (r *rawConn) challengeHello(alias string) *wire.Hello {
	r.t.Helper()
	r.write(&wire.Challenge{Nonce: []byte("0123456789abcdef"), Alias: alias})
	h, ok := r.read().(*wire.Hello)
	if !ok {
		r.t.Error("expected Hello")
		return nil
	}
	return h
}

// The connector holds the acceptor to its answer and, whatever is wrong
// with it, hangs up without a word: it sends nothing after its Hello until
// the acceptor's proof checks.
func TestJoinChecksAcceptorProof(t *testing.T) {
	evil := wire.NodeInfo{Alias: "evil", IP: "127.0.0.1", Port: 1}
	goodProof := func(r *rawConn, h *wire.Hello) []byte {
		return wire.AcceptorProof(testCookie, r.e, h.Nonce, "evil", h.Alias)
	}
	tests := []struct {
		name   string
		answer func(r *rawConn, h *wire.Hello)
		want   error // nil: any error
	}{
		{"a proof made with another cookie", func(r *rawConn, h *wire.Hello) {
			proof := wire.AcceptorProof([]byte("other cookie"), r.e, h.Nonce, "evil", h.Alias)
			r.write(&wire.HelloAck{Node: evil, Proof: proof})
		}, ErrAuth},
		{"a JoinAck to a Hello", func(r *rawConn, h *wire.Hello) {
			r.write(&wire.JoinAck{Node: evil, Proof: goodProof(r, h)})
		}, nil},
		{"another alias than the Challenge's", func(r *rawConn, h *wire.Hello) {
			r.write(&wire.HelloAck{Node: wire.NodeInfo{Alias: "other", IP: "127.0.0.1", Port: 1}, Proof: goodProof(r, h)})
		}, nil},
		{"a message of no known type", func(r *rawConn, h *wire.Hello) {
			r.writeBytes(frame(99, []byte{0x80}))
		}, nil},
		{"a malformed HelloAck", func(r *rawConn, h *wire.Hello) {
			r.writeBytes(frame(wire.MsgHelloAck, []byte{0xc1}))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan []wire.Message, 1)
			addr := fakeAcceptor(t, func(r *rawConn) {
				h := r.challengeHello("evil")
				if h == nil {
					got <- nil
					return
				}
				tt.answer(r, h)
				got <- r.rest()
			})
			m := newNode(t, testConfig(t, "m"))
			err := m.Join(context.Background(), addr)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Join = %v, want %v", err, cmp.Or(tt.want, errors.New("an error")))
			}
			if frames := <-got; len(frames) != 0 {
				t.Errorf("the connector answered with %v, want nothing (it hangs up)", frames)
			}
			if got := m.MemberAliases(); len(got) != 1 {
				t.Errorf("members %v", got)
			}
		})
	}
}

// acceptJoinAs plays a member alias that accepts a node's Join: a
// Challenge, then a JoinAck with a good proof and ticket; it then answers
// every Ping until the node closes the connection.
func (r *rawConn) acceptJoinAs(alias string, ticket []byte) {
	r.write(&wire.Challenge{Nonce: []byte("0123456789abcdef"), Alias: alias})
	j, ok := r.read().(*wire.Join)
	if !ok {
		r.t.Error("expected Join")
		return
	}
	r.write(&wire.JoinAck{Node: wire.NodeInfo{Alias: alias, IP: "127.0.0.1", Port: 1},
		Proof: wire.AcceptorProof(testCookie, r.e, j.Nonce, alias, j.Alias), Ticket: ticket})
	for {
		m, err := r.fr.ReadMessage()
		if err != nil {
			return
		}
		if p, ok := m.(*wire.Ping); ok {
			writeFrame(r.c, &wire.Pong{Seq: p.Seq})
		}
	}
}

// TestHelloReplacesTheConnectionOfAnEarlierRun: "a" dialled "z" (a Join),
// then z comes back from the same address with a Hello, as it does when it
// restarted before a saw the old connection close. A node says Hello only
// when it joins, so the Hello is z's new run: it replaces a's connection
// although the tie-break of two connections dialled at once would keep
// a's (a's alias is the smaller).
func TestHelloReplacesTheConnectionOfAnEarlierRun(t *testing.T) {
	oldEnded := make(chan struct{})
	addr := fakeAcceptor(t, func(r *rawConn) {
		defer close(oldEnded)
		r.acceptJoinAs("z", nil)
	})
	a := newNode(t, testConfig(t, "a"))
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	a.dialNow(s, "z", addr)
	eventually(t, 5*time.Second, func() bool { return a.connected("z") }, func() string { return "a never connected to z" })

	var port uint16
	_, p, _ := net.SplitHostPort(addr)
	fmt.Sscan(p, &port)
	r := dialRaw(t, addrOf(t, a))
	nonce := r.hello(wire.MsgHello, "z", port, testCookie)
	switch ack := r.read().(type) {
	case *wire.HelloAck:
		if !hmac.Equal(ack.Proof, wire.AcceptorProof(testCookie, r.e, nonce, "a", "z")) {
			t.Fatalf("HelloAck with a wrong proof: %#v", ack)
		}
	default:
		t.Fatalf("z's Hello got %#v, want a HelloAck", ack)
	}
	select {
	case <-oldEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("a kept the connection of z's earlier run")
	}
	if q := a.peerOf("z"); q == nil || q.initiator != "z" {
		t.Fatalf("a's connection to z is %v, want the one z opened", q)
	}
}

// TestJoinAckOverPreAuthLimit: a JoinAck, read before the acceptor's proof
// is checked, is held to the 4 KiB of frames before authentication (only a
// HelloAck, which carries the member list, may be longer).
func TestJoinAckOverPreAuthLimit(t *testing.T) {
	for _, size := range []int{wire.PreAuthFrameSize - 600, wire.PreAuthFrameSize + 600} {
		answered := make(chan struct{})
		addr := fakeAcceptor(t, func(r *rawConn) {
			defer close(answered)
			r.acceptJoinAs("z", make([]byte, size))
		})
		a := newNode(t, testConfig(t, "a"))
		a.mu.Lock()
		s := a.sess
		a.mu.Unlock()
		a.dialNow(s, "z", addr)
		if size <= wire.PreAuthFrameSize {
			eventually(t, 5*time.Second, func() bool { return a.connected("z") }, func() string { return "a JoinAck under the limit was refused" })
			a.Shutdown()
		}
		select {
		case <-answered:
		case <-time.After(5 * time.Second):
			t.Fatalf("JoinAck with a %d-byte ticket: the connection stayed open", size)
		}
	}
}

// TestJoinedConnectionTakesFullFrames: once the JoinAck proved the
// acceptor holds the cookie, the connection that Join opened takes frames
// up to MaxFrameSize, like the acceptor's end, not the 4 KiB of frames
// before authentication. Members frames of a cluster of about 150 nodes
// pass 4 KiB: held to it, a node that joined by Join dropped every member
// that sent it the list, and 200 nodes never stopped reconnecting.
func TestJoinedConnectionTakesFullFrames(t *testing.T) {
	pong := make(chan bool, 1)
	hold := make(chan struct{}) // the fake keeps the connection until the checks are done
	defer close(hold)
	addr := fakeAcceptor(t, func(r *rawConn) {
		r.write(&wire.Challenge{Nonce: []byte("0123456789abcdef"), Alias: "z"})
		j, ok := r.read().(*wire.Join)
		if !ok {
			r.t.Error("expected Join")
			pong <- false
			return
		}
		z := wire.NodeInfo{Alias: "z", IP: "127.0.0.1", Port: 1}
		r.write(&wire.JoinAck{Node: z, Proof: wire.AcceptorProof(testCookie, r.e, j.Nonce, "z", j.Alias)})
		list := &wire.Members{Nodes: slices.Repeat([]wire.NodeInfo{z}, 400)}
		if b, _ := wire.AppendFrame(nil, list, DefaultMaxFrameSize); len(b) <= wire.PreAuthFrameSize {
			r.t.Errorf("the Members frame has %d bytes, want more than %d", len(b), wire.PreAuthFrameSize)
		}
		r.write(list)
		r.write(&wire.Ping{Seq: 77})
		deadline := time.Now().Add(5 * time.Second)
		for {
			r.c.SetReadDeadline(deadline)
			m, err := r.fr.ReadMessage()
			if err != nil {
				pong <- false // closed: the Members frame was refused
				return
			}
			if p, ok := m.(*wire.Pong); ok && p.Seq == 77 {
				pong <- true
				<-hold
				return
			}
		}
	})
	a := newNode(t, testConfig(t, "a"))
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	a.dialNow(s, "z", addr)
	if !<-pong {
		t.Fatal("the joined connection closed on a Members frame over 4 KiB")
	}
	if !a.connected("z") {
		t.Error("a dropped z after its Members frame")
	}
}

// TestJoinRefusesShortChallengeNonce: the connector holds the acceptor
// to the nonce length it is held to itself.
func TestJoinRefusesShortChallengeNonce(t *testing.T) {
	got := make(chan []wire.Message, 1)
	addr := fakeAcceptor(t, func(r *rawConn) {
		r.write(&wire.Challenge{Nonce: []byte("1234567"), Alias: "short"})
		got <- r.rest()
	})
	m := newNode(t, testConfig(t, "m"))
	if err := m.Join(context.Background(), addr); err == nil || !strings.Contains(err.Error(), "nonce too short") {
		t.Fatalf("Join = %v, want a refusal of the short nonce", err)
	}
	if frames := <-got; len(frames) != 1 || frames[0].(*wire.Error).Code != wire.CodeProtocol {
		t.Errorf("the connector answered %v, want one Error with code %d", frames, wire.CodeProtocol)
	}
}

// TestJoinRefusesChallengeAliasThatDoesNotPrint: the connector holds the
// acceptor's alias to the rule its own is held to, so that no member's
// alias can reorder or hide what a member list prints.
func TestJoinRefusesChallengeAliasThatDoesNotPrint(t *testing.T) {
	got := make(chan []wire.Message, 1)
	addr := fakeAcceptor(t, func(r *rawConn) {
		r.write(&wire.Challenge{Nonce: []byte("0123456789abcdef"), Alias: "a\u202eb"})
		got <- r.rest()
	})
	m := newNode(t, testConfig(t, "m"))
	if err := m.Join(context.Background(), addr); err == nil || !strings.Contains(err.Error(), "invalid alias in Challenge") {
		t.Fatalf("Join = %v, want a refusal of the alias", err)
	}
	if frames := <-got; len(frames) != 1 || frames[0].(*wire.Error).Code != wire.CodeProtocol {
		t.Errorf("the connector answered %v, want one Error with code %d", frames, wire.CodeProtocol)
	}
}

func TestJoinTimesOut(t *testing.T) {
	addr := fakeAcceptor(t, func(r *rawConn) { r.rest() }) // never sends Challenge
	cfg := testConfig(t, "m")
	cfg.HandshakeTimeout = 200 * time.Millisecond
	m := newNode(t, cfg)
	start := time.Now()
	err := m.Join(context.Background(), addr)
	if err == nil || !isTimeout(err) || !strings.Contains(err.Error(), "no answer after") {
		t.Fatalf("Join = %v, want a timeout that says there was no answer", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Join took %v", d)
	}
}

func TestJoinConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := newNode(t, testConfig(t, "m"))
	err = m.Join(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Join = %v, want connection refused", err)
	}
}

func TestJoinWrongCookie(t *testing.T) {
	a, b := twoNodes(t)
	cfg := testConfig(t, "c")
	cfg.Cookie = []byte("other")
	c := newNode(t, cfg)
	err := c.Join(context.Background(), addrOf(t, a))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("Join = %v, want the acceptor's authentication error", err)
	}
	if got := c.MemberAliases(); len(got) != 1 {
		t.Errorf("c learned %v", got)
	}
	waitMesh(t, []*Manager{a, b}, time.Second)
}

func TestJoinAliasTaken(t *testing.T) {
	a, b := twoNodes(t)
	dup := newNode(t, testConfig(t, "b")) // same alias, another port
	err := dup.Join(context.Background(), addrOf(t, a))
	if !errors.Is(err, ErrAliasTaken) {
		t.Fatalf("Join = %v, want ErrAliasTaken", err)
	}
	twin := newNode(t, testConfig(t, "a"))
	if err := twin.Join(context.Background(), addrOf(t, a)); !errors.Is(err, ErrAliasTaken) {
		t.Fatalf("Join with the acceptor's alias = %v, want ErrAliasTaken (the Challenge names this alias)", err)
	}
	if err := a.Join(context.Background(), addrOf(t, a)); !errors.Is(err, ErrSelf) ||
		!strings.Contains(err.Error(), "cannot join this node itself") {
		t.Fatalf("a node joining itself: %v, want ErrSelf", err)
	}
	waitMesh(t, []*Manager{a, b}, time.Second)
}

// established completes a Join handshake as a raw fake member "raw".
func established(t *testing.T, a *Manager) *rawConn { return establishedAs(t, a, "raw", 9) }

// establishedAs completes a Join handshake as a raw fake member alias
// that listens on port.
func establishedAs(t *testing.T, a *Manager, alias string, port uint16) *rawConn {
	r := dialRaw(t, addrOf(t, a))
	nonce := r.hello(wire.MsgJoin, alias, port, testCookie)
	ack, ok := r.read().(*wire.JoinAck)
	if !ok {
		t.Fatalf("expected JoinAck, got %#v", ack)
	}
	if ack.Node.Alias != a.Alias() || !hmac.Equal(ack.Proof, wire.AcceptorProof(testCookie, r.e, nonce, a.Alias(), alias)) {
		t.Fatalf("bad JoinAck %#v", ack)
	}
	eventually(t, time.Second, func() bool { return a.connected(alias) }, func() string { return alias + " never listed" })
	return r
}

func TestPingPong(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	r := established(t, a)
	for _, seq := range []uint64{0, 1, 12345, 1<<64 - 1} {
		r.write(&wire.Ping{Seq: seq})
		for {
			m := r.read()
			if p, ok := m.(*wire.Pong); ok {
				if p.Seq != seq {
					t.Fatalf("Pong seq %d, want %d", p.Seq, seq)
				}
				break
			}
			if _, ok := m.(*wire.Ping); !ok {
				t.Fatalf("unexpected %#v", m)
			}
			r.write(&wire.Pong{Seq: m.(*wire.Ping).Seq})
		}
	}
}

func TestUnknownTypeAfterHandshake(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	r := established(t, a)
	r.writeBytes(frame(200, nil))
	frames := r.rest()
	if len(frames) == 0 {
		t.Fatal("no Error frame")
	}
	if e, ok := frames[len(frames)-1].(*wire.Error); !ok || e.Code != wire.CodeProtocol || !strings.Contains(e.Message, "unknown message type 200") {
		t.Fatalf("last frame %#v", frames[len(frames)-1])
	}
	eventually(t, time.Second, func() bool { return !a.connected("raw") }, func() string { return "raw still listed" })
}

func TestSilentPeerDropped(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	established(t, a) // then says nothing, not even Pong
	start := time.Now()
	timeout := a.cfg.HeartbeatTimeout
	eventually(t, timeout+2*time.Second, func() bool { return !a.connected("raw") }, func() string { return "silent peer kept" })
	if d := time.Since(start); d < timeout/2 {
		t.Errorf("dropped after %v, before the heartbeat timeout %v", d, timeout)
	}
}

func TestPeerSendingGarbageDoesNotDisturbOthers(t *testing.T) {
	a, b := twoNodes(t)
	// A handshake left hanging, a garbage stream and a broken member.
	hang := dialRaw(t, addrOf(t, a))
	hang.read()
	junk := dialRaw(t, addrOf(t, a))
	junk.writeBytes([]byte("GET / HTTP/1.1\r\n\r\n"))
	plain, err := net.Dial("tcp", addrOf(t, a)) // not even TLS
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	r := established(t, a)
	r.writeBytes(frame(wire.MsgMembers, []byte{0xde, 0xad}))
	if frames := r.rest(); len(frames) == 0 || frames[len(frames)-1].Type() != wire.MsgError {
		t.Errorf("broken member got %v, want an Error last", frames)
	}
	// The cluster still works, and still takes new members.
	c := newNode(t, testConfig(t, "c"))
	join(t, c, a)
	waitMesh(t, []*Manager{a, b, c}, 5*time.Second)
}

// opening is a connector's answer to the Challenge: a Hello or a Join
// (they carry the same fields).
func opening(kind wire.MsgType, alias string, port uint16, nonce, proof []byte) wire.Message {
	if kind == wire.MsgHello {
		return &wire.Hello{Alias: alias, Port: port, Nonce: nonce, Proof: proof}
	}
	return &wire.Join{Alias: alias, Port: port, Nonce: nonce, Proof: proof}
}

// TestJoinOfSomethingElse: a Join of an address where something that does
// not speak TLS answers (another service, a node of protocol version 1)
// fails as ErrNotNode, which trying again will not change; a contact that
// hangs up before the handshake may just not be ready, and may be tried
// again.
func TestJoinOfSomethingElse(t *testing.T) {
	v1Challenge, err := wire.AppendFrame(nil, &wire.Challenge{Nonce: []byte("0123456789abcdef")}, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		answer    []byte
		temporary bool
	}{
		{"an HTTP server", []byte("HTTP/1.0 400 Bad Request\r\n\r\n"), false},
		{"an SSH server", []byte("SSH-2.0-OpenSSH_9.6\r\n"), false},
		{"a node of version 1", v1Challenge, false},
		{"a contact that hangs up", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := acceptOnce(t, func(c net.Conn) {
				c.Write(tc.answer)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if tc.answer != nil {
					io.Copy(io.Discard, c) // until the joiner hangs up
				}
			})
			n := newNode(t, testConfig(t, "joiner"))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := n.Join(ctx, addr)
			if err == nil || errors.Is(err, ErrNotNode) == tc.temporary || IsTemporary(err) != tc.temporary {
				t.Errorf("Join = %v (temporary %v), want ErrNotNode %v", err, IsTemporary(err), !tc.temporary)
			}
		})
	}
}

// TestHelloAckSplitToTheFrameLimit: with long aliases and a small frame
// limit, the member list a newcomer is greeted with does not fit one
// HelloAck: the ack takes what fits and Members frames the rest, and the
// newcomer meets everyone. In one frame, the acceptor's writer failed and
// closed the connection, so nobody could join (helper-75).
func TestHelloAckSplitToTheFrameLimit(t *testing.T) {
	var nodes []*Manager
	for i := range 5 {
		cfg := testConfig(t, strings.Repeat("n", 200)+strconv.Itoa(i))
		cfg.MaxFrameSize = wire.MinMaxFrameSize
		nodes = append(nodes, newNode(t, cfg))
	}
	for _, n := range nodes[1:4] {
		join(t, n, nodes[0])
	}
	waitMesh(t, nodes[:4], 5*time.Second)
	join(t, nodes[4], nodes[0]) // 3 other members of 200-byte aliases: over 1 KiB
	waitMesh(t, nodes, 5*time.Second)
}
