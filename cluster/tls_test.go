package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// handshakeOver runs both ends of a TLS handshake over loopback TCP, lets
// the client read a byte from the server (a TLS 1.3 client takes in a
// session ticket only when it reads), and returns the client's view of
// the connection. Not over net.Pipe: its writes wait for the reader, and
// crypto/tls's server writes its tickets while the client writes its
// Finished.
func handshakeOver(t *testing.T, client, server *tls.Config) tls.ConnectionState {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		_, err := tls.Server(b, server).Write([]byte{1}) // handshakes first
		done <- err
	}()
	c := tls.Client(a, client)
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	return c.ConnectionState()
}

// Nodes agree on P-256. Any other TLS 1.3 client gets a group it sent a
// key share for at once, with no retry, whichever of P-256, X25519 and
// X25519MLKEM768 it offers: an implementation of the protocol on another
// TLS stack pays no extra round trip and is not refused. Go's default client (shares for
// X25519MLKEM768 and X25519) gets the post-quantum hybrid, crypto/tls's
// first choice. A node that dials such a server gets P-256, which every
// TLS 1.3 stack has; a resumed handshake makes the same exchange.
func TestKeyExchange(t *testing.T) {
	nodeServer, nodeClient := tlsConfigs(testCert())
	newResumption(nodeServer, nodeClient)
	defaultServer := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()}}
	// ServerName keys the session cache: without it, the address, whose
	// port differs from one connection to the next.
	defaultClient := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, ServerName: "node",
		ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	only := func(group tls.CurveID) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{group}}
	}
	tests := []struct {
		name           string
		client, server *tls.Config
		want           tls.CurveID
	}{
		{"node to node", nodeClient, nodeServer, tls.CurveP256},
		{"Go's default client to a node", defaultClient, nodeServer, tls.X25519MLKEM768},
		{"Go's default client to a node, resumed", defaultClient, nodeServer, tls.X25519MLKEM768},
		{"a client of X25519 alone to a node", only(tls.X25519), nodeServer, tls.X25519},
		{"node to Go's default server", nodeClient, defaultServer, tls.CurveP256},
		{"a client of X25519MLKEM768 alone to a node", only(tls.X25519MLKEM768), nodeServer, tls.X25519MLKEM768},
	}
	for _, tt := range tests {
		st := handshakeOver(t, tt.client, tt.server)
		if st.CurveID != tt.want || st.HelloRetryRequest {
			t.Errorf("%s: key exchange %v (retry %v), want %v without retry", tt.name, st.CurveID, st.HelloRetryRequest, tt.want)
		}
		if resumed := strings.HasSuffix(tt.name, "resumed"); st.DidResume != resumed {
			t.Errorf("%s: resumed %v, want %v", tt.name, st.DidResume, resumed)
		}
	}
}

// A node connecting presents its certificate to an acceptor that asks for
// one (SPEC: each node presents a certificate), as one on another TLS
// stack may require; a node accepting asks for none.
func TestConnectorPresentsItsCertificate(t *testing.T) {
	cert, _, _, err := NewCertificate("n")
	if err != nil {
		t.Fatal(err)
	}
	nodeServer, nodeClient := tlsConfigs(cert)
	var presented [][]byte // what the acceptor was shown
	asking := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()},
		ClientAuth: tls.RequireAnyClientCert,
		VerifyConnection: func(st tls.ConnectionState) error {
			for _, c := range st.PeerCertificates {
				presented = append(presented, c.Raw)
			}
			return nil
		}}
	handshakeOver(t, nodeClient, asking)
	if len(presented) != 1 || !bytes.Equal(presented[0], cert.Certificate[0]) {
		t.Errorf("an acceptor asking for a certificate was shown %d, want the node's own", len(presented))
	}
	if nodeServer.ClientAuth != tls.NoClientCert {
		t.Errorf("a node accepting asks for the connector's certificate (%v)", nodeServer.ClientAuth)
	}
}

// resumed reports whether m's connection to alias resumed a TLS session.
func (m *Manager) resumed(t *testing.T, alias string) bool {
	t.Helper()
	p := m.peerOf(alias)
	if p == nil {
		t.Fatalf("%s has no connection to %s", m.Alias(), alias)
	}
	return p.conn.(*tls.Conn).ConnectionState().DidResume
}

