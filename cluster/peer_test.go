package cluster

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
	"github.com/iridium-go/iridium/internal/testutil"
)

// pipePeer is a peer of a node that is not started, writing over TLS to
// one end of a pipe with the frame limit given (0: the default); the test
// reads the other end, returned.
func pipePeer(t *testing.T, limit int) (*peer, *tls.Conn) {
	t.Helper()
	cfg := testConfig(t, "w")
	cfg.MaxFrameSize = limit
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	server := make(chan *tls.Conn, 1)
	go func() {
		tc, _ := tlsEnd(t, c2, true)
		server <- tc
	}()
	tc, _ := tlsEnd(t, c1, false)
	s := &session{members: newMemberTable(m.cfg, time.Now())} // a node alone: its digest is its own alias's
	return m.newPeer(s, c1, tc, nil, "x", "127.0.0.1", 1, "w", m.cfg.pingEvery()), <-server
}

func TestWriterMergesMembers(t *testing.T) {
	p, c2 := pipePeer(t, 0)
	n := func(a string) wire.NodeInfo { return wire.NodeInfo{Alias: a, IP: "127.0.0.1", Port: 7} }
	errc := make(chan error, 1)
	go func() {
		errc <- p.write([]wire.Message{&wire.Members{Nodes: []wire.NodeInfo{n("a")}},
			&wire.Members{Nodes: []wire.NodeInfo{n("b"), n("a")}}, &wire.Members{Nodes: []wire.NodeInfo{n("c")}}},
			[]uint64{3}, false)
	}()
	fr := wire.NewFrameReader(c2, 0)
	got1, err := fr.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	got2, err := fr.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want1 := &wire.Members{Nodes: []wire.NodeInfo{n("a"), n("b"), n("c")}}
	if !reflect.DeepEqual(got1, want1) || !reflect.DeepEqual(got2, &wire.Pong{Seq: 3, Digest: wire.AliasHash("w")}) {
		t.Errorf("wrote %#v, %#v", got1, got2)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// scriptedConn is a connection whose reads return, in turn, the chunks of
// its ChunkReader (nil: a passed deadline), then io.EOF; writes vanish.
type scriptedConn struct {
	net.Conn // nil: only what a peer's reader calls is implemented
	testutil.ChunkReader
}

func (c *scriptedConn) Read(p []byte) (int, error)       { return c.ChunkReader.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptedConn) Close() error                     { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptedConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}

// TestLateDeadlineWithAFrameWaiting: when the heartbeat deadline fires
// while a frame from the peer is already there (the node itself was too
// busy to read in time), the reader reads it and carries on: the peer is
// alive. Here the deadline passes once, then a Ping is there to read.
func TestLateDeadlineWithAFrameWaiting(t *testing.T) {
	cfg := testConfig(t, "w")
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ping, err := wire.AppendFrame(nil, &wire.Ping{Seq: 5}, wire.DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	conn := &scriptedConn{ChunkReader: testutil.ChunkReader{Chunks: [][]byte{nil, ping}}}
	s := &session{members: newMemberTable(m.cfg, time.Now())}
	p := m.newPeer(s, conn, conn, wire.NewFrameReader(conn, 0), "x", "127.0.0.1", 1, "x", m.cfg.pingEvery())
	p.readLoop() // ends at io.EOF
	if !slices.Equal(p.pongs, []uint64{5}) {
		t.Errorf("Pongs owed %v: the Ping that was waiting went unread", p.pongs)
	}
}

// roomInKernel asks the kernel how much of a connection it holds only
// when the bytes written since it last asked could have filled the room,
// or after recheckInline inline writes; it answers false whenever the
// kernel holds more than inlineQueueLimit.
func TestRoomInKernel(t *testing.T) {
	steps := []struct {
		name   string
		write  int64 // bytes written through out before the step
		held   int   // what the kernel says if asked
		asks   bool  // whether the step asks the kernel
		answer bool
	}{
		{"first inline write asks", 0, 100, true, true},
		{"a heartbeat later: the bound holds", 40, 100, false, true},
		{"a batch that may fill the room, and does", inlineQueueLimit, inlineQueueLimit + 1, true, false},
		{"nothing written since: asks again", 0, inlineQueueLimit + 1, true, false},
		{"the peer read it all", 0, 0, true, true},
		{"a heartbeat later", 40, 0, false, true},
		{"a batch that may fill the room, and does not", inlineQueueLimit, 5000, true, true},
	}
	p := &peer{out: &progressWriter{}, inlineSince: recheckInline}
	var held, asked int
	p.outq = func() (int, bool) { asked++; return held, true }
	for _, s := range steps {
		p.out.wrote += s.write
		held, asked = s.held, 0
		if got := p.roomInKernel(); got != s.answer {
			t.Errorf("%s: roomInKernel = %v, want %v", s.name, got, s.answer)
		}
		if (asked > 0) != s.asks {
			t.Errorf("%s: asked the kernel %d times, want asking %v", s.name, asked, s.asks)
		}
	}
	// An idle connection: heartbeats only. The kernel is asked once per
	// recheckInline of them.
	asked = 0
	for range 10 * recheckInline {
		p.out.wrote += 40
		p.roomInKernel()
	}
	if asked != 10 {
		t.Errorf("%d idle heartbeats asked the kernel %d times, want 10", 10*recheckInline, asked)
	}
}

// progressWriter's count bounds what reached the kernel: every byte and
// what TLS 1.3 adds to it, counted here on the wire under a real TLS
// connection, for writes from one byte to more than a record.
func TestProgressWriterCountsRecords(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	wire := &countingConn{Conn: a}
	client := tls.Client(wire, &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
	server := tls.Server(b, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()}})
	drained := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, server)
		drained <- err
	}()
	w := newProgressWriter(a, client, 10*time.Second, new(atomic.Int64))
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 40, 1 << 10, 16 << 10, 16<<10 + 1, 1 << 20} {
		sent, counted := wire.n.Load(), w.wrote
		if _, err := w.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if onWire, bound := wire.n.Load()-sent, w.wrote-counted; onWire > bound {
			t.Errorf("a write of %d bytes put %d on the wire, over the %d counted", n, onWire, bound)
		}
	}
	client.Close()
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
}

