// Package remote serves the Iridium REPL over SSH, so that `ssh -p 2244
// localhost` on a node's machine gives its prompt. Users get in with the
// node's cookie as password, or with a key listed in the data directory's
// authorized_keys. Each session gets its own REPL (and default VM) on the
// node; the node's cluster manager is shared.
//
// The server resists guessing and flooding: failed logins from one source
// address slow down (see loginThrottle), the connections open at once are
// capped, and so are the sessions open at once on one connection; a
// connection must log in within the login timeout.
package remote

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/fileread"
	"github.com/iridium-go/iridium/repl"
)

// Defaults of the limits in Config.
const (
	DefaultMaxConnections = 64
	DefaultLoginTimeout   = 10 * time.Second
)

// maxSessions is how many sessions one connection may have open at once,
// as OpenSSH's MaxSessions: each runs a REPL with its own VM, so a client
// must not open them without bound on the one connection the cap counts.
const maxSessions = 10

// maxAuthTries is how many failed attempts one connection may make before
// it is closed, as in OpenSSH. Each attempt also waits its address's login
// delay, so reconnecting gains nothing.
const maxAuthTries = 6

// preLoginRead bounds what a connection may send before it logs in. Key
// exchange and a few login attempts take a few kilobytes (a client that
// offers a dozen keys, tens), but x/crypto/ssh keeps the error of every
// failed attempt, quoting what the client sent (a method name, a user
// name) four bytes for one, until the connection ends: unbounded, 64
// strangers sending long method names held 600-700 MB of a node.
const preLoginRead = 64 << 10

// errPreLoginRead ends a connection that sent more than preLoginRead
// bytes before logging in.
var errPreLoginRead = fmt.Errorf("remote: more than %d KiB sent before logging in", preLoginRead>>10)

// loginLimitedConn is a connection whose reads fail once preLoginRead
// bytes came in before its login succeeded (loggedIn, set by the login's
// callback); after the login it reads as the connection does.
type loginLimitedConn struct {
	net.Conn
	read     atomic.Int64
	loggedIn atomic.Bool
}

