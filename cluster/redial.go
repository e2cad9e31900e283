package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// Redialling and anti-entropy.
//
// A node keeps a target for every member it wants a connection to but has
// none:
//
//   - a lost member: its connection closed or fell silent (not a Leave, not
//     a protocol violation). It is redialled for Config.RedialFor, or for as
//     long as this node has no peer at all, so that a node cut off from the
//     whole cluster finds it again when the link comes back.
//   - an announced member: a peer listed it in a Members message. It is
//     dialled at once (learn) and, if that fails, redialled while some peer
//     still lists it (announcedFor).
//
// Dials to a target back off exponentially, from HeartbeatInterval to
// RedialMaxInterval, with jitter. Every GossipInterval each node sends its
// whole member list to every peer, so that an announcement lost to a failed
// handshake is made again and the dial retried. A target is dropped when its
// member is connected (whoever dialled), when its time is up, or when the
// session ends.

// target is a member this node wants a connection to but has none.
type target struct {
	addr      string
	announced time.Time     // last time a peer listed it; zero: never
	lostAt    time.Time     // when its connection was lost; zero: not lost
	next      time.Time     // earliest next dial
	backoff   time.Duration // the last wait between dials
}

// maxTargets bounds the targets a node keeps.
const maxTargets = MaxNodes

// dropKind says why a member was dropped, which decides whether to redial.
type dropKind int

const (
	dropLost   dropKind = iota // connection closed or silent: redial
	dropLeft                   // it sent Leave: do not redial
	dropBroken                 // it broke the protocol: do not redial
)

// leftLocked records that alias left the cluster: for announcedFor, this
// node dials it on nobody's word (a peer may announce it before it heard of
// the Leave). If it comes back, it dials this node itself: a Join connects
// to every member its contact lists.
func (m *Manager) leftLocked(alias string) {
	delete(m.targets, alias)
	if len(m.left) < maxTargets {
		m.left[alias] = time.Now()
	}
}

// announcedFor is how long a member listed by a peer stays wanted: the peer
// lists it again every GossipInterval while it is connected to it.
func (m *Manager) announcedFor() time.Duration {
	return 3*m.cfg.GossipInterval + m.cfg.HeartbeatTimeout
}

// lostLocked records that the connection to alias at addr was lost.
func (m *Manager) lostLocked(alias, addr string) {
	t := m.targets[alias]
	if t == nil {
		if len(m.targets) >= maxTargets {
			return
		}
		t = &target{}
		m.targets[alias] = t
	}
	now := time.Now()
	t.addr, t.lostAt = addr, now
	t.backoff = m.cfg.HeartbeatInterval
	t.next = now.Add(jitter(t.backoff))
}

// announced records that a peer listed alias at addr. It reports whether a
// dial may start now: the member is not connected and no dial to it failed
// within its backoff.
func (m *Manager) announced(s *session, alias, addr string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopping {
		return false
	}
	if _, ok := m.peers[alias]; ok {
		return false
	}
	if at, ok := m.left[alias]; ok && now.Sub(at) < m.announcedFor() {
		return false
	}
	for _, p := range m.peers {
		if p.addr() == addr {
			return false // another member listens there now
		}
	}
	t := m.targets[alias]
	if t == nil {
		if len(m.targets) >= maxTargets {
			return false
		}
		t = &target{}
		m.targets[alias] = t
	}
	t.addr, t.announced = addr, now
	return !now.Before(t.next)
}

// dialFailedLocked pushes the next dial to alias back.
func (m *Manager) dialFailedLocked(alias string, err error) {
	t := m.targets[alias]
	if t == nil {
		return
	}
	if _, ok := m.peers[alias]; ok {
		return
	}
	switch {
	case errors.Is(err, errDuplicate):
		// The other side holds a connection from this node's previous
		// life; it drops it soon.
		t.backoff = m.cfg.HeartbeatInterval
	case errors.Is(err, errWrongMember):
		// Another node listens at the address now. Redialling would make
		// it list this node for a moment on every try: forget the target
		// (a peer that still lists the member there brings it back).
		delete(m.targets, alias)
		return
	case errors.Is(err, ErrAuth), errors.Is(err, ErrAliasTaken):
		// Somebody else answers there: try again only rarely.
		t.backoff = m.cfg.RedialMaxInterval
	default:
		t.backoff = min(max(2*t.backoff, m.cfg.HeartbeatInterval), m.cfg.RedialMaxInterval)
	}
	t.next = time.Now().Add(jitter(t.backoff))
}

// jitter returns d ± 20 %.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// maintain runs for the whole session: every HeartbeatInterval it redials
// the targets whose backoff has passed and beats for every peer (see
// peer.heartbeat), and every GossipInterval it sends the member list to
// every peer.
func (m *Manager) maintain(s *session) {
	defer s.wg.Done()
	tick := time.NewTicker(m.cfg.HeartbeatInterval)
	defer tick.Stop()
	nextGossip := time.Now().Add(m.cfg.GossipInterval)
	type dial struct{ alias, addr string }
	var dials []dial
	var peers []*peer
	taken := make(map[string]struct{}) // addresses of the members connected
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		dials, peers = dials[:0], peers[:0]
		var gossip *Members
		m.mu.Lock()
		if s.stopping {
			m.mu.Unlock()
			return
		}
		alone := len(m.peers) == 0
		if len(m.targets) > 0 {
			clear(taken)
			for _, p := range m.peers {
				taken[p.addr()] = struct{}{}
			}
		}
		for alias, t := range m.targets {
			_, connected := m.peers[alias]
			// Another member listens at the address now: this one is gone.
			_, replaced := taken[t.addr]
			wanted := !t.announced.IsZero() && now.Sub(t.announced) < m.announcedFor() ||
				!t.lostAt.IsZero() && (alone || now.Sub(t.lostAt) < m.cfg.RedialFor)
			if connected || replaced || !wanted {
				delete(m.targets, alias)
				continue
			}
			if m.dialing[alias] != nil || m.incoming[alias] > 0 || now.Before(t.next) {
				continue
			}
			// connect reports a failure through dialFailedLocked; until
			// then the dial in m.dialing keeps this target from a second one.
			t.next = now.Add(jitter(max(t.backoff, m.cfg.HeartbeatInterval)))
			dials = append(dials, dial{alias, t.addr})
		}
		for alias, at := range m.left {
			if now.Sub(at) >= m.announcedFor() {
				delete(m.left, alias)
			}
		}
		for _, p := range m.peers {
			peers = append(peers, p)
		}
		if !now.Before(nextGossip) {
			nextGossip = now.Add(m.cfg.GossipInterval)
			if len(m.peers) > 1 {
				// One message shared by every writer: nobody changes it.
				gossip = &Members{Nodes: make([]NodeInfo, 0, len(m.peers))}
				for _, p := range peers {
					gossip.Nodes = append(gossip.Nodes, p.info())
				}
			}
		}
		m.mu.Unlock()
		for _, d := range dials {
			m.connect(s, d.alias, d.addr)
		}
		for _, p := range peers {
			if gossip != nil {
				p.send(gossip) // written instead of this beat's Ping
			}
			p.heartbeat()
		}
		clear(peers)
	}
}

// isTimeout reports errors that mean "no answer in time".
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}