// countingConn counts the bytes written to its connection.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// While the member list changes, a pinger Pings after two heartbeat
// intervals, otherwise after pingAfter; either leaves the other end slack
// before the timeout.
func TestPingAfterWhile(t *testing.T) {
	def, local := DefaultConfig(), DefaultLocalConfig()
	tests := []struct {
		name     string
		cfg      Config
		changing bool
		want     time.Duration
	}{
		{"defaults, changing", def, true, time.Second},
		{"defaults, settled", def, false, 1750 * time.Millisecond},
		{"local, changing", local, true, 200 * time.Millisecond},
		{"local, settled", local, false, 750 * time.Millisecond},
	}
	for _, tc := range tests {
		got := tc.cfg.pingAfterWhile(tc.changing)
		if got != tc.want || got >= tc.cfg.HeartbeatTimeout {
			t.Errorf("%s: %v, want %v (timeout %v)", tc.name, got, tc.want, tc.cfg.HeartbeatTimeout)
		}
	}
}

// The end with the smaller alias Pings; the other end too, unless the
// pinger said it Pings at least as often as this end would.
func TestPings(t *testing.T) {
	c := DefaultConfig()
	c.Alias = "m"
	every := c.pingEvery() // 2 s
	tests := []struct {
		alias     string
		theirBeat time.Duration
		want      bool
	}{
		{"z", every, true},
		{"z", 0, true},
		{"a", every, false},
		{"a", every / 2, false},
		{"a", 0, true},
		{"a", every + time.Millisecond, true},
	}
	for _, tt := range tests {
		if got := c.pings(tt.alias, tt.theirBeat); got != tt.want {
			t.Errorf("m to %s, which Pings every %v: pings %v, want %v", tt.alias, tt.theirBeat, got, tt.want)
		}
	}
}

// A peer whose alias is the smaller is the one that Pings, but a node
// relies on it only when its handshake said it Pings at least as often as
// the node would: a peer of another implementation (no heartbeat field)
// that answers Pings without sending any, or one that Pings too seldom,
// is Pinged by the node and kept; a peer that said so and keeps to it is
// not Pinged at all (one Ping and one Pong per period on the connection).
// The node's GossipInterval is longer than the test, so that it sends no
// Ping to tell its digest either: only heartbeats count here.
func TestPeerThatDoesNotPingIsPinged(t *testing.T) {
	local := DefaultLocalConfig()
	every := local.pingEvery()
	cfg := testConfig(t, "n")
	cfg.GossipInterval = time.Minute
	tests := []struct {
		name       string
		says       time.Duration // its JoinAck's heartbeat field
		pingsEvery time.Duration // how often it Pings; 0: never
		wantPinged bool
	}{
		{"says nothing and never Pings", 0, 0, true},
		{"Pings seldom and says so", 3 * every, 3 * every, true},
		{"Pings as often as the node and says so", every, every, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pinged := make(chan int, 1) // how many Pings the node sent; -1: the connection closed
			hold := make(chan struct{}) // the fake keeps the connection until the node's checks are done
			defer close(hold)
			window := 3 * local.HeartbeatTimeout
			addr := fakeAcceptor(t, func(r *rawConn) {
				r.write(&wire.Challenge{Nonce: []byte("0123456789abcdef"), Alias: "a"})
				j, ok := r.read().(*wire.Join)
				if !ok {
					r.t.Error("expected Join")
					pinged <- -1
					return
				}
				r.write(&wire.JoinAck{Node: wire.NodeInfo{Alias: "a", IP: "127.0.0.1", Port: 1},
					Proof:     wire.AcceptorProof(testCookie, r.e, j.Nonce, "a", j.Alias),
					Heartbeat: uint32(tt.says.Milliseconds())})
				n, end := 0, time.Now().Add(window)
				nextPing := time.Now().Add(tt.pingsEvery)
				for time.Now().Before(end) {
					wait := end
					if tt.pingsEvery > 0 && nextPing.Before(wait) {
						wait = nextPing
					}
					r.c.SetReadDeadline(wait)
					m, err := r.fr.ReadMessage()
					switch {
					case errors.Is(err, os.ErrDeadlineExceeded):
						if tt.pingsEvery > 0 && !time.Now().Before(nextPing) {
							r.write(&wire.Ping{Seq: uint64(n)})
							nextPing = nextPing.Add(tt.pingsEvery)
						}
					case err != nil:
						pinged <- -1
						return
					default:
						if p, ok := m.(*wire.Ping); ok {
							n++
							r.write(&wire.Pong{Seq: p.Seq})
						}
					}
				}
				pinged <- n
				<-hold
			})
			m := newNode(t, cfg)
			m.mu.Lock()
			s := m.sess
			m.mu.Unlock()
			m.dialNow(s, "a", addr)
			n := <-pinged
			switch {
			case n < 0:
				t.Fatalf("the node closed the connection within %v", window)
			case !m.connected("a"):
				t.Errorf("the node dropped a within %v", window)
			case tt.wantPinged && n == 0:
				t.Errorf("the node sent no Ping in %v", window)
			case !tt.wantPinged && n > 0:
				t.Errorf("the node sent %d Pings in %v to a peer that Pings as often as it would", n, window)
			}
		})
	}
}
