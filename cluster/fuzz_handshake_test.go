package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// Fuzz modes: the low bit picks the side the fuzzer plays, the next one
// whether the harness fixes the proofs in its frames so that the fuzzer
// gets past authentication, the third whether the connections run real
// TLS. Without it they are plain pipes with a fixed E (Manager.secureHook):
// crypto/tls is the standard library's and fuzzed there, and under the
// fuzzer's coverage instrumentation one TLS handshake costs a large part of
// a second, so the fuzzer's time goes to this package's code.
const (
	fuzzConnector = 0 // the fuzzer connects to an accepting Manager
	fuzzAcceptor  = 1 // a joining Manager connects to the fuzzer
	fuzzAuth      = 2
	fuzzTLS       = 4
)

// fixedE is the E of the plain connections of the fuzzer.
var fixedE = []byte("fuzz: not a TLS exporter output!")

// harnessEnd makes the harness's end of a connection to the Manager: the
// TLS handshake (as the server when server is set) or nothing.
func harnessEnd(t *testing.T, c net.Conn, server, useTLS bool) (net.Conn, []byte) {
	if !useTLS {
		return c, fixedE
	}
	return tlsEnd(t, c, server)
}

// secretMember is a member the Manager under test has: its name must
// never reach a peer that did not prove it has the cookie.
const secretMember = "secret-member"

func fuzzConfig(alias string) Config {
	c := DefaultLocalConfig()
	c.Alias, c.Cookie = alias, testCookie
	c.HandshakeTimeout = time.Second
	c.HeartbeatInterval = time.Second
	c.HeartbeatTimeout = time.Minute
	return c
}

// pipeEnd is the harness's end of a net.Pipe to the Manager: it records
// every frame the Manager sends.
type pipeEnd struct {
	c      net.Conn
	e      []byte // the TLS connection's exported keying material
	mu     sync.Mutex
	frames []wire.Message
	arrive chan struct{} // signalled on every frame
	done   chan struct{} // the Manager closed its end (or we did)
}

func newPipeEnd(c net.Conn, ekm []byte) *pipeEnd {
	e := &pipeEnd{c: c, e: ekm, arrive: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		fr := wire.NewFrameReader(c, 0)
		for {
			m, err := fr.ReadMessage()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.frames = append(e.frames, m)
			e.mu.Unlock()
			select {
			case e.arrive <- struct{}{}:
			default:
			}
		}
	}()
	return e
}

// waitFor waits up to d for a frame of type t and returns it.
func (e *pipeEnd) waitFor(t wire.MsgType, d time.Duration) wire.Message {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		for _, f := range e.frames {
			if f.Type() == t {
				e.mu.Unlock()
				return f
			}
		}
		e.mu.Unlock()
		select {
		case <-e.arrive:
		case <-e.done:
			return nil
		case <-deadline.C:
			return nil
		}
	}
}

func (e *pipeEnd) all() []wire.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]wire.Message(nil), e.frames...)
}

// close ends the pipe and waits for the reader.
func (e *pipeEnd) close() []wire.Message {
	e.c.Close()
	<-e.done
	return e.all()
}

// splitFrames cuts data into whole frames (decoded or not) and a tail.
func splitFrames(data []byte) (frames [][]byte, tail []byte) {
	for len(data) >= 5 {
		n := int(uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3]))
		if n == 0 || n > len(data)-4 {
			break
		}
		frames = append(frames, data[:4+n])
		data = data[4+n:]
	}
	return frames, data
}

// write sends b to the Manager, giving up when it stops reading.
func (e *pipeEnd) write(b []byte) error {
	e.c.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := e.c.Write(b)
	return err
}

