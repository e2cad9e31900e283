package cluster

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// Dialling members, and the maintenance loop.
//
// A node dials a member it has no connection to when a peer lists it
// (Members, HelloAck) and, after losing its connection, to find it again;
// memberTable (member.go) decides when each is due. At most MaxDials
// dials are in flight: the others wait in their state until a dial
// succeeds or the next maintenance tick, and a dial that fails keeps its
// slot until that tick, so that a Members message naming thousands of
// addresses costs a bounded number of sockets and of dials a second. Nothing ever dials this
// node's own listening address.

// usable checks a NodeInfo heard from another node and returns its
// address: a valid alias other than this node's, a specified IP, a port,
// and not this node's own listening address.
func (m *Manager) usable(s *session, n wire.NodeInfo) (string, bool) {
	if n.Alias == m.cfg.Alias || CheckAlias(n.Alias) != nil || n.Port == 0 {
		return "", false
	}
	ip, err := netip.ParseAddr(n.IP)
	if err != nil || ip.IsUnspecified() {
		return "", false
	}
	ap := netip.AddrPortFrom(ip.Unmap(), n.Port)
	if s.self.is(ap) {
		return "", false
	}
	return ap.String(), true
}

// learn records the members a peer listed in msg and starts the dials
// that are due. A list that carries this node's own digest names no member
// this node lacks, and is skipped whole.
func (m *Manager) learn(s *session, msg *wire.Members) {
	if msg.Digest != 0 && msg.Digest == s.members.digest.Load() {
		return
	}
	m.heardOf(s, msg.Nodes)
}

// heardOf records that a peer listed nodes and starts the dials that became
// due. The members this node is connected to, most of any list, cost a map
// lookup each.
func (m *Manager) heardOf(s *session, nodes []wire.NodeInfo) {
	now := time.Now()
	due := false
	m.mu.Lock()
	if s.stopping {
		m.mu.Unlock()
		return
	}
	for _, n := range nodes {
		if s.members.connectedPeer(n.Alias) != nil {
			continue
		}
		if addr, ok := m.usable(s, n); ok {
			due = s.members.heard(n.Alias, addr, now) || due
		}
	}
	m.mu.Unlock()
	if due {
		m.startDials(s)
	}
}

// startDials starts a dial to every member that is due, within MaxDials.
func (m *Manager) startDials(s *session) {
	m.mu.Lock()
	if s.stopping {
		m.mu.Unlock()
		return
	}
	due := s.members.dueDials(time.Now(), nil)
	type dial struct{ alias, addr string }
	dials := make([]dial, len(due))
	for i, mb := range due {
		dials[i] = dial{mb.alias, mb.addr}
	}
	s.wg.Add(len(dials))
	m.mu.Unlock()
	for _, d := range dials {
		go m.dialMember(s, d.alias, d.addr)
	}
}

// dialMember makes the Join handshake with alias at addr, reports the end
// to the member table, starts the dial that may wait for its slot, and on
// success reads the connection until it ends.
func (m *Manager) dialMember(s *session, alias, addr string) {
	defer s.wg.Done()
	p, _, err := m.dialRetry(s.ctx, s, addr, wire.MsgJoin, alias)
	if err != nil && !errors.Is(err, errDuplicate) && s.ctx.Err() == nil {
		m.log.Info("connect failed", "peer", alias, "addr", addr, "err", err)
	}
	m.mu.Lock()
	if s.members.dialEnded(alias, err, time.Now()) {
		m.notifyLocked() // Join waits for the outcome
	}
	m.mu.Unlock()
	m.startDials(s)
	if p != nil {
		p.readLoop()
	}
}

// dialRetry is dial, retried while the other node answers "duplicate
// connection" although this node has no connection to it: the other node
// still holds the connection of this node's previous life, and drops it as
// soon as it notices it closed.
func (m *Manager) dialRetry(ctx context.Context, s *session, addr string, kind wire.MsgType, want string) (*peer, *wire.HelloAck, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.HandshakeTimeout)
	defer cancel()
	backoff := 10 * time.Millisecond
	for {
		p, ack, err := m.dial(ctx, s, addr, kind, want)
		if err == nil || !errors.Is(err, errDuplicate) || (want != "" && m.connected(want)) {
			return p, ack, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

// maintain runs for the whole session: every HeartbeatInterval it forgets
// the members nobody wants, starts the dials that are due, lets every peer
// ask for a Ping if it needs one (peer.heartbeat) and sends the member list
// to the peers whose digest differs from this node's (anti-entropy: a
// member missed by a handshake that died at the wrong moment is announced
// again). Lists go out only once this node's own list has settled, to
// peers that said their digest since: while members join, lists differ
// everywhere for a moment, and the joins themselves tell everybody what
// they need to know.
func (m *Manager) maintain(s *session) {
	defer s.wg.Done()
	// Tick on the multiples of the interval since the Unix epoch, as every
	// other node does, so that the Pings of a cluster go out together and
	// each node wakes up for a burst of them rather than once per Ping:
	// with ticks at random points, an idle cluster of 100 processes on one
	// 2-core machine used a third more CPU (55 % of a core against 40 %).
	// With the heartbeats written here rather than by each connection's
	// writer (peer.tryHeartbeat), an idle 100-process cluster used 15 % of a
	// core against 25 % with ticks at random points. A burst is small
	// against the slack the heartbeats leave (beatTicks): 200 idle nodes
	// beating together on 2 cores take about 0.15 s of the 0.5 s.
	select {
	case <-s.ctx.Done():
		return
	case <-time.After(untilMultiple(time.Now(), m.cfg.HeartbeatInterval)):
	}
	tick := time.NewTicker(m.cfg.HeartbeatInterval)
	defer tick.Stop()
	var peers, differ []*peer
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		m.mu.Lock()
		if s.stopping {
			m.mu.Unlock()
			return
		}
		s.members.expire(time.Now())
		peers = s.members.peers(peers[:0])
		settled, changedAt := s.members.settled(time.Now()), clockOf(s.members.changed)
		m.mu.Unlock()
		m.startDials(s)
		now, mine := clock(), s.members.digest.Load()
		for _, p := range peers {
			p.heartbeat(now, !settled)
			if settled && p.gossipDue(mine, changedAt, now) {
				differ = append(differ, p)
			}
		}
		if len(differ) > 0 {
			m.gossip(s, differ, now)
		}
		clear(peers)
		clear(differ)
		differ = differ[:0]
	}
}

// gossip sends this node's whole member list, with its digest, to every
// peer in to. Only the maintenance loop calls it.
func (m *Manager) gossip(s *session, to []*peer, now int64) {
	m.mu.Lock()
	peers := s.members.peers(nil)
	// One message shared by every writer: nobody changes it.
	msg := &wire.Members{Nodes: make([]wire.NodeInfo, len(peers)), Digest: s.members.digest.Load()}
	m.mu.Unlock()
	for i, p := range peers {
		msg.Nodes[i] = p.info()
	}
	for _, p := range to {
		p.gossipedAt, p.listSentAt = now, now
		p.send(msg)
	}
}

// untilMultiple is how long after now the next multiple of d since the
// Unix epoch comes.
func untilMultiple(now time.Time, d time.Duration) time.Duration {
	return d - time.Duration(now.UnixNano()%int64(d))
}

// isTimeout reports errors that mean "no answer in time".
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// addrString is "IP:PORT" of ip and port.
func addrString(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }
