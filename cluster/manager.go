package cluster

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// Errors returned by the Manager.
var (
	// ErrShutdown: the Manager was shut down and cannot be used again.
	ErrShutdown = errors.New("cluster: manager is shut down")
	// ErrNotListening: the node left the cluster (or never started) while
	// the operation was under way.
	ErrNotListening = errors.New("cluster: node is not listening")
	// ErrAliasTaken: another node holds the alias.
	ErrAliasTaken = errors.New("alias taken")
	// ErrAuth: the other node's proof is wrong (a different cookie).
	ErrAuth = errors.New("authentication failed (is the cookie the same?)")
	// ErrSelf: the address reached is this node itself.
	ErrSelf = errors.New("cannot join this node itself")
	// ErrNotNode: what answers at the address does not speak TLS: it is
	// not a node of this protocol version (another service, or a node of
	// version 1).
	ErrNotNode = errors.New("not an Iridium node: it does not answer in TLS")
)

var (
	// errDuplicate: the connection lost the tie-break against another
	// connection between the same pair of nodes.
	errDuplicate = errors.New("duplicate connection")
	// errConnected: Join of an address a member already listens at.
	errConnected = errors.New("already connected to that address")
	// errWrongMember: a dial to a known member found another alias there.
	errWrongMember = errors.New("another node answers at that address")
)

func errAliasHeld(alias, addr string) error {
	return fmt.Errorf("%w: %q is the member at %s", ErrAliasTaken, alias, addr)
}

// RemoteError is the Error frame another node sent before it closed the
// connection.
type RemoteError struct {
	Addr    string // the other node's address
	Message string // what people read
	code    wire.ErrorCode
}

func (e *RemoteError) Error() string { return "refused: " + e.Message }

// Is makes errors.Is work on the code of the other node's answer (never
// on its text): ErrAuth, ErrAliasTaken, ErrNotListening (it is leaving).
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.code == wire.CodeAuth
	case ErrAliasTaken:
		return e.code == wire.CodeAliasTaken
	case errDuplicate:
		return e.code == wire.CodeDuplicate
	case ErrNotListening:
		return e.code == wire.CodeRefused
	}
	return false
}

// JoinError is Join's failure to get into the cluster through its contact
// Addr at all (refused, unreachable, or this node left meanwhile); callers
// that name the address themselves print Err alone.
type JoinError struct {
	Addr string
	Err  error
}

func (e *JoinError) Error() string { return "cluster: join " + e.Addr + ": " + e.Err.Error() }

func (e *JoinError) Unwrap() error { return e.Err }

// noAnswerError is Join's error when its contact did not answer in time.
// Its text is the advice alone: the cause is a deadline, whose own text
// ("context deadline exceeded") would only say it again; errors.Is still
// finds it.
type noAnswerError struct {
	after time.Duration
	cause error
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("no answer after %v (is the node running and reachable?)", e.after)
}

func (e *noAnswerError) Unwrap() error { return e.cause }

// NotConnectedError is Join's error when the node got into the cluster
// through its contact but members the contact listed did not connect
// within the handshake timeout (a member stopped, or a crowded machine):
// the node is a member, and keeps dialling those in the background.
type NotConnectedError struct {
	Addr    string   // the contact
	Members []string // the aliases not connected yet
	Err     error    // why, one error per member
}

func (e *NotConnectedError) Error() string { return e.Err.Error() }

func (e *NotConnectedError) Unwrap() error { return e.Err }

// errLeftWhileJoining is a JoinError's Err when Leave, called elsewhere
// (another REPL session of this node), stopped the session Join was
// joining in. It is ErrNotListening for errors.Is.
var errLeftWhileJoining error = leftWhileJoining{}

type leftWhileJoining struct{}

func (leftWhileJoining) Error() string        { return "left the cluster while joining" }
func (leftWhileJoining) Is(target error) bool { return target == ErrNotListening }

