package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Errors returned by the Manager.
var (
	// ErrShutdown: the Manager was shut down and cannot be used again.
	ErrShutdown = errors.New("cluster: manager is shut down")
	// ErrNotListening: the node left the cluster (or never started) while
	// the operation was under way.
	ErrNotListening = errors.New("cluster: node is not listening")
	// ErrAliasTaken: another node holds the alias.
	ErrAliasTaken = errors.New("cluster: alias is taken")
	// ErrAuth: the other node's proof is wrong (a different cookie).
	ErrAuth = errors.New("cluster: authentication failed")
)

// errDuplicate: the connection lost the tie-break against another connection
// between the same pair of nodes.
var errDuplicate = errors.New("cluster: duplicate connection")

// Texts of the Error frames a node sends. The first four are recognised by
// the connecting side (see RemoteError.Is); they are part of the protocol.
const (
	textBadProof    = "authentication failed: wrong proof (is the cookie the same?)"
	textAliasTaken  = "alias taken"
	textDuplicate   = "duplicate connection"
	textNotMember   = "node is leaving"
	textMissingName = "missing alias"
)

// RemoteError is the message of the Error frame another node sent before it
// closed the connection.
type RemoteError struct {
	Addr    string // the other node's address
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("cluster: %s refused: %s", e.Addr, e.Message)
}

// Is makes errors.Is(err, ErrAuth) and errors.Is(err, ErrAliasTaken) work on
// the acceptor's answer.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrAuth:
		return hasPrefix(e.Message, textBadProof)
	case ErrAliasTaken:
		return hasPrefix(e.Message, textAliasTaken)
	case errDuplicate:
		return hasPrefix(e.Message, textDuplicate)
	}
	return false
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// Member is one node of the cluster as this node sees it.
type Member struct {
	Alias string
	IP    string // the IP this node sees the member at
	Port  int    // the member's listening port, never an ephemeral one
	Self  bool   // this node
}

// Addr returns "IP:PORT" ("[IP]:PORT" for IPv6).
func (m Member) Addr() string { return net.JoinHostPort(m.IP, strconv.Itoa(m.Port)) }

// String is the member as !cluster_members prints it: "ALIAS IP:PORT",
// with " (self)" after this node.
func (m Member) String() string {
	s := m.Alias + " " + m.Addr()
	if m.Self {
		s += " (self)"
	}
	return s
}

// Changes returns a channel that is closed the next time the member list
// changes; call it again for the change after that. Take the channel
// before reading Members, or a change in between goes unnoticed.
func (m *Manager) Changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// IsTemporary reports whether a failed Join may succeed if tried again:
// the contact was unreachable, not ready or busy, rather than refusing
// this node (wrong cookie, alias taken) or this manager being shut down.
func IsTemporary(err error) bool {
	return !errors.Is(err, ErrAuth) && !errors.Is(err, ErrAliasTaken) && !errors.Is(err, ErrShutdown)
}

// Manager is one node's membership in a full-mesh cluster: it listens for
// other nodes, joins clusters, keeps one TCP connection to every other member
// and drops members that leave, close their connection or fall silent.
// All its methods are safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	sessions sync.WaitGroup // one count per session not yet fully stopped

	mu       sync.Mutex
	sess     *session // nil when not listening
	shutdown bool
	port     int    // announced listening port: cfg.Port until bound
	selfIP   string // the IP this node announces for itself
	peers    map[string]*peer
	dialing  map[string]*dialAttempt
	incoming map[string]int       // aliases with an incoming handshake under way
	targets  map[string]*target   // members wanted but not connected (redial.go)
	left     map[string]time.Time // members that sent Leave lately (redial.go)
	changed  chan struct{}        // closed and replaced whenever peers changes

	// dialContext opens outgoing connections; tests replace it.
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// onDrop, if set, is called (without the lock) for every member
	// dropped from the list; tests set it before Start.
	onDrop func(alias, reason string)
}

// session is one listening period, from Start to Leave or Shutdown. Every
// goroutine of the manager belongs to a session and is counted in its wg.
type session struct {
	ln       net.Listener
	ctx      context.Context // canceled when the session stops
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopping bool               // guarded by Manager.mu
	conns    map[net.Conn]*peer // open connections (nil: in handshake); guarded by Manager.mu
	accepts  int                // incoming handshakes under way; guarded by Manager.mu
}

// dialAttempt is an outgoing connection being made to one alias.
type dialAttempt struct {
	done chan struct{}
	err  error // set before done closes
}