func (c *loginLimitedConn) Read(b []byte) (int, error) {
	if c.loggedIn.Load() {
		return c.Conn.Read(b)
	}
	room := preLoginRead - c.read.Load()
	if room <= 0 {
		return 0, errPreLoginRead
	}
	if int64(len(b)) > room {
		b = b[:room]
	}
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// maxLoggedError bounds the error a refused login logs: x/crypto/ssh's
// lists every failed attempt, each quoting what the client sent.
const maxLoggedError = 512

// clipError is err's text as a refused login logs it (clip).
func clipError(err error) string { return clip(err.Error(), maxLoggedError) }

// The causes of the contexts the server cancels; an interrupted program's
// fault names them.
var (
	errServerClosed  = errors.New("remote: server closed")
	errLoginTimeout  = errors.New("remote: login timeout")
	errConnClosed    = errors.New("remote: connection closed")
	errClosedForRoom = errors.New("remote: connection closed for room")
	errSessionClosed = errors.New("remote: session closed")
)

// Config says where to listen and who may come in.
type Config struct {
	Addr    string     // host:port
	HostKey ssh.Signer // the server's key, which clients remember
	// AuthorizedKeysFile lists the keys allowed in (OpenSSH format). It
	// is read at every key login, as OpenSSH does, so edits take effect
	// at once. Empty or missing means no key logins; see
	// readAuthorizedKeys for a file that cannot be used.
	AuthorizedKeysFile string
	Cookie             []byte // the password
	// MaxConnections caps the connections open at once, logged in or not
	// (each ssh client is one). One more closes the oldest that has not
	// logged in yet, from the address with the most such, so that
	// connections which never log in cannot lock users out for the login
	// timeout; when every one is logged in, the new one is closed as soon
	// as it is accepted, before the SSH handshake. 0 means
	// DefaultMaxConnections.
	MaxConnections int
	// LoginTimeout is how long a connection has from being accepted to
	// being logged in, key exchange and login delays included; then it is
	// closed. 0 means DefaultLoginTimeout.
	LoginTimeout time.Duration
	// REPL is the template for every session's REPL: the process runtime and
	// cluster access. The server fills in the streams and the terminal.
	REPL   repl.Config
	Logger *slog.Logger

	// sourceOf is the source a connection's login limits count it under;
	// nil means loginSource. Tests that need two distinct sources on one
	// machine give each loopback address its own (exactIP).
	sourceOf func(net.Addr) netip.Addr
}

// Server accepts SSH connections until Close. It owns every goroutine it
// starts: the accept loop, one per connection and one per session.
type Server struct {
	cfg      Config
	ssh      *ssh.ServerConfig // without auth callbacks; see loginConfig
	throttle *loginThrottle
	ln       net.Listener
	log      *slog.Logger
	wg       sync.WaitGroup
	// ctx ends with Close (cause errServerClosed). Every login delay and
	// every session's context derive from it, so Close cuts the delays
	// short and interrupts every running program.
	ctx  context.Context
	stop context.CancelCauseFunc

	mu       sync.Mutex
	conns    map[net.Conn]*connState // accepted and not yet closed; at most cfg.MaxConnections
	accepted uint64                  // connections accepted so far: the next connState.seq
	closed   bool
	// Since conns was last below the cap: connections refused, and
	// connections closed to make room for a new one.
	refused, madeRoom int
}

// connState is what the cap needs to know of an accepted connection.
type connState struct {
	seq      uint64     // the order of acceptance: the oldest has the smallest
	ip       netip.Addr // where it comes from
	loggedIn bool       // logged in: never closed to make room

	// login ends the login's waits (the throttle's delays, which no
	// socket read is part of) when the connection is closed for room or
	// forgotten, so that a connection closed while it waits does not keep
	// its goroutine until its login timeout.
	login    context.Context
	endLogin context.CancelCauseFunc
}

// Listen loads or creates the host key and starts serving.
func Listen(cfg Config) (*Server, error) {
	if len(cfg.Cookie) == 0 {
		return nil, errors.New("remote: a cookie is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	if cfg.HostKey == nil {
		return nil, errors.New("remote: a host key is required")
	}
	if cfg.sourceOf == nil {
		cfg.sourceOf = loginSource
	}
	s := &Server{
		cfg:      cfg,
		ssh:      &ssh.ServerConfig{MaxAuthTries: maxAuthTries},
		throttle: newLoginThrottle(cfg.Logger),
		log:      cfg.Logger,
		conns:    map[net.Conn]*connState{},
	}
	s.ssh.AddHostKey(cfg.HostKey)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("remote access: %w", err)
	}
	s.ln = ln
	s.ctx, s.stop = context.WithCancelCause(context.Background())
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, interrupts every session's program, ends every
// session and waits for their goroutines. It waits on no running program:
// cancelling ctx stops them all.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stop(errServerClosed)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return // closed
			}
			s.log.Warn("remote accept", "err", err)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		login, evicted, n := s.admit(c)
		if evicted != nil {
			evicted.Close() // its serveConn sees the handshake fail, and returns
			if n == 1 {
				s.log.Warn("remote connection limit reached, closing the oldest connections not logged in", "limit", s.cfg.MaxConnections, "peer", evicted.RemoteAddr())
			} else {
				s.log.Debug("remote connection closed for room", "limit", s.cfg.MaxConnections, "peer", evicted.RemoteAddr())
			}
		}
		if login != nil {
			s.wg.Add(1)
			go s.serveConn(c, login)
			continue
		}
		c.Close()
		switch n {
		case 0: // closed
			return
		case 1:
			s.log.Warn("remote connection limit reached, refusing connections", "limit", s.cfg.MaxConnections, "peer", c.RemoteAddr())
		default:
			s.log.Debug("remote connection refused", "limit", s.cfg.MaxConnections, "peer", c.RemoteAddr())
		}
	}
}

// admit records a new connection, so that Close can end it and the cap
// counts it until it is closed, and returns the context of its login (nil
// if refused). It refuses the connection once the server is closed (n is
// then 0). When MaxConnections are open, it makes room by forgetting a
// connection not logged in (roomFrom says which), whose login it ends and
// which the caller closes (evicted), or refuses c if every one is logged
// in. n then counts the connections closed for room, or refused, since
// the server was last below its cap, so that the first of a run can be
// logged loudly and the rest quietly.
func (s *Server) admit(c net.Conn) (login context.Context, evicted net.Conn, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, 0
	}
	if len(s.conns) >= s.cfg.MaxConnections {
		evicted = s.roomFrom()
		if evicted == nil {
			s.refused++
			return nil, nil, s.refused
		}
		s.conns[evicted].endLogin(errClosedForRoom)
		delete(s.conns, evicted)
		s.madeRoom++
		n = s.madeRoom
	}
	s.accepted++
	st := &connState{seq: s.accepted, ip: s.cfg.sourceOf(c.RemoteAddr())}
	st.login, st.endLogin = context.WithCancelCause(s.ctx)
	s.conns[c] = st
	return st.login, evicted, n
}

// roomFrom returns the connection to close for room (s.mu held): of the
// connections not logged in, the oldest from the address that has the
// most of them, so that a flood from one address closes its own
// connections before anyone else's login under way; nil if every
// connection is logged in.
func (s *Server) roomFrom() net.Conn {
	waiting := map[netip.Addr]int{}
	for _, st := range s.conns {
		if !st.loggedIn {
			waiting[st.ip]++
		}
	}
	var pick net.Conn
	var picked *connState
	for c, st := range s.conns {
		if st.loggedIn {
			continue
		}
		if picked == nil || waiting[st.ip] > waiting[picked.ip] ||
			waiting[st.ip] == waiting[picked.ip] && st.seq < picked.seq {
			pick, picked = c, st
		}
	}
	return pick
}

// loggedIn marks c logged in, so that it is never closed to make room,
// unless it was closed for room already (its login then fails).
func (s *Server) loggedIn(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.conns[c]; ok {
		st.loggedIn = true
	}
}

// untrack forgets a closed connection, freeing its place under the cap.
func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	if st, ok := s.conns[c]; ok {
		st.endLogin(errConnClosed)
		delete(s.conns, c)
	}
	refused, madeRoom := 0, 0
	if len(s.conns) < s.cfg.MaxConnections {
		refused, madeRoom = s.refused, s.madeRoom
		s.refused, s.madeRoom = 0, 0
	}
	s.mu.Unlock()
	if refused > 0 || madeRoom > 0 {
		s.log.Info("remote connections below the limit again", "limit", s.cfg.MaxConnections,
			"refused", refused, "closed_for_room", madeRoom)
	}
}

func (s *Server) serveConn(c net.Conn, login context.Context) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	// Everything up to the login must end by the deadline: the socket's
	// deadline ends key exchange and reads of login attempts, loginCtx
	// ends the login delays, which do not touch the socket. So a client
	// that is silent, slow or held back cannot keep its place under the
	// cap longer.
	deadline := time.Now().Add(s.cfg.LoginTimeout)
	c.SetDeadline(deadline)
	loginCtx, cancelLogin := context.WithDeadlineCause(login, deadline, errLoginTimeout)
	ip := s.cfg.sourceOf(c.RemoteAddr())
	limited := &loginLimitedConn{Conn: c}
	conn, chans, reqs, err := ssh.NewServerConn(limited, s.loginConfig(loginCtx, limited, ip))
	cancelLogin() // the login checks, loginCtx's only users, are over
	if err != nil {
		if limited.read.Load() >= preLoginRead { // a client an operator may need to hear of: it got no message
			s.log.Warn("remote connection closed: it sent more than 64 KiB before logging in", "peer", c.RemoteAddr())
			return
		}
		s.log.Info("remote login refused", "peer", c.RemoteAddr(), "err", clipError(err))
		return
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	s.throttle.forget(ip)
	s.log.Info("remote login", "peer", c.RemoteAddr(), "user", conn.User())
	defer s.log.Info("remote logout", "peer", c.RemoteAddr(), "user", conn.User())
	s.wg.Add(1)
	go func() { // ends when the connection closes
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	// The connection's sessions live no longer than the connection, nor
	// than the server.
	ctx, cancel := context.WithCancelCause(s.ctx)
	var sessions sync.WaitGroup
	open := make(chan struct{}, maxSessions) // a token per open session
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		select {
		case open <- struct{}{}:
		default:
			nc.Reject(ssh.ResourceShortage, fmt.Sprintf("at most %d sessions per connection", maxSessions))
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			<-open
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			defer func() { <-open }()
			s.serveSession(ctx, ch, requests)
		}()
	}
	// chans closes when the connection ends, whoever ended it: stop the
	// sessions' programs, then wait for their REPLs, which return promptly
	// once interrupted.
	cancel(errConnClosed)
	sessions.Wait()
}

