package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// The handshake, on every new connection (version 2 of the protocol):
//
//	acceptor                                 connector
//	            <---- TLS 1.3 handshake ---->
//	both: E = ExportKeyingMaterial("EXPORTER-iridium-cluster", nil, 32)
//	Challenge{nonce A, acceptor alias} ->
//	                                         a Join checks the alias is the
//	                                         member it meant to reach
//	                                   <-    Hello or Join{alias, port, nonce C,
//	                                           proof = wire.ConnectorProof(E, A, C, ...)}
//	check proof, alias, address
//	HelloAck{self, others, proof}      ->    (or JoinAck{self, proof}, or Error + close)
//	  proof = wire.AcceptorProof(E, C, ...)
//	                                         check proof; only then send anything
//
// Every step has a deadline of Config.HandshakeTimeout. Until the peer's
// proof checked, frames are limited to wire.PreAuthFrameSize (the
// connector reads the acceptor's answer with the full limit: a HelloAck
// carries the member list) and nothing of the member list is sent.

// newNonce returns 16 fresh random bytes.
func newNonce() []byte {
	b := make([]byte, nonceSize)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

const (
	nonceSize     = 16
	minNonceBytes = 8
)

func (m *Manager) selfInfo() wire.NodeInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return wire.NodeInfo{Alias: m.cfg.Alias, IP: m.selfIP, Port: uint16(m.port)}
}

// remoteAddr is the IP (IPv4 unmapped) and port the connection comes from.
func remoteAddr(c net.Conn) (string, int) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		host, port, _ := net.SplitHostPort(c.RemoteAddr().String())
		n, _ := strconv.Atoi(port)
		return host, n
	}
	return ap.Addr().Unmap().String(), int(ap.Port())
}

// writeFrame writes msg as one frame, unbuffered: the handshake writes a
// frame or two, and keeps no writer buffer for a stranger.
func writeFrame(w io.Writer, msg wire.Message) error {
	b, err := wire.AppendFrame(nil, msg, wire.DefaultMaxFrameSize)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// reject sends an Error frame with code and text and returns err (or a
// plain error made from text).
func reject(w io.Writer, code wire.ErrorCode, text string, err error) error {
	writeFrame(w, &wire.Error{Code: code, Message: text})
	if err == nil {
		err = errors.New(text)
	}
	return err
}

// readHandshake reads one frame during a handshake. An Error frame becomes a
// *RemoteError; an unknown type or a malformed body is answered with an
// Error frame.
func readHandshake(fr *wire.FrameReader, w io.Writer, addr string) (wire.Message, error) {
	t, body, err := fr.ReadFrame()
	if err != nil {
		if errors.Is(err, wire.ErrUnknownType) {
			return nil, reject(w, wire.CodeProtocol, "unknown message type "+strconv.Itoa(int(t)), err)
		}
		return nil, err
	}
	msg, err := wire.DecodeMessage(t, body)
	if err != nil {
		return nil, reject(w, wire.CodeProtocol, "malformed "+t.String()+" message", err)
	}
	if e, ok := msg.(*wire.Error); ok {
		return nil, &RemoteError{Addr: addr, Message: e.Message, code: e.Code}
	}
	return msg, nil
}

// accept makes the acceptor's side of the handshake on conn, moving pending
// through s's handshakes as it goes: past TLS, then out once the
// connector's proof checks (an authenticated connection is never closed
// for room). It returns the registered peer, with its writer running, or
// nil after closing conn.
func (m *Manager) accept(s *session, conn net.Conn, pending *handshake) *peer {
	p, err := m.acceptHandshake(s, conn, pending)
	if err != nil {
		m.log.Info("handshake refused", "peer", conn.RemoteAddr().String(), "err", err)
		m.untrack(s, conn)
		return nil
	}
	return p
}

func (m *Manager) acceptHandshake(s *session, conn net.Conn, pending *handshake) (*peer, error) {
	remote := conn.RemoteAddr().String()
	if err := conn.SetDeadline(time.Now().Add(m.cfg.HandshakeTimeout)); err != nil {
		return nil, err
	}
	tc, e, slot, err := m.secure(s.ctx, conn, acceptor)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	s.handshakes.secure(pending)
	m.mu.Unlock()
	src := &liveReader{conn: tc}
	fr := wire.NewFrameReader(src, wire.PreAuthFrameSize)
	self := m.selfInfo()
	challenge := newNonce()
	if err := writeFrame(tc, &wire.Challenge{Nonce: challenge, Alias: self.Alias}); err != nil {
		return nil, err
	}
	msg, err := readHandshake(fr, tc, remote)
	if err != nil {
		return nil, err
	}
	c, err := m.checkConnector(tc, msg, e, challenge, self.Alias)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	s.handshakes.done(pending) // authenticated: never closed for room
	m.mu.Unlock()

	ip, _ := remoteAddr(conn)
	p := m.newPeer(s, conn, tc, fr, c.alias, ip, int(c.port), c.alias, c.beat)
	if c.hello {
		p.hello, p.greeted = true, time.Now()
	}
	ackProof := wire.AcceptorProof(m.cfg.Cookie, e, c.nonce, self.Alias, c.alias)
	var rest []wire.NodeInfo // the members the HelloAck has no room for
	others, err := m.register(p, func(others []*peer) wire.Message {
		// The connector proved itself: it may resume with the cluster.
		ticket, key := m.resume.ack(slot)
		beat := m.cfg.heartbeatMillis()
		if !c.hello {
			return &wire.JoinAck{Node: self, Proof: ackProof, Ticket: ticket, Heartbeat: beat}
		}
		ack := &wire.HelloAck{Node: self, Proof: ackProof, Ticket: ticket, TicketKey: key, Heartbeat: beat}
		ack.Nodes, rest = fitNodes(others, m.cfg.MaxFrameSize-1-ack.Msgsize())
		return ack
	})
	switch {
	case errors.Is(err, ErrAliasTaken):
		return nil, reject(tc, wire.CodeAliasTaken, fmt.Sprintf("alias taken: %q is held by a member at another address", c.alias), err)
	case errors.Is(err, errDuplicate):
		return nil, reject(tc, wire.CodeDuplicate, errDuplicate.Error(), err)
	case err != nil:
		return nil, reject(tc, wire.CodeRefused, "node is leaving", err)
	}
	// The peer is registered: from here on its writer owns the connection's
	// write side (the ack is first in its queue) and this goroutine becomes
	// its reader.
	m.trust(fr, src)
	conn.SetDeadline(time.Time{})
	if len(rest) > 0 {
		p.send(&wire.Members{Nodes: rest}) // after the ack, in frames that fit
	}
	p.startWriter()
	m.announce(others, p)
	return p, nil
}

// fitNodes splits the members' entries into those that fit room bytes of a
// frame (at most wire.MaxNodes) and the rest: long aliases, or a small
// MaxFrameSize, make a HelloAck of the whole list too long for one frame.
func fitNodes(members []*peer, room int) (fit, rest []wire.NodeInfo) {
	for _, q := range members {
		info := q.info()
		if rest == nil && len(fit) < wire.MaxNodes && info.Msgsize() <= room {
			fit, room = append(fit, info), room-info.Msgsize()
			continue
		}
		rest = append(rest, info)
	}
	return fit, rest
}

// trust lifts, once a connection is authenticated, what held it during
// the handshake: frames may be as long as MaxFrameSize, and its read
// deadline passes only after a heartbeat timeout with nothing received
// (liveReader), not in the middle of a long frame still arriving.
func (m *Manager) trust(fr *wire.FrameReader, src *liveReader) {
	fr.SetLimit(m.cfg.MaxFrameSize)
	src.patience = m.cfg.HeartbeatTimeout
}

// connector is what the acceptor keeps of the connector's Hello or Join.
type connector struct {
	hello bool // a Hello; else a Join
	alias string
	port  uint16
	nonce []byte
	beat  time.Duration // how often it Pings, as it said (heartbeat); 0: it did not say
}

// checkConnector checks that msg is a Hello or Join with the proof, bound
// to the connection's keying material e and to challenge, that the
// connector holds the cookie, and with an alias, port and nonce it may
// join with. Of those, only a missing alias is refused before the proof
// checks.
func (m *Manager) checkConnector(tc io.Writer, msg wire.Message, e, challenge []byte, self string) (connector, error) {
	var (
		c     connector
		label string
		proof []byte
	)
	switch h := msg.(type) {
	case *wire.Hello:
		c, label, proof = connector{hello: true, alias: h.Alias, port: h.Port, nonce: h.Nonce, beat: millis(h.Heartbeat)}, wire.HelloLabel, h.Proof
	case *wire.Join:
		c, label, proof = connector{alias: h.Alias, port: h.Port, nonce: h.Nonce, beat: millis(h.Heartbeat)}, wire.JoinLabel, h.Proof
	default:
		return c, reject(tc, wire.CodeProtocol, "expected Hello or Join, got "+msg.Type().String(), nil)
	}
	if c.alias == "" {
		return c, reject(tc, wire.CodeProtocol, "missing alias", nil)
	}
	want := wire.ConnectorProof(m.cfg.Cookie, label, e, challenge, c.nonce, self, c.alias, c.port)
	if !hmac.Equal(proof, want) {
		return c, reject(tc, wire.CodeAuth, ErrAuth.Error(), ErrAuth)
	}
	if err := CheckAlias(c.alias); err != nil {
		return c, reject(tc, wire.CodeProtocol, "invalid alias", err)
	}
	if c.port == 0 {
		return c, reject(tc, wire.CodeProtocol, "missing listening port", nil)
	}
	if len(c.nonce) < minNonceBytes {
		return c, reject(tc, wire.CodeProtocol, "nonce too short", nil)
	}
	if c.alias == self {
		return c, reject(tc, wire.CodeAliasTaken, fmt.Sprintf("alias taken: %q is this node's own alias", c.alias), ErrAliasTaken)
	}
	return c, nil
}

// noKeepAliveDialer dials without TCP keep-alives, as noKeepAliveListen
// accepts: heartbeats find a silent peer within seconds, and keep-alives
// take four more system calls at each end of every connection.
var noKeepAliveDialer = net.Dialer{KeepAlive: -1}

// dialer dials addr from the IP this node listens on, when it listens on
// one (not 0.0.0.0 or ::) and addr is an address it can reach from there. Members
// record a member at the address its connections come from; left to the
// kernel, the source would be 127.0.0.1 for any loopback address, or the
// default route's on a host with several, and a node listening on
// 127.0.0.2 would be recorded, and dialled by the others, at 127.0.0.1.
func (s *session) dialer(addr string) *net.Dialer {
	d := noKeepAliveDialer
	ip := s.self.ip
	if !ip.IsValid() || ip.IsUnspecified() {
		return &d
	}
	if to, err := netip.ParseAddrPort(addr); err == nil {
		// Another family cannot be bound to; nor can a loopback source
		// reach another host (and a node listening on loopback alone is
		// not reachable from one anyway: it is dialled as before).
		if t := to.Addr().Unmap(); t.Is4() != ip.Is4() || t.IsLoopback() != ip.IsLoopback() {
			return &d
		}
	}
	d.LocalAddr = &net.TCPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	d.Control = bindAddressNoPort
	return &d
}

// dial makes the connector's side of the handshake with addr, sending kind
// (MsgHello or MsgJoin). want, if set, is the alias expected at addr: a
// Challenge from another alias is hung up on before anything is sent. On
// success the peer is registered and its writer runs; the caller runs its
// reader. For a Hello the acceptor's HelloAck is returned too.
func (m *Manager) dial(ctx context.Context, s *session, addr string, kind wire.MsgType, want string) (*peer, *wire.HelloAck, error) {
	dialContext := m.dialContext
	if dialContext == nil {
		dialContext = s.dialer(addr).DialContext
	}
	conn, err := dialContext(ctx, "tcp", addr)
	if oe := (*net.OpError)(nil); errors.As(err, &oe) {
		oe.Source = nil // "dial tcp 127.0.0.1:0->...": the bound source says nothing
	}
	if err != nil {
		return nil, nil, err
	}
	if !m.track(s, conn) {
		conn.Close()
		return nil, nil, ErrNotListening
	}
	ok := false
	defer func() {
		if !ok {
			m.untrack(s, conn)
		}
	}()
	ip, port := remoteAddr(conn)
	if ap, err := netip.ParseAddrPort(addrString(ip, port)); err == nil && s.self.is(ap) {
		return nil, nil, ErrSelf
	}
	if kind == wire.MsgHello && m.connectedAt(s, addrString(ip, port)) {
		return nil, nil, errConnected
	}
	deadline := time.Now().Add(m.cfg.HandshakeTimeout)
	if dl, has := ctx.Deadline(); has && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, nil, err
	}
	// Leave, Shutdown or the caller's cancel interrupt the handshake.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	// The cluster ticket goes only to members: an address a user gave
	// (Hello) may be anyone's.
	side := dialsAddress
	if kind == wire.MsgJoin {
		side = dialsMember
	}
	tc, e, slot, err := m.secure(ctx, conn, side)
	if notTLS := (tls.RecordHeaderError{}); errors.As(err, &notTLS) {
		err = fmt.Errorf("%w (%w)", ErrNotNode, err)
	}
	if err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	src := &liveReader{conn: tc}
	fr := wire.NewFrameReader(src, wire.PreAuthFrameSize)
	msg, err := readHandshake(fr, tc, addr)
	if err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	self := m.selfInfo()
	ch, err := m.checkChallenge(s, tc, msg, kind, want, addr, self.Alias)
	if err != nil {
		return nil, nil, err
	}
	nonce := newNonce()
	if err := writeFrame(tc, m.connectorMessage(kind, e, ch, nonce, self)); err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	if kind == wire.MsgHello {
		// A HelloAck carries the member list; a JoinAck, which does not,
		// is held to the limit of frames before authentication.
		fr.SetLimit(m.cfg.MaxFrameSize)
	}
	// Until the acceptor's proof checks, the connector sends nothing more,
	// not even an Error: whatever went wrong, it only hangs up.
	msg, err = readHandshake(fr, io.Discard, addr)
	if err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	ack, err := m.checkAnswer(msg, kind, e, ch, nonce, self.Alias, addr)
	if err != nil {
		return nil, nil, err
	}
	// Authenticated: what follows the ack (Members of a large cluster
	// among it) may use the whole frame limit, after a JoinAck too.
	m.trust(fr, src)
	// The acceptor proved it holds the cookie: its ticket, and for a Hello
	// its ticket key, are the cluster's. Not once the session stops, which
	// forgets both (stop): Join's own dial is not one of the session's.
	m.mu.Lock()
	if !s.stopping {
		if ack.helloAck != nil {
			m.resume.adoptKey(ack.helloAck.TicketKey)
		}
		m.resume.keep(slot, ack.ticket)
	}
	m.mu.Unlock()
	if !stop() {
		return nil, nil, handshakeErr(ctx, context.Cause(ctx))
	}
	p := m.newPeer(s, conn, tc, fr, ack.node.Alias, ip, port, self.Alias, ack.beat)
	p.hello = kind == wire.MsgHello
	others, err := m.register(p, nil)
	if err != nil {
		// Lost the tie-break, or the alias is someone else's here: close
		// without a word; the acceptor drops the connection.
		return nil, nil, err
	}
	ok = true
	conn.SetDeadline(time.Time{})
	p.startWriter()
	if kind == wire.MsgHello {
		// This node joins the cluster of p. Peers it already had (two
		// clusters merging) have met none of that cluster's members.
		m.tellCluster(others, p, ack.helloAck.Nodes)
	} else {
		m.announce(others, p)
	}
	return p, ack.helloAck, nil
}

