package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// The handshake (SPEC.md section 8), on every new connection:
//
//	acceptor                              connector
//	Challenge{nonce A}            ->
//	                              <-      Hello or Join{alias, port, nonce C,
//	                                            proof = HMAC(cookie, A || alias)}
//	check proof, alias, address
//	HelloAck{self, others, proof} ->      (or JoinAck{self, proof}, or Error + close)
//	  proof = HMAC(cookie, C || acceptor alias)
//	                                      check proof
//
// Every step has a deadline of Config.HandshakeTimeout.

var (
	errConnected   = errors.New("cluster: already connected to that address")
	errWrongMember = errors.New("cluster: another member answers at that address")
)

// proof returns HMAC-SHA256(cookie, nonce || alias).
func (m *Manager) proof(nonce []byte, alias string) []byte {
	h := hmac.New(sha256.New, m.cfg.Cookie)
	h.Write(nonce)
	h.Write([]byte(alias))
	return h.Sum(nil)
}

func newNonce() []byte {
	b := make([]byte, nonceSize)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

func (m *Manager) selfInfo() NodeInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return NodeInfo{Alias: m.cfg.Alias, IP: m.selfIP, Port: uint16(m.port)}
}

// remoteIP is the IP address the connection comes from, IPv4 unmapped.
func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap().String()
		}
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

func remotePort(c net.Conn) int {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.Port
	}
	_, port, _ := net.SplitHostPort(c.RemoteAddr().String())
	n, _ := strconv.Atoi(port)
	return n
}

func writeFlush(fw *FrameWriter, msg Message) error {
	if err := fw.WriteMessage(msg); err != nil {
		return err
	}
	return fw.Flush()
}

// reject sends an Error frame with text and returns err (or a plain error
// made from text).
func reject(fw *FrameWriter, text string, err error) error {
	writeFlush(fw, &Error{Message: text})
	if err == nil {
		err = errors.New(text)
	}
	return err
}

// readHandshake reads one frame during a handshake. An Error frame becomes a
// *RemoteError; an unknown type is answered with an Error frame.
func readHandshake(fr *FrameReader, fw *FrameWriter, addr string) (Message, error) {
	t, body, err := fr.ReadFrame()
	if err != nil {
		if errors.Is(err, ErrUnknownType) {
			return nil, reject(fw, "unknown message type "+strconv.Itoa(int(t)), err)
		}
		return nil, err
	}
	msg, err := DecodeMessage(t, body)
	if err != nil {
		return nil, reject(fw, "malformed "+t.String()+" message", err)
	}
	if e, ok := msg.(*Error); ok {
		return nil, &RemoteError{Addr: addr, Message: e.Message}
	}
	return msg, nil
}

// accept makes the acceptor's side of the handshake on conn. It returns the
// registered peer, with its writer running, or nil after closing conn.
func (m *Manager) accept(s *session, conn net.Conn) *peer {
	remote := conn.RemoteAddr().String()
	log := m.log.With("peer", remote)
	p, err := m.acceptHandshake(s, conn, remote)
	if err != nil {
		log.Info("handshake refused", "err", err)
		m.untrack(s, conn)
		return nil
	}
	return p
}

func (m *Manager) acceptHandshake(s *session, conn net.Conn, remote string) (*peer, error) {
	if err := conn.SetDeadline(time.Now().Add(m.cfg.HandshakeTimeout)); err != nil {
		return nil, err
	}
	fr := NewFrameReader(conn, m.cfg.MaxFrameSize)
	fw := NewFrameWriter(conn, m.cfg.MaxFrameSize)
	challenge := newNonce()
	if err := writeFlush(fw, &Challenge{Nonce: challenge}); err != nil {
		return nil, err
	}
	msg, err := readHandshake(fr, fw, remote)
	if err != nil {
		return nil, err
	}
	var (
		kind               MsgType
		alias              string
		port               uint16
		nonce, proofOfPeer []byte
	)
	switch h := msg.(type) {
	case *Hello:
		kind, alias, port, nonce, proofOfPeer = MsgHello, h.Alias, h.Port, h.Nonce, h.Proof
	case *Join:
		kind, alias, port, nonce, proofOfPeer = MsgJoin, h.Alias, h.Port, h.Nonce, h.Proof
	default:
		return nil, reject(fw, "expected Hello or Join, got "+msg.Type().String(), nil)
	}
	if alias == "" {
		return nil, reject(fw, textMissingName, nil)
	}
	if !hmac.Equal(proofOfPeer, m.proof(challenge, alias)) {
		return nil, reject(fw, textBadProof, ErrAuth)
	}
	if err := checkAlias(alias); err != nil {
		return nil, reject(fw, "invalid alias", err)
	}
	if port == 0 {
		return nil, reject(fw, "missing listening port", nil)
	}
	if len(nonce) < minNonceBytes {
		return nil, reject(fw, "nonce too short", nil)
	}
	self := m.selfInfo()
	if alias == self.Alias {
		return nil, reject(fw, fmt.Sprintf("%s: %q is this node's own alias", textAliasTaken, alias), ErrAliasTaken)
	}

	m.mu.Lock()
	m.incoming[alias]++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.incoming[alias]--; m.incoming[alias] <= 0 {
			delete(m.incoming, alias)
		}
		m.mu.Unlock()
	}()
	p := m.newPeer(s, conn, fr, fw, alias, remoteIP(conn), int(port), alias)
	if kind == MsgHello {
		p.greeted = time.Now()
	}
	ackProof := m.proof(nonce, self.Alias)
	others, err := m.register(p, func(others []*peer) Message {
		if kind == MsgJoin {
			return &JoinAck{Node: self, Proof: ackProof}
		}
		nodes := make([]NodeInfo, 0, min(len(others), MaxNodes))
		for _, q := range others {
			if len(nodes) == MaxNodes {
				break
			}
			nodes = append(nodes, q.info())
		}
		return &HelloAck{Node: self, Nodes: nodes, Proof: ackProof}
	})
	switch {
	case errors.Is(err, ErrAliasTaken):
		return nil, reject(fw, fmt.Sprintf("%s: %q is held by a member at another address", textAliasTaken, alias), err)
	case errors.Is(err, errDuplicate):
		return nil, reject(fw, textDuplicate, err)
	case err != nil:
		return nil, reject(fw, textNotMember, err)
	}
	// The peer is registered: from here on its writer owns the FrameWriter
	// (the ack is first in its queue) and this goroutine becomes its reader.
	conn.SetDeadline(time.Time{})
	p.startWriter()
	m.announce(others, p)
	return p, nil
}

