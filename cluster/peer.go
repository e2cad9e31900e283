package cluster

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"math"
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
// the goroutine that made the handshake; its writer goroutine writes the
// queued messages, process frames and whatever heartbeats could not be
// written at once. Whoever writes holds wmu; nobody holds the manager's
// lock during I/O.
//
// Heartbeats: every frame read counts as a sign of life. The node's
// maintenance loop looks at all its peers once per HeartbeatInterval
// (heartbeat): the end with the smaller alias, the pinger, Pings a
// connection on which it heard or sent nothing for pingAfter, and the
// other end answers at once (and Pings as well if the pinger did not say
// in its handshake that it Pings as often: Config.pings). The Ping shows the other end that the pinger
// lives, the Pong shows the pinger that the other end does: an idle
// connection carries one Ping and one Pong every beatTicks intervals, and
// a busy one none. Both are written by the goroutine that decides on them
// when the connection is otherwise idle (tryHeartbeat). Every Ping and Pong
// carries the sender's member-list digest (member.go), which is how two
// members notice that their lists differ without sending them.
type peer struct {
	m    *Manager
	sess *session
	log  *slog.Logger

	alias     string
	ip        string
	port      int
	initiator string // alias of the node that opened the connection
	hello     bool   // it was opened by a Hello (its initiator was joining), not a Join

	// greeted is when this node accepted the peer's Hello (zero: it did
	// not). Set before the peer is registered, read-only afterwards.
	greeted time.Time

	// raw is the TCP connection, closed to end the peer at once (closing
	// conn would first try to send a TLS close alert, which can block on
	// a peer that reads nothing); conn is the TLS connection on it.
	raw  net.Conn
	conn net.Conn
	fr   *wire.FrameReader // used by the reader only
	fw   *wire.FrameWriter // used by whoever holds wmu
	out  *progressWriter   // what fw writes to (wmu)

	// pinger: this end Pings the connection when it is quiet (Config.pings).
	pinger bool

	// Set by the reader, read by the maintenance loop.
	heardAt  atomic.Int64  // clock() when the last frame came in
	digest   atomic.Uint64 // the peer's member-list digest, as it last said it; 0: it keeps none
	digestAt atomic.Int64  // clock() when it said it; 0: not yet
	// Set by the writers, read by the maintenance loop.
	sentAt atomic.Int64 // clock() when bytes last went to the kernel
	toldAt atomic.Int64 // clock() when this node's digest last went out (Ping, Pong)
	// The maintenance loop's own.
	gossipedAt int64 // clock() when it last sent the peer the whole member list (its start at first)
	listSentAt int64 // the same, 0 until a list went out on this connection

	procs peerProcs // process traffic (procpeer.go)

	qmu        sync.Mutex
	queue      []wire.Message
	pongs      []uint64 // the seqs of the Pings to answer, in order
	pingDue    bool     // the maintenance loop asked for a Ping
	spare      []wire.Message
	sparePongs []uint64
	closed     bool
	bye        wire.Message // written last when the writer stops, if set
	why        string       // why this end closed the connection, if it did: the reader's drop reason

	// wmu is held by whoever writes to the connection: the writer
	// goroutine for each of its batches, or the reader or the maintenance
	// loop for heartbeats they write themselves (tryHeartbeat). It guards
	// fw, out, tx, sparePongs, outq, held, wroteThen and inlineSince.
	wmu sync.Mutex
	// outq reads how many bytes the kernel still holds for the connection
	// (nil: not a socket); tryHeartbeat writes only when they are few.
	outq func() (int, bool)
	// What outq said last (held), out's count of bytes then (wroteThen)
	// and the inline writes since (inlineSince): see roomInKernel.
	held, wroteThen int64
	inlineSince     int

	// The reader decodes heartbeats into rx, the writers encode them from
	// tx: an idle connection allocates nothing.
	rx, tx struct {
		ping wire.Ping
		pong wire.Pong
	}
	pings atomic.Uint64 // how many Pings went out, the last one's seq (the writer's count)

	wake chan struct{} // capacity 1: something waits for the writer
	quit chan struct{} // closed by shut
}

// clockBase and clock give monotonic times as plain numbers, which peers
// keep in atomics.
var clockBase = time.Now()

func clock() int64 { return int64(time.Since(clockBase)) }

// clockOf is t as clock() would have said it then.
func clockOf(t time.Time) int64 { return int64(t.Sub(clockBase)) }

// newPeer makes the peer of an authenticated connection: raw is its TCP
// connection, conn the TLS connection on it, fr the reader the handshake
// used (it may hold bytes already).
func (m *Manager) newPeer(s *session, raw net.Conn, conn net.Conn, fr *wire.FrameReader,
	alias, ip string, port int, initiator string, theirBeat time.Duration) *peer {
	p := &peer{
		m: m, sess: s,
		log:   m.log.With("peer", alias, "addr", addrString(ip, port)),
		alias: alias, ip: ip, port: port, initiator: initiator, pinger: m.cfg.pings(alias, theirBeat),
		raw: raw, conn: conn, fr: fr,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	p.out = newProgressWriter(raw, conn, m.cfg.HeartbeatTimeout, &p.sentAt)
	p.fw = wire.NewFrameWriter(p.out, m.cfg.MaxFrameSize)
	p.outq = sendQueue(raw)
	p.inlineSince = recheckInline // ask before the first inline write
	// The handshake just came in, and the peer has no use for a digest
	// before its own list settles.
	now := clock()
	p.heardAt.Store(now)
	p.sentAt.Store(now)
	p.toldAt.Store(now)
	p.gossipedAt = now
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
		p.overflow()
		return false
	}
	p.queue = append(p.queue, msg)
	p.qmu.Unlock()
	p.wakeWriter()
	return true
}

// pong answers the Ping seq, at once: written here if the connection is
// idle (tryHeartbeat), else by the writer.
func (p *peer) pong(seq uint64) {
	p.qmu.Lock()
	if p.closed {
		p.qmu.Unlock()
		return
	}
	if len(p.pongs) >= maxQueue {
		p.qmu.Unlock()
		p.overflow() // it Pings faster than it reads
		return
	}
	p.pongs = append(p.pongs, seq)
	p.qmu.Unlock()
	p.beat(false)
}

// ping sends a Ping: written here if the connection is idle
// (tryHeartbeat), else by the writer.
func (p *peer) ping() { p.beat(true) }

// beat sends the Pongs owed and, if ping is set, a Ping.
func (p *peer) beat(ping bool) {
	if p.tryHeartbeat(ping) {
		return
	}
	if ping {
		p.qmu.Lock()
		p.pingDue = true
		p.qmu.Unlock()
	}
	p.wakeWriter()
}

// tryHeartbeat writes the Pongs owed and a Ping (if ping) in the caller's
// goroutine (the reader, the maintenance loop) and reports whether it did
// (or the peer is closed: nothing to write). It does so only when that can
// neither block nor reorder anything: nobody else writes (wmu), nothing but
// Pongs waits for the writer (the handshake's answer goes first; process
// frames keep their order), and the kernel holds few of the connection's
// bytes, so that its buffer takes the frames at once. Otherwise the caller
// leaves them to the writer. An idle connection carries nothing but
// heartbeats, and writing them here spares waking a writer goroutine for
// each.
func (p *peer) tryHeartbeat(ping bool) bool {
	if p.outq == nil || !p.wmu.TryLock() {
		return false
	}
	defer p.wmu.Unlock()
	p.qmu.Lock()
	if p.closed {
		p.qmu.Unlock()
		return true
	}
	if len(p.queue) > 0 || p.pingDue || !p.procs.empty() {
		p.qmu.Unlock()
		return false
	}
	if !p.roomInKernel() {
		p.qmu.Unlock()
		return false
	}
	pongs := p.pongs
	p.pongs = p.sparePongs[:0]
	p.qmu.Unlock()
	err := p.writeHeartbeats(pongs, ping)
	p.sparePongs = pongs[:0]
	if err == nil {
		err = p.fw.Flush()
	}
	if err != nil {
		p.writeFailed(err)
		return true
	}
	p.toldAt.Store(clock())
	return true
}