// New validates cfg and returns a Manager. It does not listen yet.
func New(cfg Config) (*Manager, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Manager{
		cfg:      c,
		log:      c.Logger.With("node", c.Alias),
		port:     c.Port,
		selfIP:   c.Host,
		peers:    make(map[string]*peer),
		dialing:  make(map[string]*dialAttempt),
		incoming: make(map[string]int),
		targets:  make(map[string]*target),
		left:     make(map[string]time.Time),
		changed:  make(chan struct{}),
	}, nil
}

// Alias returns this node's alias.
func (m *Manager) Alias() string { return m.cfg.Alias }

// Start starts the listener on Config.Host and Config.Port and returns its
// address. With Port 0 the node announces the port it got. Start is
// idempotent: while listening it returns the same address. After Leave it
// listens again on the same port.
func (m *Manager) Start() (net.Addr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shutdown {
		return nil, ErrShutdown
	}
	if m.sess != nil {
		return m.sess.ln.Addr(), nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.port)))
	if err != nil && m.cfg.Port == 0 && m.port != 0 {
		// The port picked last time is gone; pick another one.
		ln, err = net.Listen("tcp", net.JoinHostPort(m.cfg.Host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: listen: %w", err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		m.port = a.Port
		if ip, ok := netip.AddrFromSlice(a.IP); ok && !ip.IsUnspecified() {
			m.selfIP = ip.Unmap().String()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{ln: ln, ctx: ctx, cancel: cancel, conns: make(map[net.Conn]*peer)}
	m.sess = s
	m.sessions.Add(1)
	s.wg.Add(2)
	go m.acceptLoop(s)
	go m.maintain(s)
	m.log.Info("listening", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// Listening reports whether the listener runs.
func (m *Manager) Listening() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess != nil
}

// Members returns every known member sorted by alias, this node included
// (Self set). Ports are listening ports.
func (m *Manager) Members() []Member {
	m.mu.Lock()
	out := make([]Member, 0, len(m.peers)+1)
	out = append(out, Member{Alias: m.cfg.Alias, IP: m.selfIP, Port: m.port, Self: true})
	for _, p := range m.peers {
		out = append(out, Member{Alias: p.alias, IP: p.ip, Port: p.port})
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Alias, b.Alias) })
	return out
}

// MemberAliases returns the aliases of every known member, this node
// included, sorted.
func (m *Manager) MemberAliases() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.peers)+1)
	out = append(out, m.cfg.Alias)
	for a := range m.peers {
		out = append(out, a)
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}

// Join joins the cluster of the node at addr ("host:port"). It starts this
// node's listener first if it is not running, makes the Hello handshake with
// addr, then connects with Join to every member addr told it about. It
// returns once this node is connected to all of them, or with an error: the
// dial error (connection refused, timeout), a *RemoteError with the other
// node's reason (wrong cookie: errors.Is(err, ErrAuth); alias taken:
// errors.Is(err, ErrAliasTaken)), or the members it could not reach. A
// contact that does not answer fails Join after HandshakeTimeout ("no answer
// after ..."); a listed member whose first dial fails for a passing reason
// is redialled, and waited for up to HandshakeTimeout. Members that were
// reached stay connected even when Join fails for another one, and the
// others are redialled while a member announces them. Without a deadline in
// ctx, Join gives up after 3 × HandshakeTimeout.
// Joining a node this one is already connected to returns nil at once.
func (m *Manager) Join(ctx context.Context, addr string) error {
	if _, err := m.Start(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("cluster: join %q: %w", addr, err)
	}
	m.mu.Lock()
	s := m.sess
	m.mu.Unlock()
	if s == nil {
		return ErrNotListening
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*m.cfg.HandshakeTimeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	start := time.Now()
	p, ack, err := m.dialRetry(ctx, s, addr, MsgHello, "")
	if err != nil {
		if errors.Is(err, errConnected) {
			return nil
		}
		if isTimeout(err) {
			err = fmt.Errorf("no answer after %v (is the node running and reachable?): %w",
				time.Since(start).Round(100*time.Millisecond), err)
		}
		return fmt.Errorf("cluster: join %s: %w", addr, ctxCause(s, err))
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		p.readLoop()
	}()

	type want struct {
		alias string
		a     *dialAttempt
	}
	var wants []want
	now := time.Now()
	for _, n := range ack.Nodes {
		naddr, ok := m.usable(n)
		if !ok {
			continue
		}
		// A target: if this first dial fails, the maintenance loop redials.
		m.announced(s, n.Alias, naddr, now)
		wants = append(wants, want{n.Alias, m.connect(s, n.Alias, naddr)})
	}
	// A member whose first dial failed for a passing reason (a handshake
	// lost to a race, a busy node) gets redialled; wait a while for it.
	wctx, wcancel := context.WithTimeout(ctx, m.cfg.HandshakeTimeout)
	defer wcancel()
	var errs []error
	for _, w := range wants {
		var first error
		if w.a != nil {
			select {
			case <-w.a.done:
			case <-ctx.Done():
				return fmt.Errorf("cluster: join %s: connecting to %s: %w", addr, w.alias, ctxCause(s, ctx.Err()))
			}
			if err := w.a.err; err != nil && !errors.Is(err, errDuplicate) && !m.connected(w.alias) {
				if !IsTemporary(err) || errors.Is(err, errWrongMember) || errors.Is(err, ErrNotListening) {
					errs = append(errs, fmt.Errorf("cluster: join %s: member %s: %w", addr, w.alias, err))
					continue
				}
				first = err
			}
		}
		if err := m.waitConnected(wctx, w.alias); err != nil {
			if first != nil && ctx.Err() == nil {
				err = first
			}
			errs = append(errs, fmt.Errorf("cluster: join %s: member %s: %w", addr, w.alias, ctxCause(s, err)))
		}
	}
	return errors.Join(errs...)
}

// ctxCause turns a cancellation caused by Leave or Shutdown into
// ErrNotListening.
func ctxCause(s *session, err error) error {
	if s.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ErrNotListening
	}
	return err
}

