package cluster

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// memberState is where another node stands with this one. Every member
// has exactly one state, and every change of state is a method of
// memberTable in this file; the package documentation draws the states.
type memberState uint8

const (
	// stateAnnounced: a peer listed it (Members, HelloAck); no connection,
	// no dial running. Dialled when its backoff has passed, while some
	// peer keeps listing it.
	stateAnnounced memberState = iota
	// stateDialing: this node is dialling it (a Join handshake).
	stateDialing
	// stateConnected: one authenticated connection, its peer.
	stateConnected
	// stateLost: its connection failed or fell silent. Redialled for
	// RedialFor, or for as long as this node has no peer at all.
	stateLost
	// stateLeft: it said Leave. Nobody's word makes this node dial it for
	// announcedFor (a peer may list it before hearing of the Leave); it
	// may come back by connecting itself.
	stateLeft
)

var stateNames = [...]string{"announced", "dialing", "connected", "lost", "left"}

func (s memberState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state?"
}

// member is one other node as this node knows it.
type member struct {
	alias string
	addr  string // IP:port it listens on, as announced or connected
	state memberState
	since time.Time // when it entered state

	peer *peer // its connection, in stateConnected only

	announced time.Time     // when a peer last listed it; zero: never
	lostAt    time.Time     // when its connection was lost; zero: not lost since connected
	next      time.Time     // earliest next dial (stateAnnounced, stateLost)
	backoff   time.Duration // the last wait between two dials
	lastErr   error         // why the last dial failed; nil after a success
}

// dropKind says why a connection ended, which decides the member's state.
type dropKind int

const (
	dropLost   dropKind = iota // connection closed or silent: stateLost, redialled
	dropLeft                   // it sent Leave: stateLeft
	dropBroken                 // it broke the protocol: forgotten, not redialled
)

// maxMembers bounds the members a node keeps, so that Members messages
// naming ever new aliases cannot grow the table without limit.
const maxMembers = wire.MaxNodes

// memberTable is the one place that knows each member's state: one map
// from alias to member, one per listening session (a session that ends
// takes its table with it). Its methods make the transitions; they do no I/O
// and take the time as an argument, so that a test can walk every
// transition. The Manager calls them with its mutex held and acts on what
// they return (dial, close a connection) after releasing it.
type memberTable struct {
	cfg     Config
	byAlias map[string]*member
	dials   int // member dials in flight (stateDialing, or connected meanwhile)
	// failed counts the dials that failed since the last maintenance tick
	// (expire): each keeps its slot until then, so that dials which fail
	// at once (addresses nobody listens on, which any member may list by
	// the thousand) start at most MaxDials times a tick, not as fast as the
	// kernel refuses them. A dial that succeeds frees its slot at once.
	failed int

	// digest is the member-list digest (wire.AliasHash summed over this
	// node and every connected member), kept by connect and drop, the only
	// transitions into and out of stateConnected. It is written under the
	// Manager's mutex and read without it by the peers' writers, which
	// send it in every Ping and Pong.
	digest atomic.Uint64
	// changed is when digest last changed: the list is settled once it
	// has not changed for a GossipInterval.
	changed time.Time
}

func newMemberTable(cfg Config, now time.Time) *memberTable {
	t := &memberTable{cfg: cfg, byAlias: make(map[string]*member), changed: now}
	t.digest.Store(wire.AliasHash(cfg.Alias))
	return t
}

// settled reports whether the member list has not changed for a
// GossipInterval: the joins and drops that changed it are over.
func (t *memberTable) settled(now time.Time) bool {
	return now.Sub(t.changed) >= t.cfg.GossipInterval
}

// listed adds alias to the digest (in) or takes it out.
func (t *memberTable) listed(alias string, in bool, now time.Time) {
	h := wire.AliasHash(alias)
	if !in {
		h = -h // the sum is modulo 2^64
	}
	t.digest.Add(h)
	t.changed = now
}

// announcedFor is how long a listed member stays wanted: a peer whose
// member list differs from this node's lists it again every
// GossipInterval while it is connected to it.
func (t *memberTable) announcedFor() time.Duration {
	return 3*t.cfg.GossipInterval + t.cfg.HeartbeatTimeout
}

func (t *memberTable) set(mb *member, s memberState, now time.Time) {
	mb.state, mb.since = s, now
}

// connectedPeer returns the connection to alias, or nil.
func (t *memberTable) connectedPeer(alias string) *peer {
	if mb := t.byAlias[alias]; mb != nil && mb.state == stateConnected {
		return mb.peer
	}
	return nil
}

// connectedAt reports whether a connected member listens at addr (other
// than alias, when given).
func (t *memberTable) connectedAt(addr, except string) bool {
	for _, mb := range t.byAlias {
		if mb.state == stateConnected && mb.addr == addr && mb.alias != except {
			return true
		}
	}
	return false
}

// peers returns the connections of every connected member, appended to buf.
func (t *memberTable) peers(buf []*peer) []*peer {
	for _, mb := range t.byAlias {
		if mb.state == stateConnected {
			buf = append(buf, mb.peer)
		}
	}
	return buf
}

// heard records that a peer listed alias at addr: an unknown member is
// announced and due at once; an announced or lost one stays wanted. A member
// that left lately, or whose address a connected member holds now (a new
// node on a reused port), is not wanted on this word. It reports whether
// the member is due for a dial now.
func (t *memberTable) heard(alias, addr string, now time.Time) bool {
	mb := t.byAlias[alias]
	due := false
	switch {
	case mb == nil:
		if len(t.byAlias) >= maxMembers || t.connectedAt(addr, "") {
			return false
		}
		mb = &member{alias: alias, addr: addr, next: now}
		t.byAlias[alias] = mb
		t.set(mb, stateAnnounced, now)
		due = true
	case mb.state == stateConnected || mb.state == stateDialing:
	case mb.state == stateLeft:
		if now.Sub(mb.since) < t.announcedFor() {
			return false
		}
		t.set(mb, stateAnnounced, now)
		mb.addr, mb.next, mb.lostAt = addr, now, time.Time{}
		due = true
	default: // announced, lost
		if mb.addr != addr && t.connectedAt(addr, alias) {
			return false
		}
		mb.addr = addr
		due = !now.Before(mb.next)
	}
	mb.announced = now
	return due
}

// dueDials moves the members whose next dial is due to stateDialing, as
// long as fewer than MaxDials dials are in flight or failed since the last
// tick, and returns them. The caller dials each and reports the end with
// dialEnded.
func (t *memberTable) dueDials(now time.Time, out []*member) []*member {
	for _, mb := range t.byAlias {
		if t.dials+t.failed >= t.cfg.MaxDials {
			break
		}
		if (mb.state == stateAnnounced || mb.state == stateLost) && !now.Before(mb.next) {
			t.set(mb, stateDialing, now)
			t.dials++
			out = append(out, mb)
		}
	}
	return out
}

// dialEnded records the end of a dial to alias. A failed dial puts the
// member back where it was (lost, or announced), to be tried again after a
// backoff that depends on why it failed; a success changed nothing here
// (connect did). It reports whether the member's state changed.
func (t *memberTable) dialEnded(alias string, err error, now time.Time) bool {
	t.dials--
	mb := t.byAlias[alias]
	if mb == nil || mb.state != stateDialing {
		return false // connected meanwhile (either side), or forgotten
	}
	t.failed++
	mb.lastErr = err
	switch {
	case errors.Is(err, errWrongMember):
		// Another node listens at the address now. Redialling would make
		// it see this node for a moment on every try: forget the member (a
		// peer that still lists it there brings it back).
		delete(t.byAlias, alias)
		return true
	case errors.Is(err, errDuplicate):
		// The other side holds a connection of this node's previous life
		// and drops it soon.
		mb.backoff = t.cfg.HeartbeatInterval
	case errors.Is(err, ErrAuth), errors.Is(err, ErrAliasTaken):
		// Somebody else answers there: try again only rarely.
		mb.backoff = t.cfg.RedialMaxInterval
	default:
		mb.backoff = min(max(2*mb.backoff, t.cfg.HeartbeatInterval), t.cfg.RedialMaxInterval)
	}
	mb.next = now.Add(jitter(mb.backoff))
	if mb.lostAt.IsZero() {
		t.set(mb, stateAnnounced, now)
	} else {
		t.set(mb, stateLost, now)
	}
	return true
}

// connect makes p the connection to its member, whatever state the member
// was in. A member already connected at another address keeps its alias
// (ErrAliasTaken); a second connection between the same two nodes is
// settled by keepNew, alike on both ends: the loser gets errDuplicate, and
// a winner returns the old connection for the caller to close.
func (t *memberTable) connect(p *peer, now time.Time) (old *peer, err error) {
	mb := t.byAlias[p.alias]
	if mb != nil && mb.state == stateConnected {
		old = mb.peer
		if old.addr() != p.addr() {
			return nil, errAliasHeld(p.alias, old.addr())
		}
		if !keepNew(t.cfg.Alias, old, p) {
			return nil, errDuplicate
		}
		if old.greeted.After(p.greeted) {
			p.greeted = old.greeted // the same newcomer, on a new connection
		}
	}
	if mb == nil {
		mb = &member{alias: p.alias}
		t.byAlias[p.alias] = mb
	}
	if mb.state != stateConnected {
		t.listed(p.alias, true, now)
	}
	t.set(mb, stateConnected, now)
	mb.peer, mb.addr = p, p.addr()
	mb.lostAt, mb.lastErr, mb.backoff = time.Time{}, nil, 0
	return old, nil
}

// drop records that connection p ended. It reports false when p was not
// (or no longer) its member's connection: nothing changes then.
func (t *memberTable) drop(p *peer, how dropKind, now time.Time) bool {
	mb := t.byAlias[p.alias]
	if mb == nil || mb.state != stateConnected || mb.peer != p {
		return false
	}
	mb.peer = nil
	t.listed(p.alias, false, now)
	switch how {
	case dropLost:
		t.set(mb, stateLost, now)
		mb.lostAt = now
		mb.backoff = t.cfg.HeartbeatInterval
		mb.next = now.Add(jitter(mb.backoff))
	case dropLeft:
		t.set(mb, stateLeft, now)
	default:
		delete(t.byAlias, p.alias)
	}
	return true
}

// expire forgets the members nobody wants any more: an announced one no
// peer listed for announcedFor; a lost one after RedialFor (unless this
// node has no peer at all, and no member lists it); one that left,
// announcedFor after its Leave; and any not connected whose address a
// connected member holds now.
func (t *memberTable) expire(now time.Time) {
	t.failed = 0 // a new tick: the slots of failed dials are free again
	alone := true
	var waiting []*member // not connected: each may be forgotten
	for _, mb := range t.byAlias {
		if mb.state == stateConnected {
			alone = false
		} else {
			waiting = append(waiting, mb)
		}
	}
	if len(waiting) == 0 {
		return // an idle node: one pass, nothing made
	}
	// held is the set of the connected members' addresses, made once
	// rather than a scan of the table (connectedAt) per member waiting:
	// while a cluster forms, most members are announced, and the scans
	// made every tick O(N²).
	held := make(map[string]bool, len(t.byAlias)-len(waiting))
	for _, mb := range t.byAlias {
		if mb.state == stateConnected {
			held[mb.addr] = true
		}
	}
	for _, mb := range waiting {
		listed := !mb.announced.IsZero() && now.Sub(mb.announced) < t.announcedFor()
		var forget bool
		switch mb.state {
		case stateAnnounced:
			forget = !listed || held[mb.addr]
		case stateLost:
			forget = !listed && !alone && now.Sub(mb.lostAt) >= t.cfg.RedialFor || held[mb.addr]
		case stateLeft:
			forget = now.Sub(mb.since) >= t.announcedFor()
		}
		if forget {
			delete(t.byAlias, mb.alias)
		}
	}
}

// jitter returns d ± 20 %.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}