// roomInKernel reports whether the kernel holds at most inlineQueueLimit
// bytes of the connection. The kernel holds at most what outq said last
// plus every byte written since (all writes go through out, under wmu),
// so outq is asked only when that bound is over the limit or after
// recheckInline inline writes: on an idle connection, once a minute
// rather than at every heartbeat. The bound misses only what crypto/tls
// writes by itself, from the reader: a reply of about 30 bytes to each key
// update the peer asks for, which only a member can ask. Against the
// limit's margin (a quarter of a buffer the kernel doubles) that takes
// thousands of requests, and the second rule keeps them from adding up.
// The caller holds wmu.
func (p *peer) roomInKernel() bool {
	if p.inlineSince < recheckInline && p.held+p.out.wrote-p.wroteThen <= inlineQueueLimit {
		p.inlineSince++
		return true
	}
	n, ok := p.outq()
	if !ok || n > inlineQueueLimit {
		return false
	}
	p.held, p.wroteThen, p.inlineSince = int64(n), p.out.wrote, 1
	return true
}

// recheckInline is how many inline writes roomInKernel lets through on its
// bound before it asks the kernel again.
const recheckInline = 32

// inlineQueueLimit is the most bytes the kernel may hold for a connection
// (sent and not acknowledged, or not sent yet) for tryHeartbeat to write:
// far below the send buffer (sendBuffer, which the kernel doubles), so
// that a frame of a few dozen bytes never waits for room.
const inlineQueueLimit = sendBuffer / 4

func (p *peer) wakeWriter() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *peer) overflow() {
	p.log.Warn("send queue full, dropping peer")
	p.closeFor("send queue full")
}

// closeFor closes the connection at once, because of why: the reason the
// reader gives when it drops the peer.
func (p *peer) closeFor(why string) { p.closeWith(nil, why) }

// closedFor is why this end closed the connection, or "" if it did not
// (or not yet).
func (p *peer) closedFor() string {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	return p.why
}

// pingAfter is how long the pinger of a connection waits, having heard
// nothing or sent nothing, before it Pings; the Pong comes back at once.
// Checked on the ticks of the maintenance loop, HeartbeatInterval apart,
// it makes an idle connection carry a Ping and its Pong every
// beatTicks ticks: pingAfter is half an interval short of that, so that
// jitter of less than half an interval does not move a Ping to the tick
// before or after.
func (c *Config) pingAfter() time.Duration {
	return c.pingEvery() - c.HeartbeatInterval/2
}

// pingEvery is how far apart the pinger's Pings are on an idle connection:
// beatTicks ticks (2 s with the defaults). The handshake tells it to the
// other end (the heartbeat field of Hello, Join and their acks).
func (c *Config) pingEvery() time.Duration {
	return time.Duration(c.beatTicks()) * c.HeartbeatInterval
}

// pings reports whether this node is a pinger of its connection to alias,
// whose handshake said it Pings a quiet connection every theirBeat when
// its alias is the smaller (0: it said nothing). The end with the smaller
// alias Pings; the other end relies on it only if those Pings come at
// least as often as its own would. A peer of another implementation, or
// one with slower heartbeats, is Pinged from this end too, so that a peer
// that answers Pings is never dropped for waiting to be Pinged.
func (c *Config) pings(alias string, theirBeat time.Duration) bool {
	return c.Alias < alias || theirBeat <= 0 || theirBeat > c.pingEvery()
}

// heartbeatMillis is pingEvery as the handshake's heartbeat field says it.
func (c *Config) heartbeatMillis() uint32 {
	return uint32(min(c.pingEvery().Milliseconds(), math.MaxUint32))
}

// pingAfterWhile is pingAfter, or, while the member list is changing
// (a mesh forming, members joining or leaving), two intervals (1 s with
// the defaults, against 1.75 s): then nodes are busy with handshakes, and
// one with dozens of them runs its maintenance loop, or a peer's reader,
// seconds late. Half a second of slack against the timeout dropped
// thousands of connections for silence while 200 nodes formed on 2 cores,
// each drop one more handshake; 1.5 s keeps most of them. A settled
// cluster pays nothing for it.
func (c *Config) pingAfterWhile(changing bool) time.Duration {
	if changing {
		return min(2*c.HeartbeatInterval, c.pingAfter())
	}
	return c.pingAfter()
}

// beatTicks is how many ticks apart an idle connection's heartbeats are:
// as many as fit in four fifths of the timeout, leaving at least an
// interval, so that each end hears from the other that long before the
// timeout (the slack a loaded machine's delays need). With the defaults
// (500 ms, 2.5 s): every 4 ticks, 2 s, half a second of slack; with
// DefaultLocalConfig (100 ms, 1 s): every 8 ticks, 800 ms. The timeout
// exceeds two intervals, so the result is at least 1.
func (c *Config) beatTicks() int {
	gap := min(c.HeartbeatTimeout-c.HeartbeatInterval, c.HeartbeatTimeout*4/5)
	return max(int(gap/c.HeartbeatInterval), 1)
}