// startManager returns a listening Manager with one member, secretMember,
// joined over a pipe; its end of that pipe is drained until cleanup.
func startFuzzManager(t *testing.T, alias string, useTLS bool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*Manager, *session, func()) {
	m, err := New(fuzzConfig(alias))
	if err != nil {
		t.Fatal(err)
	}
	if !useTLS {
		m.secureHook = func(ctx context.Context, c net.Conn, accept bool) (net.Conn, []byte, error) { return c, fixedE, nil }
	}
	// No real dials: members the fuzzer names are unreachable.
	m.dialContext = dial
	if dial == nil {
		m.dialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, errors.New("fuzz: no network")
		}
	}
	if _, err := m.Start(); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	s := m.sess
	m.mu.Unlock()
	member := acceptorPipe(t, m, s, useTLS)
	ch, ok := member.waitFor(wire.MsgChallenge, 5*time.Second).(*wire.Challenge)
	if !ok {
		t.Fatal("no Challenge for the secret member")
	}
	nonce := []byte("secret-nonce-123")
	member.write(mustFrame(t, &wire.Join{Alias: secretMember, Port: 7, Nonce: nonce,
		Proof: connectorProof(testCookie, wire.MsgJoin, member.e, ch, nonce, secretMember, 7)}))
	if member.waitFor(wire.MsgJoinAck, 5*time.Second) == nil {
		t.Fatal("the secret member was not accepted")
	}
	stop := func() {
		done := make(chan struct{})
		go func() { m.Shutdown(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			panic("Shutdown did not return")
		}
		member.close()
	}
	return m, s, stop
}

// acceptorPipe connects to m over a pipe: m serves one end as an
// acceptor, the harness makes the TLS handshake on the other.
func acceptorPipe(t *testing.T, m *Manager, s *session, useTLS bool) *pipeEnd {
	ours, theirs := net.Pipe()
	m.serve(s, theirs)
	c, e := harnessEnd(t, ours, false, useTLS)
	return newPipeEnd(c, e)
}

func mustFrame(t *testing.T, m wire.Message) []byte {
	b, err := wire.AppendFrame(nil, m, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// leaks reports a frame that tells an unauthenticated peer anything of
// the member list.
func leaks(frames []wire.Message) (wire.Message, bool) {
	for _, f := range frames {
		switch f := f.(type) {
		case *wire.Challenge, *wire.Error, *wire.Hello, *wire.Join:
			continue
		case *wire.HelloAck, *wire.JoinAck, *wire.Members, *wire.Ping, *wire.Pong, *wire.Leave:
			return f, true
		}
	}
	return nil, false
}

// FuzzHandshake drives the handshake state machine from random byte
// streams, as the connecting side talking to an accepting Manager and as
// the accepting side of a Manager's Join. The Manager must not panic, must
// not tell anything of its member list to a peer without a valid proof,
// must keep serving other peers, and must shut down completely.
func FuzzHandshake(f *testing.F) {
	for _, s := range handshakeSeeds() {
		f.Add(s.mode, s.data)
	}
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		auth, useTLS := mode&fuzzAuth != 0, mode&fuzzTLS != 0
		if mode&1 == fuzzConnector {
			fuzzAgainstAcceptor(t, auth, useTLS, data)
		} else {
			fuzzAgainstConnector(t, auth, useTLS, data)
		}
	})
}

func fuzzAgainstAcceptor(t *testing.T, auth, useTLS bool, data []byte) {
	m, s, stop := startFuzzManager(t, "acceptor", useTLS, nil)
	defer stop()
	e := acceptorPipe(t, m, s, useTLS)
	ch, _ := e.waitFor(wire.MsgChallenge, 5*time.Second).(*wire.Challenge)
	if ch == nil {
		t.Fatal("no Challenge")
	}
	frames, tail := splitFrames(data)
	authed := false
	for _, fb := range frames {
		if auth {
			if msg, err := wire.DecodeMessage(wire.MsgType(fb[4]), fb[5:]); err == nil {
				switch h := msg.(type) {
				case *wire.Hello:
					h.Proof = connectorProof(testCookie, wire.MsgHello, e.e, ch, h.Nonce, h.Alias, h.Port)
					fb, authed = mustFrame(t, h), true
				case *wire.Join:
					h.Proof = connectorProof(testCookie, wire.MsgJoin, e.e, ch, h.Nonce, h.Alias, h.Port)
					fb, authed = mustFrame(t, h), true
				}
			}
		}
		if e.write(fb) != nil {
			break
		}
	}
	e.write(tail)
	// Let the Manager answer what it has read, then hang up.
	select {
	case <-e.done:
	case <-time.After(5 * time.Millisecond):
	}
	got := e.close()
	if !authed {
		if f, ok := leaks(got); ok {
			t.Fatalf("sent %#v to an unauthenticated connector", f)
		}
	}
	checkStillServes(t, m, s, useTLS)
}