// Member is one node of the cluster as this node sees it.
type Member struct {
	Alias string
	IP    string // the IP this node sees the member at
	Port  int    // the member's listening port, never an ephemeral one
	Self  bool   // this node
	// Dropped counts the messages (SEND) to the member's processes that
	// its connection's queue had no room for, since it was made: SEND
	// never blocks, so a sender that outruns the network loses those.
	Dropped uint64
}

// Addr returns "IP:PORT" ("[IP]:PORT" for IPv6).
func (m Member) Addr() string { return string(m.appendAddr(nil)) }

func (m Member) appendAddr(b []byte) []byte {
	if strings.IndexByte(m.IP, ':') >= 0 { // as net.JoinHostPort does
		b = append(b, '[')
		b = append(b, m.IP...)
		b = append(b, ']')
	} else {
		b = append(b, m.IP...)
	}
	b = append(b, ':')
	return strconv.AppendInt(b, int64(m.Port), 10)
}

// String is the member as !cluster_members prints it: "ALIAS IP:PORT",
// with " (self)" after this node.
func (m Member) String() string { return string(m.AppendTo(nil)) }

// AppendTo appends the member as String returns it, so that a list of
// members is written without a string per member.
func (m Member) AppendTo(b []byte) []byte {
	b = append(b, m.Alias...)
	b = m.appendAddr(append(b, ' '))
	if m.Self {
		b = append(b, " (self)"...)
	}
	return b
}

// IsTemporary reports whether a failed Join may succeed if tried again:
// the contact was unreachable, not ready or busy, rather than refusing
// this node (wrong cookie, alias taken, this node itself), not being a
// node at all, or this manager being shut down.
func IsTemporary(err error) bool {
	return !errors.Is(err, ErrAuth) && !errors.Is(err, ErrAliasTaken) && !errors.Is(err, ErrShutdown) &&
		!errors.Is(err, ErrSelf) && !errors.Is(err, ErrNotNode)
}

// Manager is one node's membership in a full-mesh cluster: it listens for
// other nodes, joins clusters, keeps one TLS connection to every other
// member and drops members that leave, close their connection or fall
// silent. All its methods are safe for concurrent use.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	resume *resumption // both ends' TLS configurations, and session resumption

	sessions sync.WaitGroup // one count per session not yet fully stopped

	mu       sync.Mutex
	sess     *session // nil when not listening
	shutdown bool
	port     int           // announced listening port: cfg.Port until bound
	selfIP   string        // the IP this node announces for itself
	changed  chan struct{} // closed and replaced whenever the member list changes

	// joining holds a token while a Join runs: Joins run one at a time
	// (see Join).
	joining chan struct{}

	// dialContext opens outgoing connections and listen makes the
	// listener; tests and benchmarks replace them (in-memory connections
	// let one process hold more nodes than it may have descriptors).
	dialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	listen      func(network, addr string) (net.Listener, error)
	// secureHook, if set, replaces the TLS handshake of every connection:
	// the handshake fuzzer runs on plain pipes with a fixed E, so that its
	// time goes to this package's code rather than to crypto/tls.
	secureHook func(ctx context.Context, conn net.Conn, accept bool) (net.Conn, []byte, error)
	// onDrop, if set, is called (without the lock) for every member
	// dropped from the list; tests set it before Start.
	onDrop func(alias, reason string)

	proc procState // process traffic (procs.go)

	// losing counts, by alias, the losses of a connection that register,
	// removePeer or stop decided on and have not yet told the process
	// handler (MemberLost); lossTold is signalled, on mu, as each is told.
	// register returns, and so the member's new connection starts reading,
	// only once its alias has none: a MemberLost meant for an older
	// connection, of this session or of one stopping, never comes after
	// the new one served a frame (it would kill what that frame started).
	losing   map[string]int
	lossTold sync.Cond
}

