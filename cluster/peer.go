package cluster

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// maxQueue is the most messages waiting for one peer's writer; a peer that
// falls that far behind is dropped.
const maxQueue = 16384

// membersDelay is how long a writer holds back a queue of nothing but
// Members messages, to merge them.
const membersDelay = 2 * time.Millisecond

// byeTimeout bounds the write of a last message (Leave, Error) before close.
const byeTimeout = time.Second

// peer is one established connection to another member. Its reader runs in
// the goroutine that made the handshake; its writer goroutine owns the
// FrameWriter, sends queued messages and Pings the peer when the connection
// was idle for a heartbeat (the node's maintenance loop beats for all its
// peers at once). Neither holds the manager's lock during I/O.
type peer struct {
	m    *Manager
	sess *session
	log  *slog.Logger

	alias     string
	ip        string
	port      int
	initiator string // alias of the node that opened the connection

	// greeted is when this node accepted the peer's Hello (zero: it did
	// not). Set before the peer is registered, read-only afterwards.
	greeted time.Time

	// raw is the TCP connection, closed to end the peer at once (closing
	// conn would first try to send a TLS close alert, which can block on
	// a peer that reads nothing); conn is the TLS connection on it.
	raw  net.Conn
	conn net.Conn
	fr   *wire.FrameReader // used by the reader only
	fw   *wire.FrameWriter // used by the writer only
	out  *progressWriter   // what fw writes to (writer only)

	qmu   sync.Mutex
	queue []wire.Message
	spare []wire.Message // the writer's previous batch, reused (writer only)

	members wire.Members        // the writer's merged Members (writer only)
	seen    map[string]struct{} // aliases already in members (writer only)
	closed  bool
	bye     wire.Message // written last when the writer stops, if set

	procs peerProcs // process traffic (procpeer.go)

	wake chan struct{} // capacity 1: a queue is not empty, or a beat is due
	beat atomic.Bool   // a HeartbeatInterval has passed (set by heartbeat)
	quit chan struct{} // closed by shut
}