func fuzzAgainstConnector(t *testing.T, auth, useTLS bool, data []byte) {
	ours, theirs := net.Pipe()
	var once sync.Once
	m, _, stop := startFuzzManager(t, "connector", useTLS, func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		once.Do(func() { c = theirs })
		if c == nil {
			return nil, errors.New("fuzz: no network")
		}
		return c, nil
	})
	defer stop()
	joined := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { joined <- m.Join(ctx, "192.0.2.1:2254") }()
	c, ekm := harnessEnd(t, ours, true, useTLS)
	e := newPipeEnd(c, ekm)
	frames, tail := splitFrames(data)
	authed := false
	challenger := "" // the alias of the last Challenge sent
	for _, fb := range frames {
		if msg, err := wire.DecodeMessage(wire.MsgType(fb[4]), fb[5:]); err == nil {
			if ch, ok := msg.(*wire.Challenge); ok {
				challenger = ch.Alias
			}
		}
		if auth {
			if msg, err := wire.DecodeMessage(wire.MsgType(fb[4]), fb[5:]); err == nil {
				var nonce []byte
				switch msg.(type) {
				case *wire.HelloAck, *wire.JoinAck:
					// Its proof answers the nonce of the Manager's Hello.
					if h, ok := e.waitFor(wire.MsgHello, 100*time.Millisecond).(*wire.Hello); ok {
						nonce = h.Nonce
					}
				}
				switch a := msg.(type) {
				case *wire.HelloAck:
					if nonce != nil {
						a.Node.Alias = challenger
						a.Proof = wire.AcceptorProof(testCookie, e.e, nonce, challenger, "connector")
						fb, authed = mustFrame(t, a), true
					}
				case *wire.JoinAck:
					if nonce != nil {
						a.Node.Alias = challenger
						a.Proof = wire.AcceptorProof(testCookie, e.e, nonce, challenger, "connector")
						fb, authed = mustFrame(t, a), true
					}
				}
			}
		}
		if e.write(fb) != nil {
			break
		}
	}
	e.write(tail)
	select {
	case <-e.done:
	case <-time.After(5 * time.Millisecond):
	}
	got := e.close()
	// Join may wait for the members a HelloAck listed: they are out of
	// reach, and the point is made.
	cancel()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("Join did not return after its connection closed")
	}
	if !authed {
		if f, ok := leaks(got); ok {
			t.Fatalf("sent %#v to an acceptor that did not prove the cookie", f)
		}
	}
	for _, f := range got {
		if ms, ok := f.(*wire.Members); ok && !authed {
			t.Fatalf("Members %v to an unauthenticated acceptor", ms)
		}
	}
	checkStillServes(t, m, nil, useTLS)
}

// checkStillServes makes a good Join handshake with m over a pipe.
func checkStillServes(t *testing.T, m *Manager, s *session, useTLS bool) {
	if s == nil {
		m.mu.Lock()
		s = m.sess
		m.mu.Unlock()
		if s == nil {
			t.Fatal("the Manager stopped listening")
		}
	}
	e := acceptorPipe(t, m, s, useTLS)
	defer e.close()
	ch, ok := e.waitFor(wire.MsgChallenge, 5*time.Second).(*wire.Challenge)
	if !ok {
		t.Fatal("no Challenge for a good peer")
	}
	// An alias the fuzzer cannot have taken.
	alias := fmt.Sprintf("checker-%x", rand.Uint64())
	nonce := []byte("checker-nonce-12")
	e.write(mustFrame(t, &wire.Hello{Alias: alias, Port: 8, Nonce: nonce,
		Proof: connectorProof(testCookie, wire.MsgHello, e.e, ch, nonce, alias, 8)}))
	if _, ok := e.waitFor(wire.MsgHelloAck, 5*time.Second).(*wire.HelloAck); !ok {
		t.Fatalf("a good peer got %v", e.all())
	}
}