// Leave leaves the cluster gracefully: it sends Leave to every peer (who
// drop this node at once), closes every connection and the listener, and
// waits for the session's goroutines. The Manager stays usable: Start or
// Join listen again on the same port. Leave on a node that does not listen
// does nothing.
func (m *Manager) Leave() error {
	m.mu.Lock()
	if m.shutdown {
		m.mu.Unlock()
		return ErrShutdown
	}
	s := m.sess
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	m.stop(s, &Leave{Alias: m.cfg.Alias})
	m.log.Info("left the cluster")
	return nil
}

// Shutdown stops the node without saying goodbye: it closes the listener,
// cancels every operation, closes every connection and waits until no
// goroutine of the Manager runs. Peers see the connections close and drop
// this node. Shutdown is idempotent; the Manager cannot be used afterwards.
func (m *Manager) Shutdown() error {
	m.mu.Lock()
	m.shutdown = true
	s := m.sess
	m.mu.Unlock()
	if s != nil {
		m.stop(s, nil)
	}
	m.sessions.Wait()
	return nil
}

// stop ends session s: stop accepting (close the listener), cancel its
// context, close every connection (sending bye first where given), then wait
// for its goroutines.
func (m *Manager) stop(s *session, bye Message) {
	m.mu.Lock()
	if s.stopping {
		m.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.stopping = true
	if m.sess == s {
		m.sess = nil
	}
	var peers []*peer
	var raw []net.Conn
	for c, p := range s.conns {
		if p != nil {
			peers = append(peers, p)
		} else {
			raw = append(raw, c)
		}
	}
	for a, p := range m.peers {
		if p.sess == s {
			delete(m.peers, a)
		}
	}
	clear(m.targets)
	clear(m.left)
	m.notifyLocked()
	m.mu.Unlock()

	s.ln.Close()
	s.cancel()
	for _, c := range raw {
		c.Close()
	}
	for _, p := range peers {
		p.shut(bye)
	}
	s.wg.Wait()
	m.sessions.Done()
}

func (m *Manager) acceptLoop(s *session) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		m.serve(s, conn)
	}
}

// serve runs the acceptor's handshake on conn, then its reader, in a
// goroutine of session s.
func (m *Manager) serve(s *session, conn net.Conn) {
	if !m.trackAccept(s, conn) {
		conn.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		p := m.accept(s, conn)
		m.mu.Lock()
		s.accepts--
		m.mu.Unlock()
		if p != nil {
			p.readLoop()
		}
	}()
}

// track records a new connection of session s; false when s is stopping.
func (m *Manager) track(s *session, c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopping {
		return false
	}
	s.conns[c] = nil
	return true
}

// maxAccepts bounds the incoming handshakes under way at once: a flood of
// connections that never speak costs at most this many goroutines and
// sockets until their handshake deadline closes them; more are closed at
// once.
const maxAccepts = 1024

// trackAccept is track for an accepted connection, refused (false) when
// maxAccepts handshakes are already under way.
func (m *Manager) trackAccept(s *session, c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopping {
		return false
	}
	if s.accepts >= maxAccepts {
		m.log.Warn("too many handshakes under way, closing a new connection", "from", c.RemoteAddr().String())
		return false
	}
	s.accepts++
	s.conns[c] = nil
	return true
}