// A node's first connection is a full handshake; the member that greets it
// gives it the cluster's ticket key and a ticket, and every connection it
// opens to another member afterwards resumes. So do the connections of
// nodes that join through a node that joined itself.
func TestMembersResumeSessions(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	c := newNode(t, testConfig(t, "c"))
	d := newNode(t, testConfig(t, "d"))
	join(t, b, a)
	join(t, c, a)
	join(t, d, b) // b greets d with a's key
	waitMesh(t, []*Manager{a, b, c, d}, 5*time.Second)
	tests := []struct {
		from, to *Manager
		want     bool
	}{
		{b, a, false}, // b's Hello: nothing to resume yet
		{c, a, false},
		{d, b, false},
		{c, b, true}, // c's Join, with the ticket a gave it
		{d, a, true},
		{d, c, true},
	}
	for _, tt := range tests {
		// The connection may be either end's; the one the first node
		// opened is the one kept unless both dialled at once, which
		// these joins do not.
		if got := tt.from.resumed(t, tt.to.Alias()); got != tt.want {
			t.Errorf("%s -> %s resumed = %v, want %v", tt.from.Alias(), tt.to.Alias(), got, tt.want)
		}
	}
}

// clusterKey is the key r's acks name.
func (r *resumption) clusterKey() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.cluster[:]...)
}

// offers reports what m would put in its next hello: whether a ticket, and
// whether its cluster key is the one it made.
func (m *Manager) offers() (ticket, ownKey bool) {
	r := m.resume
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ticket != nil, r.cluster == r.own
}

// A server that cannot prove it holds the cookie gives a node nothing it
// keeps: neither the ticket its TLS stack sent, nor the ticket and the key
// its HelloAck names. Otherwise a stranger could make the node offer, in
// the clear, a ticket of its choosing (one too large for a hello would cut
// the node off from its members), or seal its tickets under a key the
// stranger knows.
func TestStrangersTicketIsNotKept(t *testing.T) {
	addr := fakeAcceptor(t, func(r *rawConn) {
		h := r.challengeHello("evil")
		if h == nil {
			return
		}
		proof := wire.AcceptorProof([]byte("other cookie"), r.e, h.Nonce, "evil", h.Alias)
		r.write(&wire.HelloAck{Node: wire.NodeInfo{Alias: "evil", IP: "127.0.0.1", Port: 1}, Proof: proof,
			Ticket: bytes.Repeat([]byte{2}, 100), TicketKey: bytes.Repeat([]byte{1}, wire.TicketKeySize)})
		r.rest()
	})
	m := newNode(t, testConfig(t, "m"))
	if err := m.Join(context.Background(), addr); !errors.Is(err, ErrAuth) {
		t.Fatalf("Join = %v, want ErrAuth", err)
	}
	if ticket, own := m.offers(); ticket || !own {
		t.Errorf("after a stranger's answer: offers a ticket %v, its own cluster key %v; want false, true", ticket, own)
	}
}

// What crypto/tls hands anyone at the end of a handshake resumes at that
// node only: a stranger cannot find out, by offering it elsewhere, which
// nodes share a cluster.
func TestStrangerCannotLinkMembers(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	s := newStranger()
	s.resumes(t, a) // takes a's ticket
	if s.resumes(t, b) {
		t.Error("a ticket a gave a stranger resumes at b")
	}
	if !s.resumes(t, b) {
		t.Error("b's own ticket does not resume at b")
	}
}

// stranger is a TLS client without the cookie that keeps the last
// session ticket it got, whatever the address, and offers it.
type stranger struct{ cfg *tls.Config }

func newStranger() stranger {
	return stranger{&tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true,
		ClientSessionCache: tls.NewLRUClientSessionCache(1), ServerName: "one key for every address"}}
}