// dial makes the connector's side of the handshake with addr, sending kind
// (MsgHello or MsgJoin). want, if set, is the alias expected at addr. On
// success the peer is registered and its writer runs; the caller runs its
// reader. For a Hello the acceptor's HelloAck is returned too.
func (m *Manager) dial(ctx context.Context, s *session, addr string, kind MsgType, want string) (*peer, *HelloAck, error) {
	dialContext := m.dialContext
	if dialContext == nil {
		var d net.Dialer
		dialContext = d.DialContext
	}
	conn, err := dialContext(ctx, "tcp", addr)
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
	ip, port := remoteIP(conn), remotePort(conn)
	if kind == MsgHello && m.connectedAt(ip, port) {
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

	fr := NewFrameReader(conn, m.cfg.MaxFrameSize)
	fw := NewFrameWriter(conn, m.cfg.MaxFrameSize)
	msg, err := readHandshake(fr, fw, addr)
	if err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	ch, isChallenge := msg.(*Challenge)
	if !isChallenge {
		return nil, nil, reject(fw, "expected Challenge, got "+msg.Type().String(), nil)
	}
	self := m.selfInfo()
	nonce := newNonce()
	proof := m.proof(ch.Nonce, self.Alias)
	var hello Message
	if kind == MsgHello {
		hello = &Hello{Alias: self.Alias, Port: self.Port, Nonce: nonce, Proof: proof}
	} else {
		hello = &Join{Alias: self.Alias, Port: self.Port, Nonce: nonce, Proof: proof}
	}
	if err := writeFlush(fw, hello); err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	msg, err = readHandshake(fr, fw, addr)
	if err != nil {
		return nil, nil, handshakeErr(ctx, err)
	}
	var (
		node     NodeInfo
		ackProof []byte
		hack     *HelloAck
	)
	switch a := msg.(type) {
	case *HelloAck:
		if kind != MsgHello {
			return nil, nil, reject(fw, "expected JoinAck, got HelloAck", nil)
		}
		node, ackProof, hack = a.Node, a.Proof, a
	case *JoinAck:
		if kind != MsgJoin {
			return nil, nil, reject(fw, "expected HelloAck, got JoinAck", nil)
		}
		node, ackProof = a.Node, a.Proof
	default:
		return nil, nil, reject(fw, "expected an answer to "+kind.String()+", got "+msg.Type().String(), nil)
	}
	if !hmac.Equal(ackProof, m.proof(nonce, node.Alias)) {
		return nil, nil, reject(fw, textBadProof, fmt.Errorf("%w: %s answered with a wrong proof", ErrAuth, addr))
	}
	if err := checkAlias(node.Alias); err != nil {
		return nil, nil, reject(fw, "invalid alias", err)
	}
	if node.Alias == self.Alias {
		return nil, nil, reject(fw, textAliasTaken, fmt.Errorf("%w: %s is this node's own alias", ErrAliasTaken, node.Alias))
	}
	if want != "" && node.Alias != want {
		return nil, nil, reject(fw, "unexpected alias",
			fmt.Errorf("%w: expected member %q at %s, found %q", errWrongMember, want, addr, node.Alias))
	}
	if !stop() {
		return nil, nil, handshakeErr(ctx, context.Cause(ctx))
	}
	p := m.newPeer(s, conn, fr, fw, node.Alias, ip, port, self.Alias)
	others, err := m.register(p, nil)
	if err != nil {
		// Lost the tie-break, or the alias is someone else's here: close
		// without a word; the acceptor drops the connection.
		return nil, nil, err
	}
	ok = true
	conn.SetDeadline(time.Time{})
	p.startWriter()
	if kind == MsgHello {
		// This node joins the cluster of p. Peers it already had (two
		// clusters merging) have met none of that cluster's members.
		m.tellCluster(others, p, hack.Nodes)
	} else {
		m.announce(others, p)
	}
	return p, hack, nil
}

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

// connectedAt reports whether a member listens at ip:port.
func (m *Manager) connectedAt(ip string, port int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if p.ip == ip && p.port == port {
			return true
		}
	}
	return false
}