// checkChallenge checks that msg, the acceptor's first frame, is a
// Challenge this node may answer with kind; want, if set, is the alias
// expected at addr.
func (m *Manager) checkChallenge(s *session, tc io.Writer, msg wire.Message, kind wire.MsgType, want, addr, self string) (*wire.Challenge, error) {
	ch, isChallenge := msg.(*wire.Challenge)
	if !isChallenge {
		return nil, reject(tc, wire.CodeProtocol, "expected Challenge, got "+msg.Type().String(), nil)
	}
	switch {
	case ch.Alias == self:
		// Not this node (dial checked its address): another node with
		// the same alias.
		return nil, fmt.Errorf("%w: the node at %s is called %q too", ErrAliasTaken, addr, self)
	case want != "" && ch.Alias != want:
		return nil, fmt.Errorf("%w: expected member %q at %s, found %q", errWrongMember, want, addr, ch.Alias)
	case CheckAlias(ch.Alias) != nil:
		return nil, reject(tc, wire.CodeProtocol, "invalid alias in Challenge", nil)
	case len(ch.Nonce) < minNonceBytes:
		return nil, reject(tc, wire.CodeProtocol, "nonce too short in Challenge", nil)
	case kind == wire.MsgHello && m.connectedTo(s, ch.Alias):
		// A member reached at another of its addresses: a Hello would
		// replace its healthy connection (keepNew), so none is said.
		return nil, errConnected
	}
	return ch, nil
}