// heartbeat runs on every tick of the maintenance loop (now is clock();
// changing: the member list changed lately). It sends a Ping when the
// pinger has heard nothing or sent nothing for pingAfterWhile(changing),
// or when this node's digest has not gone out for tellAfter (a
// connection busy both ways carries no heartbeat, and digests travel in
// heartbeats). The other end never needs to Ping on its own: the pinger's
// Pings keep both directions alive, and a connection busy one way gets
// Pings all the same, from the pinger's silence in the other direction.
func (p *peer) heartbeat(now int64, changing bool) {
	c := &p.m.cfg
	after := int64(c.pingAfterWhile(changing))
	if p.pinger && (now-p.heardAt.Load() >= after || now-p.sentAt.Load() >= after) ||
		now-p.toldAt.Load() >= int64(c.tellAfter()) {
		p.ping()
	}
}

// tellAfter is how long a node lets pass without its digest going to a
// peer: a GossipInterval, but never less than the heartbeats' own period
// (with half an interval for jitter), so that on an idle connection the
// Pongs tell it and the end that does not Ping never has to.
func (c *Config) tellAfter() time.Duration {
	return max(c.GossipInterval, time.Duration(c.beatTicks())*c.HeartbeatInterval) + c.HeartbeatInterval/2
}

// gossipDue reports whether the peer should get this node's whole member
// list: what it said of its list since mine last changed (at changedAt)
// differs from mine, and it got no list for a GossipInterval. A digest
// said before my list changed tells nothing: lists that were still growing
// then may be alike now. A node that keeps no digest says 0: it cannot
// tell whether its list is mine, so it gets mine once on each connection
// and once after each change, not at every interval. Only the maintenance
// loop calls it.
func (p *peer) gossipDue(mine uint64, changedAt, now int64) bool {
	theirs := p.digest.Load()
	return p.digestAt.Load() > changedAt && theirs != mine &&
		(theirs != 0 || p.listSentAt == 0 || p.listSentAt < changedAt) &&
		now-p.gossipedAt >= int64(p.m.cfg.GossipInterval)
}

// onlyMembers reports whether the queue holds nothing but Members messages.
func (p *peer) onlyMembers() bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if len(p.pongs) > 0 || p.pingDue {
		return false
	}
	for _, m := range p.queue {
		if m.Type() != wire.MsgMembers {
			return false
		}
	}
	return len(p.queue) > 0
}

// shut closes the peer once. With bye == nil the connection closes at once;
// otherwise the writer sends bye (bounded by byeTimeout) and then closes it.
func (p *peer) shut(bye wire.Message) { p.closeWith(bye, "") }

// closeWith is shut and closeFor: the first call closes, with its bye and its
// why, under one lock, so that the reason given is the first closer's.
func (p *peer) closeWith(bye wire.Message, why string) {
	p.qmu.Lock()
	if p.closed {
		p.qmu.Unlock()
		return
	}
	p.closed = true
	p.bye, p.why = bye, why
	close(p.quit)
	p.qmu.Unlock()
	if bye == nil {
		p.raw.Close()
	}
}

// startWriter starts the writer goroutine, owned by the peer's session;
// once the session stops (Join's dial runs outside it) it closes the
// connection instead, which ends the reader.
func (p *peer) startWriter() {
	if !p.m.goSession(p.sess, p.writeLoop) {
		p.raw.Close()
	}
}

func (p *peer) writeLoop() {
	defer p.raw.Close()
	var coalesce *time.Timer
	for {
		// The handshake's answer, if any, is queued first.
		p.wmu.Lock()
		ok := p.flush() && p.procs.flush(p, p.flush)
		p.wmu.Unlock()
		if !ok {
			return
		}
		select {
		case <-p.wake:
		case <-p.quit:
			p.writeBye()
			return
		}
		if p.onlyMembers() {
			// News of members is not urgent: let more of it gather, so
			// that a burst of joins costs a few merged frames.
			if coalesce == nil {
				coalesce = time.NewTimer(membersDelay)
			} else {
				coalesce.Reset(membersDelay)
			}
			select {
			case <-coalesce.C:
			case <-p.quit:
				coalesce.Stop()
				p.writeBye()
				return
			}
		}
	}
}