// loginConfig is the SSH configuration for connection c from ip: each
// password or key it offers is checked through the login throttle, whose
// waits end with ctx. A login that succeeds marks c logged in at once,
// before the client hears of it (a key's signature checked too), so that
// a connection the client opens next cannot take c's place under the cap,
// and lifts c's bound on what it reads.
func (s *Server) loginConfig(ctx context.Context, c *loginLimitedConn, ip netip.Addr) *ssh.ServerConfig {
	conf := *s.ssh
	conf.AuthLogCallback = func(_ ssh.ConnMetadata, _ string, err error) {
		if err == nil {
			c.loggedIn.Store(true)
			s.loggedIn(c.Conn)
		}
	}
	conf.PasswordCallback = func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
		return nil, s.throttle.check(ctx, ip, func() error {
			if subtle.ConstantTimeCompare(password, s.cfg.Cookie) == 1 {
				return nil
			}
			return fmt.Errorf("wrong password for %q", meta.User())
		})
	}
	conf.PublicKeyCallback = func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		return nil, s.throttle.check(ctx, ip, func() error {
			authorized, err := readAuthorizedKeys(s.cfg.AuthorizedKeysFile)
			if err != nil {
				s.log.Warn("remote key logins refused until the file is fixed", "err", err)
				return err
			}
			if authorized[string(key.Marshal())] {
				return nil
			}
			return fmt.Errorf("key not authorized for %q", meta.User())
		})
	}
	return &conf
}

// maxAuthorizedKeysFile bounds the authorized_keys file: thousands of
// keys, and /dev/zero or a runaway file is refused rather than read into
// memory at every key login.
const maxAuthorizedKeysFile = 4 << 20

// readAuthorizedKeys reads an OpenSSH authorized_keys file: one key a
// line, blank lines and lines starting with '#' skipped. A missing file
// (or none configured) authorizes no keys. A file that cannot be read, or
// has a line that is not a plain key, is an error, and then no key gets
// in: skipping a bad line, as OpenSSH does, would keep quiet about a key
// that never works, and key options (from=, command=, restrict, ...) are
// restrictions this server cannot enforce, so a key that carries them
// must not get in without them.
func readAuthorizedKeys(path string) (map[string]bool, error) {
	keys := map[string]bool{}
	if path == "" {
		return keys, nil
	}
	data, err := fileread.Read(context.Background(), path, maxAuthorizedKeysFile, true)
	if errors.Is(err, fs.ErrNotExist) {
		return keys, nil
	}
	if errors.Is(err, fileread.ErrTooLarge) {
		err = fmt.Errorf("%s is larger than %d MiB", path, maxAuthorizedKeysFile>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("authorized keys %s, line %d: not a public key", path, i+1)
		}
		if len(options) > 0 {
			return nil, fmt.Errorf("authorized keys %s, line %d: key options (%s) are not supported", path, i+1, clipOptions(strings.Join(options, ",")))
		}
		keys[string(key.Marshal())] = true
	}
	return keys, nil
}

// clipOptions is a key's options as an error quotes them (clip): a
// command= may be as long as the line.
func clipOptions(s string) string { return clip(s, maxQuotedOptions) }

// clip is s, or its first max bytes, cut at a character, then how long it
// was.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

const maxQuotedOptions = 60