// connectorMessage is the Hello or Join (kind) that answers ch, its proof
// bound to the connection's keying material e.
func (m *Manager) connectorMessage(kind wire.MsgType, e []byte, ch *wire.Challenge, nonce []byte, self wire.NodeInfo) wire.Message {
	if kind == wire.MsgHello {
		proof := wire.ConnectorProof(m.cfg.Cookie, wire.HelloLabel, e, ch.Nonce, nonce, ch.Alias, self.Alias, self.Port)
		return &wire.Hello{Alias: self.Alias, Port: self.Port, Nonce: nonce, Proof: proof, Heartbeat: m.cfg.heartbeatMillis()}
	}
	proof := wire.ConnectorProof(m.cfg.Cookie, wire.JoinLabel, e, ch.Nonce, nonce, ch.Alias, self.Alias, self.Port)
	return &wire.Join{Alias: self.Alias, Port: self.Port, Nonce: nonce, Proof: proof, Heartbeat: m.cfg.heartbeatMillis()}
}

// answer is what the connector keeps of the acceptor's HelloAck or JoinAck.
type answer struct {
	node     wire.NodeInfo
	ticket   []byte
	beat     time.Duration  // how often the acceptor Pings, as it said; 0: it did not say
	helloAck *wire.HelloAck // nil for a JoinAck
}