// session is one listening period, from Start to Leave or Shutdown. Every
// goroutine of the manager belongs to a session and is counted in its wg;
// every field but ln, ctx, cancel and self is guarded by Manager.mu.
type session struct {
	ln     net.Listener
	ctx    context.Context // canceled when the session stops
	cancel context.CancelFunc
	wg     sync.WaitGroup
	self   selfAddrs

	stopping   bool
	members    *memberTable
	conns      map[net.Conn]*peer // every open connection, by its TCP conn: nil while in handshake
	handshakes handshakes         // accepted connections not yet authenticated
}

// handshakes are the accepted connections not yet authenticated, in two
// stages, each oldest first. When there are too many, one is closed to
// make room (add): the oldest of those still in their TLS handshake, else
// the oldest of the others; but once more than half the places are past
// TLS, the oldest of those. A connection that has made its TLS handshake
// has cost its peer a key exchange, and a real connector that has got
// this far answers the Challenge within milliseconds, so a flood of bare
// connects, which costs the flooder nothing, closes its own connections
// first instead of the handshakes under way among them. The half keeps
// the other flood, strangers that finish TLS and wait, from making every
// bare connect close a real connector still in its TLS handshake: such a
// connector still outlasts half the limit's worth of newer connections.
type handshakes struct {
	opening list.List // of *handshake: TLS handshake under way
	secured list.List // of *handshake: TLS done, Hello or Join not yet checked

	// Strangers decide how often connections are closed for room, so the
	// log warns of it at most once per evictionWarnEvery, and says how
	// many more were (at info level) once there is room again.
	warned   time.Time
	unwarned int // closed for room since warned
}

// evictions is what add asks its caller to log: a warning that
// connections are being closed for room, or the count of those closed
// since, once there was room again; each with how many.
type evictions struct{ warn, since int }

// evictionWarnEvery is the least time between two warnings of connections
// closed for room.
const evictionWarnEvery = time.Minute

// handshake is one accepted connection in handshakes.
type handshake struct {
	conn    net.Conn
	el      *list.Element // its place in opening or secured; nil once it left both
	secured bool
}

func (hs *handshakes) len() int { return hs.opening.Len() + hs.secured.Len() }

// add records conn, making room first when limit connections are
// already recorded: it returns the connection taken out for room, which
// the caller closes, and what to log of it.
func (hs *handshakes) add(conn net.Conn, limit int, now time.Time) (h *handshake, evicted net.Conn, report evictions) {
	if hs.len() < limit && hs.unwarned > 0 {
		report.since, hs.unwarned = hs.unwarned, 0
	}
	if hs.len() >= limit {
		from := &hs.opening
		if from.Len() == 0 || hs.secured.Len() > limit/2 {
			from = &hs.secured
		}
		victim := from.Remove(from.Front()).(*handshake)
		victim.el = nil
		evicted = victim.conn
		hs.unwarned++
		if now.Sub(hs.warned) >= evictionWarnEvery {
			report.warn, hs.unwarned, hs.warned = hs.unwarned, 0, now
		}
	}
	h = &handshake{conn: conn}
	h.el = hs.opening.PushBack(h)
	return h, evicted, report
}

// secure moves h to the second stage, unless it was closed for room.
func (hs *handshakes) secure(h *handshake) {
	if h.el == nil || h.secured {
		return
	}
	hs.opening.Remove(h.el)
	h.el, h.secured = hs.secured.PushBack(h), true
}

// done forgets h: its handshake ended, whichever way.
func (hs *handshakes) done(h *handshake) {
	if h.el == nil {
		return
	}
	if h.secured {
		hs.secured.Remove(h.el)
	} else {
		hs.opening.Remove(h.el)
	}
	h.el = nil
}

// selfAddrs recognises this node's own listening address in what others
// announce, so that it never dials itself.
type selfAddrs struct {
	port   uint16
	ip     netip.Addr   // the listen IP; unspecified: every local address
	locals []netip.Addr // with an unspecified listen IP: the machine's addresses
}