// resumes makes a TLS connection to n, takes the ticket n sends, and
// reports whether the connection resumed the session of the ticket held
// before.
func (s stranger) resumes(t *testing.T, n *Manager) bool {
	t.Helper()
	c, err := tls.Dial("tcp", addrOf(t, n), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	wire.NewFrameReader(c, wire.PreAuthFrameSize).ReadFrame() // the Challenge; the ticket came before it
	return c.ConnectionState().DidResume
}

// A node that leaves forgets its cluster's ticket and makes new keys: the
// old ones are of no use in another cluster, and its next cluster must not
// learn them, whether it joined the old one or founded it.
func TestLeaveForgetsTickets(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	if ticket, own := b.offers(); !ticket || own {
		t.Fatalf("member: offers a ticket %v, its own cluster key %v; want true, false", ticket, own)
	}
	clusterKey := a.resume.clusterKey()
	for _, n := range []*Manager{a, b} {
		if err := n.Leave(); err != nil {
			t.Fatal(err)
		}
		if ticket, own := n.offers(); ticket || !own {
			t.Errorf("%s after Leave: offers a ticket %v, its own cluster key %v; want false, true", n.Alias(), ticket, own)
		}
		if bytes.Equal(n.resume.clusterKey(), clusterKey) {
			t.Errorf("%s after Leave: still holds the old cluster key", n.Alias())
		}
	}
}

// Only a key of the right length is adopted: a HelloAck from an
// implementation without the extension has none. An adopted key seals the
// cluster tickets; the node keeps opening those sealed under its own.
func TestAdoptKey(t *testing.T) {
	r := newResumption(tlsConfigs(testCert()))
	cluster := bytes.Repeat([]byte{3}, wire.TicketKeySize)
	tests := []struct {
		name    string
		key     []byte
		adopted bool
	}{
		{"none", nil, false},
		{"short", cluster[:wire.TicketKeySize-1], false},
		{"long", append(cluster, 0), false},
		{"the cluster's", cluster, true},
	}
	for _, tt := range tests {
		r.forget()
		own := r.clusterKey()
		r.adoptKey(tt.key)
		want := own
		if tt.adopted {
			want = cluster
		}
		if got := r.clusterKey(); !bytes.Equal(got, want) {
			t.Errorf("%s: cluster key %x, want %x", tt.name, got, want)
		}
	}
	// A session sealed under the node's own cluster key, before it
	// adopted another, still resumes.
	r.forget()
	first := r.connectingTicket(t)
	r.adoptKey(cluster)
	client := r.client.Clone()
	client.ClientSessionCache = &ticketSlot{offer: first}
	if st := handshakeOver(t, client, r.server); !st.DidResume {
		t.Error("a ticket sealed under the node's own cluster key no longer resumes")
	}
}

// connectingTicket makes a full handshake with r's node, from a client
// of r's own configuration, and returns the cluster ticket the node would
// give in its ack, as the client would offer it.
func (r *resumption) connectingTicket(t *testing.T) *tls.ClientSessionState {
	t.Helper()
	scfg, served := r.accepting()
	ccfg, got := r.connecting(false)
	handshakeOver(t, ccfg, scfg)
	ticket, _ := r.ack(served)
	if ticket == nil || got.got == nil {
		t.Fatal("no session on one side or the other")
	}
	_, state, err := got.got.ResumptionState()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tls.NewResumptionState(ticket, state)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// A cluster ticket larger than any crypto/tls makes is not kept.
func TestKeepRefusesLargeTickets(t *testing.T) {
	r := newResumption(tlsConfigs(testCert()))
	ticket := r.connectingTicket(t)
	raw, _, err := ticket.ResumptionState()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		size int
		kept bool
	}{
		{len(raw), true},
		{maxTicket, true},
		{maxTicket + 1, false},
		{1 << 16, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			r.forget()
			slot := &ticketSlot{got: ticket}
			r.keep(slot, append(raw, make([]byte, tt.size-len(raw))...))
			if kept := r.ticket != nil; kept != tt.kept {
				t.Errorf("kept %v, want %v", kept, tt.kept)
			}
		})
	}
}