// untrack forgets and closes a connection whose handshake failed.
func (m *Manager) untrack(s *session, c net.Conn) {
	m.mu.Lock()
	delete(s.conns, c)
	m.mu.Unlock()
	c.Close()
}

func (m *Manager) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// keepNew settles two connections to the same member at the same address:
// the newer one replaces the old one when both were opened by the same node
// (that node restarted or reconnected); otherwise the one opened by the node
// with the smaller alias wins. Both ends reach the same verdict.
func (m *Manager) keepNew(old, p *peer) bool {
	return p.initiator == old.initiator || p.initiator == min(m.cfg.Alias, p.alias)
}

// register makes p the connection to its member. With ack set, the message
// it returns is queued before any other (the handshake's answer), built from
// the other members under the same lock. It returns the other peers, to be
// told about p.
func (m *Manager) register(p *peer, ack func(others []*peer) Message) ([]*peer, error) {
	m.mu.Lock()
	if p.sess.stopping {
		m.mu.Unlock()
		return nil, ErrNotListening
	}
	old := m.peers[p.alias]
	if old != nil {
		if old.ip != p.ip || old.port != p.port {
			m.mu.Unlock()
			return nil, fmt.Errorf("%w: %q is the member at %s", ErrAliasTaken, p.alias, old.addr())
		}
		if !m.keepNew(old, p) {
			m.mu.Unlock()
			return nil, errDuplicate
		}
	}
	others := make([]*peer, 0, len(m.peers))
	for a, q := range m.peers {
		if a != p.alias {
			others = append(others, q)
		}
	}
	if ack != nil {
		p.queue = append(p.queue, ack(others))
	}
	if old != nil && old.greeted.After(p.greeted) {
		p.greeted = old.greeted // the same newcomer, on a new connection
	}
	m.peers[p.alias] = p
	p.sess.conns[p.conn] = p
	delete(m.targets, p.alias)
	delete(m.left, p.alias)
	m.notifyLocked()
	m.mu.Unlock()
	if old != nil {
		old.log.Info("connection replaced", "initiator", p.initiator)
		old.shut(nil)
	} else {
		p.log.Info("member joined", "initiator", p.initiator)
	}
	return others, nil
}

// greetWindow is how long after greeting a newcomer (accepting its Hello)
// a node keeps telling it of the members it meets: as long as a Join may
// take by default (3 × HandshakeTimeout).
func (m *Manager) greetWindow() time.Duration { return 3 * m.cfg.HandshakeTimeout }

// announce tells the peers that may not know p about it: the newcomers
// this node greeted within greetWindow, p excepted. Nobody else needs to be
// told. A newcomer p greeted here got every other member in its HelloAck
// and connects to each of them itself. A member that registers p after a
// Join (or dials it) is told nothing either: p learnt of every established
// member from its own HelloAck. What remains are joins that overlap: p and
// a newcomer q that joined through different members meet when p reaches
// q's greeter, which either listed p in q's HelloAck (p was there first) or
// tells q now (q was). Announcing to every peer instead sends N² Members
// for every join and starts duplicate handshakes, as each told peer dials
// p while p dials it: with 30 processes on 2 cores, 29 nodes joining at
// once took 437 ms that way and 245 ms this way (bench/cluster.sh).
func (m *Manager) announce(others []*peer, p *peer) {
	if !p.greeted.IsZero() {
		return
	}
	var msg *Members
	now := time.Now()
	for _, q := range others {
		if q.greeted.IsZero() || now.Sub(q.greeted) > m.greetWindow() {
			continue
		}
		if msg == nil {
			msg = &Members{Nodes: []NodeInfo{p.info()}}
		}
		q.send(msg)
	}
}

// tellCluster sends p and the other members of its cluster (from p's
// HelloAck) to every peer in to, as one Members message (the writers split
// it into frames of at most MaxNodes). A node joining its first cluster
// has no peer to tell, and builds nothing.
func (m *Manager) tellCluster(to []*peer, p *peer, members []NodeInfo) {
	if len(to) == 0 {
		return
	}
	nodes := append(make([]NodeInfo, 0, 1+len(members)), p.info())
	msg := &Members{Nodes: append(nodes, members...)} // shared by every writer: nobody changes it
	for _, q := range to {
		q.send(msg)
	}
}