func (s selfAddrs) is(ap netip.AddrPort) bool {
	if ap.Port() != s.port {
		return false
	}
	ip := ap.Addr().Unmap()
	if !s.ip.IsUnspecified() {
		return ip == s.ip
	}
	return ip.IsLoopback() || slices.Contains(s.locals, ip)
}

// noKeepAliveListen accepts connections without TCP keep-alives (see
// noKeepAliveDialer).
var noKeepAliveListen = net.ListenConfig{KeepAlive: -1}

// New validates cfg and returns a Manager. It does not listen yet.
func New(cfg Config) (*Manager, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cert := c.Certificate
	if cert == nil {
		made, _, _, err := NewCertificate(c.Alias)
		if err != nil {
			return nil, fmt.Errorf("cluster: certificate: %w", err)
		}
		cert = &made
	}
	m := &Manager{
		cfg:     c,
		log:     c.Logger.With("node", c.Alias),
		port:    c.Port,
		selfIP:  c.Host,
		changed: make(chan struct{}),
		joining: make(chan struct{}, 1),
	}
	m.resume = newResumption(tlsConfigs(*cert))
	m.losing = make(map[string]int)
	m.lossTold.L = &m.mu
	return m, nil
}

// Alias returns this node's alias.
func (m *Manager) Alias() string { return m.cfg.Alias }

// Start starts the listener on Config.Host and Config.Port and returns the
// address the node announces (addrLocked). With Port 0 the node announces
// the port it got. Start is
// idempotent: while listening it returns the same address. After Leave it
// listens again on the same port.
func (m *Manager) Start() (net.Addr, error) {
	m.mu.Lock()
	if m.shutdown {
		m.mu.Unlock()
		return nil, ErrShutdown
	}
	if m.sess != nil {
		addr := m.addrLocked()
		m.mu.Unlock()
		return addr, nil
	}
	port := m.port
	m.mu.Unlock()

	// Listen without the lock: binding may take a while, and another
	// Start at the same time is settled below.
	listen := m.listen
	if listen == nil {
		listen = func(network, addr string) (net.Listener, error) {
			return noKeepAliveListen.Listen(context.Background(), network, addr)
		}
	}
	ln, err := listen("tcp", net.JoinHostPort(m.cfg.Host, strconv.Itoa(port)))
	if err != nil && m.cfg.Port == 0 && port != 0 {
		// The port picked last time is gone; pick another one.
		ln, err = listen("tcp", net.JoinHostPort(m.cfg.Host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: listen: %w", err)
	}
	self := selfAddrs{}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
		self.ip, self.port = ap.Addr().Unmap(), ap.Port()
		if self.ip.IsUnspecified() {
			self.locals = localAddrs()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{ln: ln, ctx: ctx, cancel: cancel, self: self,
		members: newMemberTable(m.cfg, time.Now()), conns: make(map[net.Conn]*peer)}

	m.mu.Lock()
	if m.shutdown || m.sess != nil {
		var addr net.Addr
		if m.sess != nil {
			addr = m.addrLocked()
		}
		m.mu.Unlock()
		cancel()
		ln.Close()
		if addr == nil {
			return nil, ErrShutdown
		}
		return addr, nil
	}
	m.port = int(self.port)
	if !self.ip.IsUnspecified() {
		m.selfIP = self.ip.String()
	}
	m.sess = s
	m.sessions.Add(1)
	s.wg.Add(2)
	addr := m.addrLocked()
	m.mu.Unlock()
	go m.acceptLoop(s)
	go m.maintain(s)
	m.log.Info("listening", "addr", addr.String())
	return addr, nil
}

// addrLocked is the address this node announces, as its member list shows
// it: the listen IP, or the one asked for when it listens on every address
// (0.0.0.0 stays 0.0.0.0, where the listener would say [::]), and the port
// it got.
func (m *Manager) addrLocked() net.Addr {
	ip, err := netip.ParseAddr(m.selfIP)
	if err != nil {
		return &net.TCPAddr{Port: m.port}
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(m.port)))
}

// localAddrs lists the machine's interface addresses.
func localAddrs() []netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// Listening reports whether the listener runs.
func (m *Manager) Listening() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess != nil
}

// Members returns every connected member sorted by alias, this node
// included (Self set). Ports are listening ports.
func (m *Manager) Members() []Member {
	m.mu.Lock()
	var peers []*peer
	if m.sess != nil {
		peers = m.sess.members.peers(nil)
	}
	out := make([]Member, 0, len(peers)+1)
	out = append(out, Member{Alias: m.cfg.Alias, IP: m.selfIP, Port: m.port, Self: true})
	for _, p := range peers {
		out = append(out, Member{Alias: p.alias, IP: p.ip, Port: p.port, Dropped: p.procs.dropped.Load()})
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Alias, b.Alias) })
	return out
}