// A Leave that lands while Join's own Hello dial holds an authentic
// HelloAck it has not acted on yet leaves nothing of it behind: that dial
// is not one of the session's goroutines, which Leave waits for.
func TestLeaveDuringJoinKeepsNothing(t *testing.T) {
	var armed atomic.Bool
	addr := fakeAcceptor(t, func(r *rawConn) {
		h := r.challengeHello("good")
		if h == nil {
			return
		}
		proof := wire.AcceptorProof(testCookie, r.e, h.Nonce, "good", h.Alias)
		armed.Store(true) // the connector's next read brings the ack
		r.write(&wire.HelloAck{Node: wire.NodeInfo{Alias: "good", IP: "127.0.0.1", Port: 1}, Proof: proof,
			Ticket: make([]byte, 100), TicketKey: make([]byte, wire.TicketKeySize)})
		r.rest()
	})
	m := newNode(t, testConfig(t, "m"))
	m.dialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, a)
		if err != nil {
			return nil, err
		}
		return &leaveOnRead{Conn: c, armed: &armed, leave: func() { m.Leave() }}, nil
	}
	m.Join(context.Background(), addr) // fails or not: Leave raced it
	if ticket, own := m.offers(); ticket || !own {
		t.Errorf("after a Leave during Join: offers a ticket %v, its own cluster key %v; want false, true", ticket, own)
	}
}

// leaveOnRead runs leave inside the first read that returns data once
// armed.
type leaveOnRead struct {
	net.Conn
	armed *atomic.Bool
	leave func()
}

func (c *leaveOnRead) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.armed.CompareAndSwap(true, false) {
		c.leave()
	}
	return n, err
}

// A ticket a stranger got before Leave does not resume after it: the
// node's local key is new.
func TestLeaveRenewsLocalKey(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	s := newStranger()
	s.resumes(t, a)
	if !s.resumes(t, a) {
		t.Fatal("a's own ticket does not resume at a")
	}
	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	if s.resumes(t, a) {
		t.Error("a ticket from before Leave resumes after it")
	}
}

// A node offers its cluster ticket only when it dials a member (Join),
// never on a Hello to an address a user gave, which may be a stranger's:
// whoever holds a cluster ticket can find out, by offering it, which
// nodes hold the cluster key.
func TestHelloOffersNoTicket(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	join(t, b, a)
	if ticket, _ := b.offers(); !ticket {
		t.Fatal("b holds no cluster ticket")
	}
	var offered atomic.Bool
	addr := acceptOnce(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tls.Server(c, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()},
			UnwrapSession: func(identity []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
				offered.Store(true)
				return nil, nil
			}}).Handshake() // then hangs up
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Join(ctx, addr); err == nil {
		t.Fatal("Join through a stranger succeeded")
	}
	if offered.Load() {
		t.Error("b offered its cluster ticket in a Hello to a stranger")
	}
}

// A cluster ticket that opens at members but does not resume (a member's
// bug: a ticket paired with another session's secret) costs one failed
// connection: the node stops offering it, and the next connection makes
// a full handshake.
func TestBadTicketIsDropped(t *testing.T) {
	a, b, c := newResumption(tlsConfigs(testCert())), newResumption(tlsConfigs(testCert())), newResumption(tlsConfigs(testCert()))
	b.adoptKey(a.clusterKey())
	first := a.connectingTicket(t)
	second := a.connectingTicket(t)
	raw, _, err := first.ResumptionState()
	if err != nil {
		t.Fatal(err)
	}
	c.keep(&ticketSlot{got: second}, raw) // first's ticket, second's secret
	if c.ticket == nil {
		t.Fatal("the ticket was not kept")
	}
	dial := func() error {
		scfg, _ := b.accepting()
		ccfg, _ := c.connecting(true)
		x, y := net.Pipe()
		defer x.Close()
		defer y.Close()
		x.SetDeadline(time.Now().Add(10 * time.Second))
		y.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			if err := tls.Server(y, scfg).Handshake(); err != nil {
				y.Close()
			}
		}()
		return tls.Client(x, ccfg).Handshake()
	}
	if err := dial(); err == nil {
		t.Fatal("a handshake offering the bad ticket succeeded")
	}
	if c.ticket != nil {
		t.Error("the bad ticket is still offered after a failed handshake")
	}
	if err := dial(); err != nil {
		t.Errorf("the handshake after it: %v", err)
	}
}