type handshakeSeed struct {
	mode uint8
	data []byte
}

// handshakeSeeds are the inputs of the committed corpus
// (testdata/fuzz/FuzzHandshake, written by TestWriteSeedCorpus).
func handshakeSeeds() []handshakeSeed {
	fr := func(m wire.Message) []byte {
		b, _ := wire.AppendFrame(nil, m, DefaultMaxFrameSize)
		return b
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	nonce := []byte("0123456789abcdef")
	hello := fr(&wire.Hello{Alias: "fuzzer", Port: 4000, Nonce: nonce, Proof: make([]byte, 32)})
	join := fr(&wire.Join{Alias: "fuzzer", Port: 4000, Nonce: nonce, Proof: make([]byte, 32)})
	self := wire.NodeInfo{Alias: "fuzzacc", IP: "192.0.2.1", Port: 2254}
	helloAck := fr(&wire.HelloAck{Node: self, Nodes: []wire.NodeInfo{{Alias: "other", IP: "192.0.2.2", Port: 2254}}, Proof: make([]byte, 32), Ticket: make([]byte, 110), TicketKey: make([]byte, wire.TicketKeySize)})
	joinAck := fr(&wire.JoinAck{Node: self, Proof: make([]byte, 32)})
	challenge := fr(&wire.Challenge{Nonce: nonce, Alias: "fuzzacc"})
	ping := fr(&wire.Ping{Seq: 9})
	members := fr(&wire.Members{Nodes: []wire.NodeInfo{{Alias: "m2", IP: "192.0.2.3", Port: 1}}})
	leave := fr(&wire.Leave{Alias: "fuzzer"})
	seeds := []handshakeSeed{
		{fuzzConnector, hello},
		{fuzzConnector, join},
		{fuzzConnector | fuzzAuth, hello},
		{fuzzConnector | fuzzAuth, join},
		{fuzzConnector | fuzzAuth, cat(hello, ping, members, leave)},
		{fuzzConnector | fuzzAuth, cat(join, ping, frame(99, nil))},
		{fuzzConnector, cat(hello[:len(hello)/2])},
		{fuzzConnector, []byte{0, 0, 0, 0}},
		{fuzzConnector, frame(wire.MsgHello, []byte{0x80})},
		{fuzzConnector, frame(wire.MsgMembers, []byte{0x80})},
		{fuzzConnector, []byte("GET / HTTP/1.0\r\n\r\n")},
		{fuzzAcceptor, challenge},
		{fuzzAcceptor, cat(challenge, helloAck)},
		{fuzzAcceptor | fuzzAuth, cat(challenge, helloAck)},
		{fuzzAcceptor | fuzzAuth, cat(challenge, helloAck, ping, members)},
		{fuzzAcceptor | fuzzAuth, cat(challenge, joinAck)},
		{fuzzAcceptor, cat(challenge, fr(&wire.Error{Message: "no", Code: wire.CodeAuth}))},
		{fuzzAcceptor, cat(challenge[:3])},
		{fuzzAcceptor, frame(wire.MsgChallenge, []byte{0x80})},
		{fuzzAcceptor, cat(hello)},
		{fuzzAcceptor | fuzzAuth, cat(fr(&wire.Challenge{Nonce: nonce, Alias: "connector"}), helloAck)},
		{fuzzAcceptor | fuzzAuth, cat(fr(&wire.Challenge{Nonce: nonce}), helloAck)},
		{fuzzAcceptor, cat(challenge, fr(&wire.Error{Message: "busy", Code: wire.CodeOverCapacity}))},
	}
	// The same conversations over real TLS, a few of them.
	for _, sd := range seeds[:6:6] {
		seeds = append(seeds, handshakeSeed{sd.mode | fuzzTLS, sd.data})
	}
	return append(seeds, handshakeSeed{fuzzAcceptor | fuzzAuth | fuzzTLS, cat(challenge, helloAck, ping, members)})
}