// MemberAliases returns the aliases of every connected member, this node
// included, sorted.
func (m *Manager) MemberAliases() []string {
	members := m.Members()
	out := make([]string, len(members))
	for i, mb := range members {
		out[i] = mb.Alias
	}
	return out
}

// Changes returns a channel that is closed the next time the member list
// changes; call it again for the change after that. Take the channel
// before reading Members, or a change in between goes unnoticed.
func (m *Manager) Changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

func (m *Manager) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
	m.proc.routes.Store(nil) // stale: rebuilt on first use
}

// Join joins the cluster of the node at addr ("host:port"). It starts this
// node's listener first if it is not running, makes the Hello handshake with
// addr, then connects with Join to every member addr told it about. It
// returns once this node is connected to all of them (all that fit addr's
// HelloAck: a list too long for one frame comes in Members frames after
// it, whose members this node connects to as it learns of them), or with
// an error: the
// dial error (connection refused, timeout), a *RemoteError with the other
// node's reason (wrong cookie: errors.Is(err, ErrAuth); alias taken:
// errors.Is(err, ErrAliasTaken)), ErrSelf for this node's own address, or
// the members it could not reach. A contact that does not answer fails
// Join after HandshakeTimeout ("no answer after ..."); a listed member
// whose first dial fails for a passing reason is redialled, and waited for
// up to HandshakeTimeout. Members that were reached stay connected even
// when Join fails for another one, and the others are redialled while a
// member announces them. Without a deadline in ctx, Join gives up after
// 3 × HandshakeTimeout. Joining a node this one is already connected to
// returns nil at once. A Leave meanwhile makes Join fail with a JoinError
// saying so (errors.Is(err, ErrNotListening)), a Shutdown with ErrShutdown.
//
// Joins of one Manager (several REPL sessions share it) run one at a
// time; a second one waits, within ctx, for the first to end. Two at once
// would open two connections from this node to one member, and the member
// keeps the newer one and closes the older, maybe before its answer went
// out, so that the first Join failed with EOF although the node joined.
func (m *Manager) Join(ctx context.Context, addr string) (err error) {
	if ctx.Err() != nil { // select below would pick at random
		return &JoinError{Addr: addr, Err: context.Cause(ctx)}
	}
	select {
	case m.joining <- struct{}{}:
		defer func() { <-m.joining }()
	case <-ctx.Done():
		return &JoinError{Addr: addr, Err: context.Cause(ctx)}
	}
	if _, err := m.Start(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("cluster: join %q: %w", addr, err)
	}
	m.mu.Lock()
	s := m.sess
	shutdown := m.shutdown
	m.mu.Unlock()
	switch {
	case shutdown:
		return ErrShutdown
	case s == nil: // stopped since Start
		return &JoinError{Addr: addr, Err: errLeftWhileJoining}
	}
	defer func() {
		// A stop after the contact was registered fails Join too.
		err = m.joinStopped(s, addr, err)
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*m.cfg.HandshakeTimeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	start := time.Now()
	p, ack, err := m.dialRetry(ctx, s, addr, wire.MsgHello, "")
	if err != nil {
		if errors.Is(err, errConnected) {
			return nil
		}
		if isTimeout(err) {
			err = &noAnswerError{after: time.Since(start).Round(100 * time.Millisecond), cause: err}
		}
		return &JoinError{Addr: addr, Err: err}
	}
	if !m.goSession(s, p.readLoop) {
		// The session stopped: its connection is closed, and this drops
		// p, handing over nothing it may still hold (stop has told, or
		// will tell, its loss).
		p.procs.retire()
		p.readLoop()
	}

	m.heardOf(s, ack.Nodes)
	var wants []string
	for _, n := range ack.Nodes {
		if _, ok := m.usable(s, n); ok {
			wants = append(wants, n.Alias)
		}
	}
	// A member whose first dial failed for a passing reason (a handshake
	// lost to a race, a busy node) gets redialled; wait a while for it.
	wctx, wcancel := context.WithTimeout(ctx, m.cfg.HandshakeTimeout)
	defer wcancel()
	nc := &NotConnectedError{Addr: addr}
	var errs []error
	for _, alias := range wants {
		if err := m.waitConnected(wctx, s, alias); err != nil {
			nc.Members = append(nc.Members, alias)
			errs = append(errs, fmt.Errorf("cluster: join %s: member %s: %w", addr, alias, err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	nc.Err = errors.Join(errs...)
	return nc
}

// waitConnected waits until alias is connected, its dial failed for good
// (another cookie, alias taken, another node there), or ctx ends; then it
// reports the last dial error, if any.
func (m *Manager) waitConnected(ctx context.Context, s *session, alias string) error {
	for {
		var (
			state memberState
			last  error
		)
		m.mu.Lock()
		mb := s.members.byAlias[alias]
		if mb != nil {
			state, last = mb.state, mb.lastErr
		}
		ch := m.changed
		m.mu.Unlock()
		if mb == nil {
			// Forgotten: a dial found another node at its address, or
			// it broke the protocol.
			return errWrongMember
		}
		if mb != nil {
			if state == stateConnected {
				return nil
			}
			if last != nil && state != stateDialing && (!IsTemporary(last) || errors.Is(last, errWrongMember)) {
				return last
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last != nil && !errors.Is(ctx.Err(), context.Canceled) {
				return last
			}
			return fmt.Errorf("not connected: %w", ctx.Err())
		}
	}
}

// joinStopped is Join's error err once session s, which it joined in, was
// stopped: whatever stopping it made fail (a connection closed under a
// read, a cancelled wait, a member forgotten) is reported as what happened
// instead, once: the node left (Leave) or shut down. s.stopping is set
// before stop closes or cancels anything, so any failure it caused sees
// it. The contact's refusal (a RemoteError) is kept: it is the contact's
// answer, which stopping cannot have caused.
func (m *Manager) joinStopped(s *session, addr string, err error) error {
	m.mu.Lock()
	stopped, shutdown := s.stopping, m.shutdown
	m.mu.Unlock()
	var (
		je *JoinError
		re *RemoteError
	)
	switch {
	case !stopped:
		return err
	case errors.As(err, &je) && errors.As(je.Err, &re):
		return err
	case shutdown:
		return ErrShutdown
	}
	return &JoinError{Addr: addr, Err: errLeftWhileJoining}
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
	m.stop(s, &wire.Leave{Alias: m.cfg.Alias})
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
// context, close every connection (sending bye first where given, for at
// most twice a bye's time), then wait for its goroutines.
func (m *Manager) stop(s *session, bye wire.Message) {
	m.mu.Lock()
	if s.stopping {
		m.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.stopping = true
	m.lossTold.Broadcast() // its registers wait no more
	if m.sess == s {
		m.sess = nil
	}
	m.resume.forget() // with s.stopping set, the session's dials keep nothing
	var peers []*peer
	var raw []net.Conn
	for c, p := range s.conns {
		if p != nil {
			peers = append(peers, p)
			m.losing[p.alias]++ // told once the session's goroutines end
		} else {
			raw = append(raw, c)
		}
	}
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
	waited := make(chan struct{})
	go func() { // ends with the session's goroutines, which stop waits for
		s.wg.Wait()
		close(waited)
	}()
	if bye != nil {
		// A writer sends the bye once the batch it is writing is out, and
		// a member that reads slowly (each write need only progress) can
		// make that take minutes: after a bye's time twice, close.
		timer := time.NewTimer(2 * min(byeTimeout, m.cfg.HandshakeTimeout))
		select {
		case <-waited:
		case <-timer.C:
			for _, p := range peers {
				p.raw.Close()
			}
		}
		timer.Stop()
	}
	<-waited
	for _, p := range peers {
		m.tellLost(p.alias, true) // a connection still in its handshake has no processes
	}
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
// goroutine of session s. When MaxPendingHandshakes connections are
// already in their handshake, one of them is closed to make room
// (handshakes.add says which): a flood of idle or slow connections then
// costs a bounded number of sockets and goroutines, and cannot keep a
// real node out, whose handshake takes milliseconds.
func (m *Manager) serve(s *session, conn net.Conn) {
	m.mu.Lock()
	if s.stopping {
		m.mu.Unlock()
		conn.Close()
		return
	}
	h, evicted, report := s.handshakes.add(conn, m.cfg.MaxPendingHandshakes, time.Now())
	s.conns[conn] = nil
	s.wg.Add(1)
	m.mu.Unlock()
	if report.since > 0 {
		m.log.Info("handshakes below the limit again", "limit", m.cfg.MaxPendingHandshakes,
			"closed_for_room_since_warning", report.since)
	}
	if evicted != nil {
		evicted.Close()
		if report.warn > 0 {
			m.log.Warn("too many handshakes under way: closed connections that had not authenticated",
				"limit", m.cfg.MaxPendingHandshakes, "closed", report.warn, "last_peer", evicted.RemoteAddr().String())
		} else {
			m.log.Debug("handshake closed for room", "peer", evicted.RemoteAddr().String())
		}
	}
	go func() {
		defer s.wg.Done()
		p := m.accept(s, conn, h)
		m.mu.Lock()
		s.handshakes.done(h) // if the handshake failed before its end
		m.mu.Unlock()
		if p != nil {
			p.readLoop()
		}
	}()
}

// track records a new outgoing connection of session s; false when s is
// stopping.
func (m *Manager) track(s *session, c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopping {
		return false
	}
	s.conns[c] = nil
	return true
}

// goSession runs f on a goroutine of session s, counted in s.wg, and
// reports true; once s is stopping, when its goroutines may all have been
// waited for, it runs nothing and reports false. Join's goroutine, which
// is not one of the session's, starts the session's work through it.
func (m *Manager) goSession(s *session, f func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopping {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// untrack forgets and closes a connection whose handshake failed.
func (m *Manager) untrack(s *session, c net.Conn) {
	m.mu.Lock()
	delete(s.conns, c)
	m.mu.Unlock()
	c.Close()
}

// keepNew settles two connections to the same member at the same address,
// alike on both ends: each knows who opened each connection, and with
// which message. The newer one replaces the old one when both were opened
// by the same node (that node restarted or reconnected). A connection
// opened by a Hello replaces one opened by a Join: a node says Hello only
// when it joins, holding no connection to this node (dial refuses to say
// it to a member), so the old connection is of the sender's earlier run,
// not yet seen to close. Otherwise the two nodes dialled each other at
// once, and the one opened by the node with the smaller alias wins.
func keepNew(self string, old, p *peer) bool {
	switch {
	case p.initiator == old.initiator:
		return true
	case p.hello != old.hello:
		return p.hello
	default:
		return p.initiator == min(self, p.alias)
	}
}

// register makes p the connection to its member. With ack set, the message
// it returns is queued before any other (the handshake's answer), built from
// the other members under the same lock. It returns the other peers, to be
// told about p.
func (m *Manager) register(p *peer, ack func(others []*peer) wire.Message) ([]*peer, error) {
	s := p.sess
	m.mu.Lock()
	if s.stopping {
		m.mu.Unlock()
		return nil, ErrNotListening
	}
	old, err := s.members.connect(p, time.Now())
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	others := s.members.peers(nil)
	others = slices.DeleteFunc(others, func(q *peer) bool { return q == p })
	if ack != nil {
		p.queue = append(p.queue, ack(others))
	}
	s.conns[p.raw] = p
	if old != nil {
		m.losing[p.alias]++
	}
	m.notifyLocked()
	m.mu.Unlock()
	if old != nil {
		old.log.Info("connection replaced", "initiator", p.initiator)
		old.shut(nil)
		old.procs.retire()
		m.tellLost(old.alias, false) // frames on the old connection may be lost
	} else {
		p.log.Info("member joined", "initiator", p.initiator)
	}
	m.mu.Lock()
	// A loss being told waits for a frame in hand (retire), or for the
	// goroutines of a stopping session; a session stopping waits for this
	// one, and its connections are closed, p among them.
	for m.losing[p.alias] > 0 && !s.stopping {
		m.lossTold.Wait()
	}
	m.mu.Unlock()
	return others, nil
}

// tellLost tells the process handler of a loss of alias counted in
// m.losing, then takes it off the count.
func (m *Manager) tellLost(alias string, left bool) {
	m.lostMember(alias, left)
	m.mu.Lock()
	if m.losing[alias]--; m.losing[alias] == 0 {
		delete(m.losing, alias)
	}
	m.lossTold.Broadcast()
	m.mu.Unlock()
}

// removePeer records that p's connection ended: its member is lost
// (redialled), left or forgotten, as how says, if p was still its
// connection.
func (m *Manager) removePeer(p *peer, reason string, how dropKind) {
	s := p.sess
	m.mu.Lock()
	removed := !s.stopping && s.members.drop(p, how, time.Now())
	if removed {
		m.notifyLocked()
		m.losing[p.alias]++
	}
	delete(s.conns, p.raw)
	m.mu.Unlock()
	if removed {
		p.log.Info("member dropped", "reason", reason)
		if n := p.procs.dropped.Load(); n > 0 {
			p.log.Warn("messages dropped on the connection, its queue being full", "messages", n)
		}
		if m.onDrop != nil {
			m.onDrop(p.alias, reason)
		}
		m.tellLost(p.alias, false)
	}
}

// connected reports whether alias is a connected member.
func (m *Manager) connected(alias string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess != nil && m.sess.members.connectedPeer(alias) != nil
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
// p while p dials it (bench/README.md has the figures).
func (m *Manager) announce(others []*peer, p *peer) {
	if !p.greeted.IsZero() {
		return
	}
	var msg *wire.Members
	now := time.Now()
	for _, q := range others {
		if q.greeted.IsZero() || now.Sub(q.greeted) > m.greetWindow() {
			continue
		}
		if msg == nil {
			msg = &wire.Members{Nodes: []wire.NodeInfo{p.info()}}
		}
		q.send(msg)
	}
}

// tellCluster sends p and the other members of its cluster (from p's
// HelloAck) to every peer in to, as one Members message (the writers split
// it into frames of at most MaxNodes). A node joining its first cluster
// has no peer to tell, and builds nothing.
func (m *Manager) tellCluster(to []*peer, p *peer, members []wire.NodeInfo) {
	if len(to) == 0 {
		return
	}
	nodes := append(make([]wire.NodeInfo, 0, 1+len(members)), p.info())
	msg := &wire.Members{Nodes: append(nodes, members...)} // shared by every writer: nobody changes it
	for _, q := range to {
		q.send(msg)
	}
}