// newPeer makes the peer of an authenticated connection: raw is its TCP
// connection, conn the TLS connection on it, fr the reader the handshake
// used (it may hold bytes already).
func (m *Manager) newPeer(s *session, raw net.Conn, conn net.Conn, fr *wire.FrameReader,
	alias, ip string, port int, initiator string) *peer {
	p := &peer{
		m: m, sess: s,
		log:   m.log.With("peer", alias, "addr", addrString(ip, port)),
		alias: alias, ip: ip, port: port, initiator: initiator,
		raw: raw, conn: conn, fr: fr,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	p.out = newProgressWriter(raw, conn, m.cfg.HeartbeatTimeout)
	p.fw = wire.NewFrameWriter(p.out, m.cfg.MaxFrameSize)
	return p
}

func (p *peer) info() wire.NodeInfo {
	return wire.NodeInfo{Alias: p.alias, IP: p.ip, Port: uint16(p.port)}
}

func (p *peer) addr() string { return addrString(p.ip, p.port) }

// send queues msg for the writer. It never blocks; it reports false when the
// peer is closed or its queue overflowed (which closes it).
func (p *peer) send(msg wire.Message) bool {
	p.qmu.Lock()
	if p.closed {
		p.qmu.Unlock()
		return false
	}
	if len(p.queue) >= maxQueue {
		p.qmu.Unlock()
		p.log.Warn("send queue full, dropping peer")
		p.shut(nil)
		return false
	}
	p.queue = append(p.queue, msg)
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// heartbeat tells the writer that a HeartbeatInterval has passed: it Pings
// the peer unless it wrote something during the interval or has something
// to write now. The node's maintenance loop beats for all peers at once, so
// that an idle node wakes for its own beats once per interval rather than
// once per peer: with a ticker in each writer, an idle 29-node cluster used
// 25-32 % of this 2-core machine, and half that with one beat per node.
func (p *peer) heartbeat() {
	p.beat.Store(true)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// quietBeats is how many heartbeats in a row a writer lets pass without
// writing before it Pings: two when the peer's timeout allows four of them,
// else one. Every Ping draws a Pong, so on an idle connection one side
// Pings and the other answers; pinging every other beat halves that
// traffic (an idle 30-node cluster on one machine spent most of its CPU on
// it) and still leaves the peer hearing from this node at least every two
// intervals, well within its timeout (defaults: 1 s of 2.5 s).
func quietBeats(c Config) int {
	if c.HeartbeatTimeout >= 4*c.HeartbeatInterval {
		return 2
	}
	return 1
}

// queued reports whether the queue holds anything.
func (p *peer) queued() bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	return len(p.queue) > 0
}

// onlyMembers reports whether the queue holds nothing but Members messages.
func (p *peer) onlyMembers() bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	for _, m := range p.queue {
		if m.Type() != wire.MsgMembers {
			return false
		}
	}
	return len(p.queue) > 0
}

// shut closes the peer once. With bye == nil the connection closes at once;
// otherwise the writer sends bye (bounded by byeTimeout) and then closes it.
func (p *peer) shut(bye wire.Message) {
	p.qmu.Lock()
	if p.closed {
		p.qmu.Unlock()
		return
	}
	p.closed = true
	p.bye = bye
	close(p.quit)
	p.qmu.Unlock()
	if bye == nil {
		p.raw.Close()
	}
}

// startWriter starts the writer goroutine, owned by the peer's session.
func (p *peer) startWriter() {
	p.sess.wg.Add(1)
	go p.writeLoop()
}

func (p *peer) writeLoop() {
	defer p.sess.wg.Done()
	defer p.raw.Close()
	coalesce := time.NewTimer(time.Hour)
	coalesce.Stop()
	var seq uint64
	wrote := false
	quiet, pingAfter := 0, quietBeats(p.m.cfg)
	flushQueue := func() bool {
		p.qmu.Lock()
		batch := p.queue
		if len(batch) == 0 {
			p.qmu.Unlock()
			return true
		}
		p.queue = p.spare[:0]
		p.qmu.Unlock()
		err := p.write(batch...)
		clear(batch)
		p.spare = batch[:0]
		if err != nil {
			p.writeFailed(err)
			return false
		}
		wrote = true
		return true
	}
	// The handshake's answer, if any, goes first.
	if !flushQueue() || !p.procs.flush(p, flushQueue) {
		return
	}
	for {
		select {
		case <-p.wake:
			if p.beat.Swap(false) {
				if wrote {
					quiet = 0
				} else {
					quiet++
				}
				wrote = false
				if quiet >= pingAfter && !p.queued() {
					seq++
					if err := p.write(&wire.Ping{Seq: seq}); err != nil {
						p.writeFailed(err)
						return
					}
					quiet = 0
				}
			}
			if p.onlyMembers() {
				// News of members is not urgent: let more of it gather, so
				// that a burst of joins costs a few merged frames.
				coalesce.Reset(membersDelay)
				select {
				case <-coalesce.C:
				case <-p.quit:
					coalesce.Stop()
					continue // the quit case sends the bye
				}
			}
			if !flushQueue() || !p.procs.flush(p, flushQueue) {
				return
			}
		case <-p.quit:
			p.qmu.Lock()
			bye := p.bye
			p.qmu.Unlock()
			if bye != nil {
				p.out.timeout = min(byeTimeout, p.m.cfg.HandshakeTimeout)
				if err := p.fw.WriteMessage(bye); err == nil {
					p.fw.Flush()
				}
			}
			return
		}
	}
}

// write sends msgs in one flush. The Members messages among them are merged
// into as few frames as MaxNodes and the frame limit allow, written where
// the first one was.
func (p *peer) write(msgs ...wire.Message) error {
	if err := p.conn.SetWriteDeadline(time.Now().Add(p.m.cfg.HeartbeatTimeout)); err != nil {
		return err
	}
	merged := false
	for _, msg := range msgs {
		if _, ok := msg.(*wire.Members); ok {
			if !merged {
				merged = true
				if err := p.writeMembers(msgs); err != nil {
					return err
				}
			}
			continue
		}
		if err := p.fw.WriteMessage(msg); err != nil {
			return err
		}
	}
	return p.fw.Flush()
}

// writeMembers writes the nodes of every Members message in msgs, each
// alias once, in frames of at most MaxNodes nodes.
func (p *peer) writeMembers(msgs []wire.Message) error {
	nodes := p.members.Nodes[:0]
	seen := p.seen
	if seen == nil {
		seen = make(map[string]struct{})
		p.seen = seen
	}
	defer clear(seen)
	for _, msg := range msgs {
		mm, ok := msg.(*wire.Members)
		if !ok {
			continue
		}
		for _, n := range mm.Nodes {
			if _, dup := seen[n.Alias]; dup {
				continue
			}
			seen[n.Alias] = struct{}{}
			nodes = append(nodes, n)
		}
	}
	defer func(buf []wire.NodeInfo) { p.members.Nodes = buf[:0] }(nodes)
	for len(nodes) > 0 {
		k := min(len(nodes), wire.MaxNodes)
		for k > 1 && membersSize(nodes[:k]) > p.m.cfg.MaxFrameSize {
			k /= 2 // long aliases: fewer nodes per frame
		}
		p.members.Nodes = nodes[:k]
		if err := p.fw.WriteMessage(&p.members); err != nil {
			return err
		}
		nodes = nodes[k:]
	}
	return nil
}

// membersSize bounds the frame length of a Members message of nodes.
func membersSize(nodes []wire.NodeInfo) int {
	n := 1 + 16 // type byte, map and array headers
	for i := range nodes {
		n += nodes[i].Msgsize()
	}
	return n
}

func (p *peer) writeFailed(err error) {
	if !isClosedErr(err) {
		p.log.Info("write failed", "err", err)
	}
	p.shut(nil)
}

// readLoop reads and handles frames until the connection fails, the peer
// leaves or breaks the protocol; then it drops the peer. A peer that sends
// nothing for HeartbeatTimeout is dropped.
func (p *peer) readLoop() {
	reason := "connection closed"
	how := dropLost // the member may come back: redial it
	defer func() {
		p.m.removePeer(p, reason, how)
		p.shut(nil)
		p.procs.close(p)
	}()
	for {
		if err := p.conn.SetReadDeadline(time.Now().Add(p.m.cfg.HeartbeatTimeout)); err != nil {
			return
		}
		t, body, err := p.fr.ReadFrame()
		if err != nil {
			switch {
			case errors.Is(err, wire.ErrUnknownType):
				reason, how = "sent an unknown message type", dropBroken
				p.shut(&wire.Error{Code: wire.CodeProtocol, Message: "unknown message type " + strconv.Itoa(int(t))})
			case errors.Is(err, wire.ErrEmptyFrame), errors.Is(err, wire.ErrFrameTooLarge):
				reason, how = err.Error(), dropBroken
			case errors.Is(err, os.ErrDeadlineExceeded):
				reason = "heartbeat timeout"
			case isClosedErr(err):
			default:
				reason = err.Error()
			}
			return
		}
		if t.Process() {
			if err := p.procs.frame(p, t, body); err != nil {
				reason, how = err.Error(), dropBroken
				p.shut(&wire.Error{Code: wire.CodeProtocol, Message: "malformed " + t.String() + " message"})
				return
			}
			continue
		}
		msg, err := wire.DecodeMessage(t, body)
		if err != nil {
			reason, how = err.Error(), dropBroken
			p.shut(&wire.Error{Code: wire.CodeProtocol, Message: "malformed " + t.String() + " message"})
			return
		}
		switch msg := msg.(type) {
		case *wire.Ping:
			p.send(&wire.Pong{Seq: msg.Seq})
		case *wire.Pong:
		case *wire.Members:
			p.m.learn(p.sess, msg.Nodes)
		case *wire.Leave:
			reason, how = "left the cluster", dropLeft
			return
		case *wire.Error:
			reason, how = "peer error: "+msg.Message, dropBroken
			return
		default:
			reason, how = "sent "+t.String()+" after the handshake", dropBroken
			p.shut(&wire.Error{Code: wire.CodeProtocol, Message: "unexpected " + t.String() + " after the handshake"})
			return
		}
	}
}

// isClosedErr reports errors that only mean "the connection is gone".
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