// writeBye writes the message shut asked for, if any, before the writer
// closes the connection.
func (p *peer) writeBye() {
	p.qmu.Lock()
	bye := p.bye
	p.qmu.Unlock()
	if bye != nil {
		p.wmu.Lock()
		defer p.wmu.Unlock()
		p.out.timeout = min(byeTimeout, p.m.cfg.HandshakeTimeout)
		if err := p.fw.WriteMessage(bye); err == nil {
			p.fw.Flush()
		}
	}
}

// flush writes everything that waits, in one go (the caller holds wmu).
// It reports false when the write failed, which closes the peer.
func (p *peer) flush() bool {
	p.qmu.Lock()
	batch, pongs, ping := p.queue, p.pongs, p.pingDue
	if len(batch) == 0 && len(pongs) == 0 && !ping {
		p.qmu.Unlock()
		return true
	}
	p.queue, p.pongs, p.pingDue = p.spare[:0], p.sparePongs[:0], false
	p.qmu.Unlock()
	err := p.write(batch, pongs, ping)
	clear(batch)
	p.spare, p.sparePongs = batch[:0], pongs[:0]
	if err != nil {
		p.writeFailed(err)
		return false
	}
	return true
}

// write sends, in one flush, the messages of batch in order (the
// handshake's answer is always first), a Pong for each seq of pongs, and a
// Ping if ping is set. The Members messages of batch are merged into as
// few frames as MaxNodes and the frame limit allow, written where the
// first one was.
func (p *peer) write(batch []wire.Message, pongs []uint64, ping bool) error {
	merged := false
	for _, msg := range batch {
		if _, ok := msg.(*wire.Members); ok {
			if !merged {
				merged = true
				if err := p.writeMembers(batch); err != nil {
					return err
				}
			}
			continue
		}
		if err := p.fw.WriteMessage(msg); err != nil {
			return err
		}
	}
	if err := p.writeHeartbeats(pongs, ping); err != nil {
		return err
	}
	if err := p.fw.Flush(); err != nil {
		return err
	}
	if ping || len(pongs) > 0 {
		p.toldAt.Store(clock())
	}
	return nil
}

// writeHeartbeats encodes a Pong for each seq of pongs and a Ping if ping
// is set, each with this node's digest (the caller holds wmu and
// flushes).
func (p *peer) writeHeartbeats(pongs []uint64, ping bool) error {
	if !ping && len(pongs) == 0 {
		return nil
	}
	digest := p.sess.members.digest.Load()
	for _, seq := range pongs {
		p.tx.pong = wire.Pong{Seq: seq, Digest: digest}
		if err := p.fw.WriteMessage(&p.tx.pong); err != nil {
			return err
		}
	}
	if ping {
		p.tx.ping = wire.Ping{Seq: p.pings.Add(1), Digest: digest}
		if err := p.fw.WriteMessage(&p.tx.ping); err != nil {
			return err
		}
	}
	return nil
}

// writeMembers writes the nodes of every Members message in msgs, each
// alias once, in frames of at most MaxNodes nodes. A lone Members message
// that fits one frame keeps its digest; a merged or split one says only
// which nodes it names (digest 0). Members messages are rare (joins, lists
// that differ), so the merge allocates.
func (p *peer) writeMembers(msgs []wire.Message) error {
	var (
		nodes  []wire.NodeInfo
		digest uint64
		count  int
		seen   = make(map[string]struct{})
	)
	for _, msg := range msgs {
		mm, ok := msg.(*wire.Members)
		if !ok {
			continue
		}
		count++
		digest = mm.Digest
		for _, n := range mm.Nodes {
			if _, dup := seen[n.Alias]; dup {
				continue
			}
			seen[n.Alias] = struct{}{}
			nodes = append(nodes, n)
		}
	}
	if count > 1 {
		digest = 0
	}
	for len(nodes) > 0 {
		k := min(len(nodes), wire.MaxNodes)
		for k > 1 && membersSize(nodes[:k]) > p.m.cfg.MaxFrameSize {
			k /= 2 // long aliases: fewer nodes per frame
		}
		frame := wire.Members{Nodes: nodes[:k]}
		if k == len(nodes) {
			frame.Digest = digest // the whole list in one frame
		}
		if err := p.fw.WriteMessage(&frame); err != nil {
			return err
		}
		nodes, digest = nodes[k:], 0
	}
	return nil
}