// checkAnswer checks that msg is the answer to kind, from the node that
// sent ch, with the proof that it holds the cookie. The connector tells
// the acceptor nothing of what it finds wrong (the protocol: it sends
// nothing after its Hello or Join until the acceptor's proof checks).
func (m *Manager) checkAnswer(msg wire.Message, kind wire.MsgType, e []byte, ch *wire.Challenge, nonce []byte, self, addr string) (answer, error) {
	var (
		a     answer
		proof []byte
	)
	switch ack := msg.(type) {
	case *wire.HelloAck:
		if kind != wire.MsgHello {
			return a, errors.New("expected JoinAck, got HelloAck")
		}
		a, proof = answer{node: ack.Node, ticket: ack.Ticket, beat: millis(ack.Heartbeat), helloAck: ack}, ack.Proof
	case *wire.JoinAck:
		if kind != wire.MsgJoin {
			return a, errors.New("expected HelloAck, got JoinAck")
		}
		a, proof = answer{node: ack.Node, ticket: ack.Ticket, beat: millis(ack.Heartbeat)}, ack.Proof
	default:
		return a, errors.New("expected an answer to " + kind.String() + ", got " + msg.Type().String())
	}
	if !hmac.Equal(proof, wire.AcceptorProof(m.cfg.Cookie, e, nonce, ch.Alias, self)) {
		return a, fmt.Errorf("%s answered with a wrong proof: %w", addr, ErrAuth)
	}
	if a.node.Alias != ch.Alias {
		return a, errors.New("the answer names another alias than the Challenge")
	}
	return a, nil
}

// millis is a handshake's heartbeat field as a duration.
func millis(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

// handshakeErr reports a deadline hit caused by ctx as ctx's error.
func handshakeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		var re *RemoteError
		if !errors.As(err, &re) {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
	}
	return err
}

// connectedTo reports whether alias is a connected member of s.
func (m *Manager) connectedTo(s *session, alias string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.members.connectedPeer(alias) != nil
}

// connectedAt reports whether a member listens at addr.
func (m *Manager) connectedAt(s *session, addr string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.members.connectedAt(addr, "")
}