// removePeer drops p from the member list, if it is still the connection to
// its member. A member lost (its connection failed or fell silent, rather
// than it leaving or breaking the protocol) is redialled (redial.go).
func (m *Manager) removePeer(p *peer, reason string, how dropKind) {
	m.mu.Lock()
	removed := m.peers[p.alias] == p
	if removed {
		delete(m.peers, p.alias)
		if !p.sess.stopping {
			switch how {
			case dropLost:
				m.lostLocked(p.alias, p.addr())
			case dropLeft:
				m.leftLocked(p.alias)
			}
		}
		m.notifyLocked()
	}
	delete(p.sess.conns, p.conn)
	m.mu.Unlock()
	if removed {
		p.log.Info("member dropped", "reason", reason)
		if m.onDrop != nil {
			m.onDrop(p.alias, reason)
		}
	}
}

func (m *Manager) connected(alias string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.peers[alias]
	return ok
}

// connectedOrAccepting reports whether alias is a member or has an incoming
// handshake under way.
func (m *Manager) connectedOrAccepting(alias string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.peers[alias]
	return ok || m.incoming[alias] > 0
}

// waitConnected waits until alias is a member or ctx ends.
func (m *Manager) waitConnected(ctx context.Context, alias string) error {
	for {
		m.mu.Lock()
		_, ok := m.peers[alias]
		ch := m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("not connected: %w", ctx.Err())
		}
	}
}

// usable checks a NodeInfo heard from another node and returns its address.
func (m *Manager) usable(n NodeInfo) (string, bool) {
	if n.Alias == m.cfg.Alias || checkAlias(n.Alias) != nil || n.Port == 0 {
		return "", false
	}
	ip, err := netip.ParseAddr(n.IP)
	if err != nil || ip.IsUnspecified() {
		return "", false
	}
	return net.JoinHostPort(ip.Unmap().String(), strconv.Itoa(int(n.Port))), true
}

// learn handles a Members message: connect at once to every member not met
// yet, unless a dial to it failed lately (then the maintenance loop redials
// it when its backoff has passed, as long as some peer still announces it).
// Announcements go only to nodes that may not know the member (announce),
// so the member is most likely not dialling this node: waiting for it
// would only delay the mesh. (An earlier version waited 50 ms for a member
// with a smaller alias; that added 50 ms per hop when joins went through
// nodes that were themselves joining: BenchmarkClusterConverge N=10 57 ms
// then, 16 ms without it.)
func (m *Manager) learn(s *session, nodes []NodeInfo) {
	now := time.Now()
	for _, n := range nodes {
		addr, ok := m.usable(n)
		if !ok || !m.announced(s, n.Alias, addr, now) {
			continue
		}
		m.connect(s, n.Alias, addr)
	}
}

// connect starts a background Join to alias at addr, unless it is connected
// or connecting to this node (nil: a second connection would only lose the
// tie-break or win it and waste the first; if the incoming one fails, the
// maintenance loop redials), or being connected to (the running attempt).
func (m *Manager) connect(s *session, alias, addr string) *dialAttempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopping {
		return nil
	}
	if _, ok := m.peers[alias]; ok || m.incoming[alias] > 0 {
		return nil
	}
	if a := m.dialing[alias]; a != nil {
		return a
	}
	a := &dialAttempt{done: make(chan struct{})}
	m.dialing[alias] = a
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var (
			p   *peer
			err error
		)
		if !m.connected(alias) {
			p, _, err = m.dialRetry(s.ctx, s, addr, MsgJoin, alias)
		}
		if err != nil && !errors.Is(err, errDuplicate) && s.ctx.Err() == nil {
			m.log.Info("connect failed", "peer", alias, "addr", addr, "err", err)
		}
		m.mu.Lock()
		if m.dialing[alias] == a {
			delete(m.dialing, alias)
		}
		if err != nil && !s.stopping {
			m.dialFailedLocked(alias, err)
		}
		m.mu.Unlock()
		a.err = err
		close(a.done)
		if p != nil {
			p.readLoop()
		}
	}()
	return a
}

// dialRetry is dial, retried while the other node answers "duplicate
// connection" although this node neither has nor is accepting a connection
// from it: the other node still holds the connection of this node's previous
// life, and drops it as soon as it notices it closed.
func (m *Manager) dialRetry(ctx context.Context, s *session, addr string, kind MsgType, want string) (*peer, *HelloAck, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.HandshakeTimeout)
	defer cancel()
	backoff := 10 * time.Millisecond
	for {
		p, ack, err := m.dial(ctx, s, addr, kind, want)
		if err == nil || !errors.Is(err, errDuplicate) || (want != "" && m.connectedOrAccepting(want)) {
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