// membersSize bounds the frame length of a Members message of nodes.
func membersSize(nodes []wire.NodeInfo) int {
	n := 1 + 16 + 16 // type byte, map and array headers, the digest
	for i := range nodes {
		n += nodes[i].Msgsize()
	}
	return n
}

func (p *peer) writeFailed(err error) {
	if isClosedErr(err) {
		p.shut(nil)
		return
	}
	p.log.Info("write failed", "err", err)
	p.closeFor("write failed: " + err.Error())
}

// readLoop reads and handles frames until the connection fails, the peer
// leaves or breaks the protocol; then it drops the peer. A peer that sends
// nothing for HeartbeatTimeout is dropped.
func (p *peer) readLoop() {
	reason := ""    // unless the reader finds why: why this end closed, or "connection closed"
	how := dropLost // the member may come back: redial it
	defer func() {
		if reason == "" {
			reason = cmp.Or(p.closedFor(), "connection closed")
		}
		p.m.removePeer(p, reason, how)
		p.shut(nil)
		p.procs.close(p)
	}()
	for {
		if err := p.conn.SetReadDeadline(time.Now().Add(p.m.cfg.HeartbeatTimeout)); err != nil {
			return
		}
		t, body, err := p.fr.ReadFrame()
		for tries := 0; errors.Is(err, os.ErrDeadlineExceeded) && p.fr.BetweenFrames(); tries++ {
			wait, ok := p.silenceGrace(tries)
			if !ok {
				break
			}
			if err := p.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
				return
			}
			t, body, err = p.fr.ReadFrame()
		}
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
		p.heardAt.Store(clock())
		if t.Process() {
			if err := p.procs.frame(p, t, body); err != nil {
				reason, how = err.Error(), dropBroken
				p.shut(&wire.Error{Code: wire.CodeProtocol, Message: "malformed " + t.String() + " message"})
				return
			}
			continue
		}
		msg, err := p.decode(t, body)
		if err != nil {
			reason, how = err.Error(), dropBroken
			p.shut(&wire.Error{Code: wire.CodeProtocol, Message: "malformed " + t.String() + " message"})
			return
		}
		switch msg := msg.(type) {
		case *wire.Ping:
			p.heardDigest(msg.Digest)
			p.pong(msg.Seq)
		case *wire.Pong:
			p.heardDigest(msg.Digest)
		case *wire.Members:
			if msg.Digest != 0 {
				p.heardDigest(msg.Digest)
			}
			p.m.learn(p.sess, msg)
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

// silenceGrace is how much longer the reader waits, the tries-th time, for
// a peer that has sent nothing for a heartbeat timeout, and whether it
// waits at all. On a machine too busy to run this reader in time, the
// deadline may fire after the peer's frame came in, and a read past its
// deadline does not look at the socket: bytes waiting in the kernel show
// the peer alive, and the reader gets a whole timeout to read them (each
// time, it reads them or ends). Where the kernel cannot be asked, one
// short read finds a frame that is already here if the reader runs within
// recheckWait. A stopped peer sent nothing, and is dropped.
func (p *peer) silenceGrace(tries int) (time.Duration, bool) {
	if bytesWaiting(p.raw) {
		return p.m.cfg.HeartbeatTimeout, true
	}
	return recheckWait, tries == 0
}

// recheckWait bounds silenceGrace's short read: long enough for a read of
// bytes the kernel holds already, too short to matter against a heartbeat
// timeout.
const recheckWait = time.Millisecond

// decode decodes a frame's body. Pings and Pongs, all that an idle
// connection carries, go into messages the reader keeps, with no
// allocation.
func (p *peer) decode(t wire.MsgType, body []byte) (wire.Message, error) {
	var msg wire.Message
	switch t {
	case wire.MsgPing:
		p.rx.ping = wire.Ping{}
		msg = &p.rx.ping
	case wire.MsgPong:
		p.rx.pong = wire.Pong{}
		msg = &p.rx.pong
	default:
		return wire.DecodeMessage(t, body)
	}
	return msg, wire.DecodeInto(msg, body)
}

// heardDigest records what the peer said of its member list: its digest,
// or 0 in a Ping or Pong from a node that keeps none.
func (p *peer) heardDigest(d uint64) {
	p.digest.Store(d)
	p.digestAt.Store(clock())
}

// isClosedErr reports errors that only mean "the connection is gone".
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
