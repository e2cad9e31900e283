package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
)

// bound is how long any wait in these tests may take before it counts as
// a hang; the limits under test are far shorter or far longer.
const bound = 10 * time.Second

// logTo makes a logger that writes every record, debug included, to out.
func logTo(out *testutil.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// dialFrom logs in from the local address from (an IP on loopback).
func dialFrom(s *Server, from string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: bound}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		return nil, err
	}
	conn, chans, reqs, err := ssh.NewClientConn(c, s.Addr().String(), &ssh.ClientConfig{
		User:            "tester",
		Auth:            auth,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		return nil, err
	}
	return ssh.NewClient(conn, chans, reqs), nil
}

// needLoopbackAddr skips the test if ip cannot be a source address here
// (Linux routes all of 127.0.0.0/8 to loopback; other systems may not).
func needLoopbackAddr(t *testing.T, ip string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("%s is not usable on this machine: %v", ip, err)
	}
	ln.Close()
}

// holdBack makes every login attempt from ip wait an hour, as after a long
// run of failures.
func holdBack(s *Server, ip string) {
	now := time.Now()
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	s.throttle.addrs[netip.MustParseAddr(ip)] = &addrLogins{failures: 1, next: now.Add(time.Hour), seen: now}
}

// failures is how many failed checks in a row the server remembers for ip.
func failures(s *Server, ip string) int {
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	if a := s.throttle.addrs[netip.MustParseAddr(ip)]; a != nil {
		return a.failures
	}
	return 0
}

func newSigner(t *testing.T) ssh.Signer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// Each failed attempt doubles the wait before the next one from the same
// address is checked, on one connection and across reconnections. An
// attempt is timed from when the client sends it to when it hears it
// failed; the server waits before checking, so that is a lower bound.
func TestFailedLoginsSlowDown(t *testing.T) {
	tests := []struct {
		name string
		// guess returns an auth method that calls sent before each attempt.
		guess func(t *testing.T, sent func()) ssh.AuthMethod
	}{
		{"wrong password", func(t *testing.T, sent func()) ssh.AuthMethod {
			return ssh.PasswordCallback(func() (string, error) { sent(); return "guess", nil })
		}},
		{"unknown key", func(t *testing.T, sent func()) ssh.AuthMethod {
			// A new key each time: the server checks each key once per
			// connection.
			return ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { sent(); return []ssh.Signer{newSigner(t)}, nil })
		}},
	}
	const attempts = 4
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "")
			// sent[i] is when attempt i went out; the client makes them
			// one after another on the dialling goroutine.
			var sent []time.Time
			record := func() { sent = append(sent, time.Now()) }
			if c, err := dial(t, s, ssh.RetryableAuthMethod(tc.guess(t, record), attempts)); err == nil {
				c.Close()
				t.Fatal("a guess logged in")
			}
			sent = append(sent, time.Now()) // the last failure arrived
			if len(sent) != attempts+1 {
				t.Fatalf("%d attempts made, want %d", len(sent)-1, attempts)
			}
			for i := 1; i < attempts; i++ {
				if took, least := sent[i+1].Sub(sent[i]), loginDelay(i); took < least {
					t.Errorf("attempt %d, after %d failures, took %v, want at least %v", i+1, i, took, least)
				}
			}
			// A new connection does not start afresh.
			start := time.Now()
			if c, err := dial(t, s, tc.guess(t, func() {})); err == nil {
				c.Close()
				t.Fatal("a guess logged in")
			}
			if took, least := time.Since(start), loginDelay(attempts); took < least {
				t.Errorf("after reconnecting, an attempt took %v, want at least %v", took, least)
			}
		})
	}
}

// A login clears the failures of its address.
func TestLoginForgetsFailures(t *testing.T) {
	s := startServer(t, "")
	if c, err := dial(t, s, ssh.Password("guess")); err == nil {
		c.Close()
		t.Fatal("a wrong password logged in")
	}
	if n := failures(s, "127.0.0.1"); n != 1 {
		t.Fatalf("%d failures remembered after one, want 1", n)
	}
	c := loggedInClient(t, s)
	runScript(t, c, "!registers\n") // the server has finished the login
	if n := failures(s, "127.0.0.1"); n != 0 {
		t.Errorf("%d failures remembered after a login, want 0", n)
	}
}

// startHeldLogin starts a login with the right password from 127.0.0.1,
// which holdBack has delayed for an hour, and waits until the server holds
// it back. The channel gives the login's result.
func startHeldLogin(t *testing.T, s *Server, logs *testutil.Buffer) <-chan error {
	t.Helper()
	holdBack(s, "127.0.0.1")
	held := make(chan error, 1)
	go func() {
		c, err := dialFrom(s, "127.0.0.1", ssh.Password(cookie))
		if err == nil {
			c.Close()
		}
		held <- err
	}()
	testutil.WaitFor(t, logs, `msg="remote login delayed" peer=127.0.0.1 `, bound)
	return held
}

// closeHeldLogin closes the server and checks that this ends the held
// login, unsuccessfully, at once.
func closeHeldLogin(t *testing.T, s *Server, held <-chan error) {
	t.Helper()
	closeServer(t, s)
	select {
	case err := <-held:
		if err == nil {
			t.Error("the held-back login succeeded after Close")
		}
	case <-time.After(bound):
		t.Fatal("the held-back client was not disconnected by Close")
	}
}

// A delayed address does not hold back logins from another one. Loopback
// addresses are one source (TestLoopbackIsOneSource): here each counts
// as a host of its own, as two hosts' addresses do.
func TestLoginDelayIsPerAddress(t *testing.T) {
	needLoopbackAddr(t, "127.0.0.2")
	logs := &testutil.Buffer{}
	cfg := testConfig(t)
	cfg.Logger = logTo(logs)
	cfg.sourceOf = exactIP
	s := listen(t, cfg)
	held := startHeldLogin(t, s, logs)

	c, err := dialFrom(s, "127.0.0.2", ssh.Password(cookie))
	if err != nil {
		t.Fatalf("login from 127.0.0.2 while 127.0.0.1 is held back: %v", err)
	}
	c.Close()
	select {
	case err := <-held:
		t.Fatalf("the held-back login from 127.0.0.1 ended (%v) before its delay", err)
	default:
	}
	closeHeldLogin(t, s, held)
}

// Close does not wait for login delays to pass.
func TestCloseEndsLoginDelay(t *testing.T) {
	logs := &testutil.Buffer{}
	cfg := testConfig(t)
	cfg.Logger = logTo(logs)
	cfg.LoginTimeout = time.Hour // only Close can end the wait
	s := listen(t, cfg)
	held := startHeldLogin(t, s, logs)

	closeHeldLogin(t, s, held)
}

// A connection closed for room while its login waits out the throttle's
// delay ends at once, goroutine and all, not at its login timeout: a flood
// of connections that each wait holds the cap's worth of them, not the
// accept rate times the timeout.
func TestClosedForRoomEndsLoginDelay(t *testing.T) {
	logs := &testutil.Buffer{}
	cfg := testConfig(t)
	cfg.Logger = logTo(logs)
	cfg.MaxConnections = 1
	cfg.LoginTimeout = time.Hour // only closing it for room can end the wait
	s := listen(t, cfg)
	held := startHeldLogin(t, s, logs)
	rawConn(t, s) // takes the place of the held login
	testutil.WaitFor(t, logs, `msg="remote login refused" peer=127.0.0.1:`, bound)
	if err := <-held; err == nil {
		t.Error("the login closed for room succeeded")
	}
}

// rawConn opens a TCP connection that never speaks SSH and waits for the
// server's version line, which shows the server has accepted it.
func rawConn(t *testing.T, s *Server) net.Conn { return rawConnFrom(t, s, "127.0.0.1") }

// loggedInClient logs in to s with the cookie; the client is closed when the test
// ends.
func loggedInClient(t *testing.T, s *Server) *ssh.Client {
	t.Helper()
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatalf("login with the cookie: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wantClosed fails the test unless the server closes c, of which what
// says what it is, within bound.
func wantClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(bound))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("%s was not closed: %v", what, err)
	}
}

// rawConnFrom is rawConn from the loopback address ip.
func rawConnFrom(t *testing.T, s *Server, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: bound, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(bound))
	line := make([]byte, len("SSH-2.0-"))
	if _, err := io.ReadFull(c, line); err != nil || string(line) != "SSH-2.0-" {
		t.Fatalf("server greeted with %q, %v", line, err)
	}
	return c
}

// With MaxConnections open and every one logged in, one more is closed
// before the SSH handshake; once one of them closes, the next gets in.
func TestConnectionCap(t *testing.T) {
	s, logs := listenCapped(t, 3)
	var open []*ssh.Client
	for range 3 {
		open = append(open, loggedInClient(t, s))
	}

	// The fourth: closed at once, without the server's version line.
	if greeted(t, s) {
		t.Fatal("a fourth connection was greeted")
	}
	testutil.WaitFor(t, logs, `level=WARN msg="remote connection limit reached, refusing connections" limit=3`, bound)
	if c, err := dial(t, s, ssh.Password(cookie)); err == nil {
		c.Close()
		t.Fatal("a fourth client logged in")
	}

	open[0].Close()
	testutil.WaitFor(t, logs, `msg="remote connections below the limit again" limit=3 refused=2`, bound)
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatalf("no login after a connection closed: %v", err)
	}
	defer c.Close()
	if out, _ := runScript(t, c, "!registers\n"); !strings.HasPrefix(out, "$0 = 0\n") {
		t.Errorf("!registers printed %q", out)
	}
}

// Connections that do not log in cannot lock users out: at the cap, a new
// connection closes the oldest one not logged in, and never a logged-in
// one.
func TestConnectionCapClosesTheOldestNotLoggedIn(t *testing.T) {
	s, logs := listenCapped(t, 3)
	user := loggedInClient(t, s)
	older, newer := rawConn(t, s), rawConn(t, s)

	// A login closes the oldest connection not logged in, then the next
	// one closes the other.
	var clients []*ssh.Client
	for _, waiting := range []net.Conn{older, newer} {
		c, err := dial(t, s, ssh.Password(cookie))
		if err != nil {
			t.Fatalf("no login with the cap held by connections not logged in: %v", err)
		}
		defer c.Close()
		clients = append(clients, c)
		wantClosed(t, waiting, "the oldest connection not logged in, at a login,")
		if n := connections(s); n != 3 {
			t.Errorf("%d connections open, want 3", n)
		}
	}
	testutil.WaitFor(t, logs, `level=WARN msg="remote connection limit reached, closing the oldest connections not logged in" limit=3`, bound)

	// With every connection logged in, one more is refused.
	if greeted(t, s) {
		t.Fatal("a connection was greeted with every place held by a logged-in client")
	}
	for _, u := range append(clients, user) {
		if out, _ := runScript(t, u, "!registers\n"); !strings.HasPrefix(out, "$0 = 0\n") {
			t.Errorf("a logged-in client's !registers printed %q", out)
		}
	}
}

// A flood from one address closes its own connections first: at the cap,
// the connection closed for room is the oldest of the address with the
// most connections not logged in, not another address's login under way.
func TestConnectionCapClosesTheBusiestAddressFirst(t *testing.T) {
	needLoopbackAddr(t, "127.0.0.2")
	cfg := testConfig(t)
	cfg.MaxConnections = 4
	cfg.sourceOf = exactIP // each loopback address a host of its own
	s := listen(t, cfg)
	loggedInClient(t, s)
	other := rawConnFrom(t, s, "127.0.0.2") // the oldest not logged in
	flood := []net.Conn{rawConnFrom(t, s, "127.0.0.1"), rawConnFrom(t, s, "127.0.0.1")}
	flood = append(flood, rawConnFrom(t, s, "127.0.0.1")) // the cap is reached: room is made

	wantClosed(t, flood[0], "the flood's oldest connection")
	if !serving(s, other) {
		t.Error("the other address's connection was closed for the flood")
	}
	if n := connections(s); n != 4 {
		t.Errorf("%d connections open, want 4", n)
	}
}

// serving reports whether s holds the connection whose client end is c.
func serving(s *Server, c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		if sc.RemoteAddr().String() == c.LocalAddr().String() {
			return true
		}
	}
	return false
}

// listenCapped starts a server that keeps max connections open and logs
// to the buffer returned.
func listenCapped(t *testing.T, max int) (*Server, *testutil.Buffer) {
	logs := &testutil.Buffer{}
	cfg := testConfig(t)
	cfg.Logger = logTo(logs)
	cfg.MaxConnections = max
	return listen(t, cfg), logs
}

// greeted opens a connection to s and reports whether the server sent its
// SSH version line (false: it closed the connection first).
func greeted(t *testing.T, s *Server) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), bound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(bound))
	line := make([]byte, len("SSH-2.0-"))
	_, err = io.ReadFull(c, line)
	if os.IsTimeout(err) {
		t.Fatal("the server neither greeted nor closed a connection")
	}
	return err == nil && string(line) == "SSH-2.0-"
}

// eofConn reports when the server ends the connection.
type eofConn struct {
	net.Conn
	once sync.Once
	eof  chan struct{}
}

func (c *eofConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() { close(c.eof) })
	}
	return n, err
}

// A connection that has not logged in by the login timeout is closed,
// whatever it is doing, and the server is done with it: its goroutine has
// returned. Each case returns once the client has seen the connection
// close.
func TestLoginTimeout(t *testing.T) {
	const timeout = time.Second
	tests := []struct {
		name string
		run  func(t *testing.T, s *Server, logs *testutil.Buffer)
	}{
		{"silent after connecting", func(t *testing.T, s *Server, _ *testutil.Buffer) {
			wantClosed(t, rawConn(t, s), "a connection silent after connecting")
		}},
		{"silent after key exchange", func(t *testing.T, s *Server, _ *testutil.Buffer) {
			raw, err := net.DialTimeout("tcp", s.Addr().String(), bound)
			if err != nil {
				t.Fatal(err)
			}
			c := &eofConn{Conn: raw, eof: make(chan struct{})}
			exchanged, giveUp, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				// The client asks for a password only after key exchange;
				// it has none to give until the server has hung up.
				_, _, _, err := ssh.NewClientConn(c, s.Addr().String(), &ssh.ClientConfig{
					User: "tester",
					Auth: []ssh.AuthMethod{ssh.PasswordCallback(func() (string, error) {
						close(exchanged)
						<-giveUp
						return "", errors.New("no password")
					})},
					HostKeyCallback: ssh.InsecureIgnoreHostKey(),
				})
				done <- err
			}()
			defer func() { <-done }()
			defer close(giveUp)
			select {
			case <-exchanged:
			case <-time.After(bound):
				t.Fatal("no key exchange")
			}
			select {
			case <-c.eof:
			case <-time.After(bound):
				t.Fatal("not closed")
			}
		}},
		{"held back by a login delay", func(t *testing.T, s *Server, logs *testutil.Buffer) {
			held := startHeldLogin(t, s, logs)
			select {
			case err := <-held:
				if err == nil {
					t.Fatal("the held-back login succeeded")
				}
			case <-time.After(bound):
				t.Fatal("not closed")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := &testutil.Buffer{}
			cfg := testConfig(t)
			cfg.Logger = logTo(logs)
			cfg.LoginTimeout = timeout
			s := listen(t, cfg)
			start := time.Now() // before the connection, so before the server's clock starts
			tc.run(t, s, logs)
			if took := time.Since(start); took < timeout {
				t.Errorf("closed after %v, before the login timeout %v", took, timeout)
			}
			// serveConn logs this as it returns.
			testutil.WaitFor(t, logs, `msg="remote login refused" peer=127.0.0.1:`, bound)
		})
	}
}

// One connection has at most maxSessions sessions open at once: one more
// is refused with the reason, the open ones go on, and a session closed
// makes room for the next.
func TestSessionsPerConnectionCap(t *testing.T) {
	s := startServer(t, "")
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type open struct {
		sess  *ssh.Session
		stdin io.WriteCloser
	}
	var held []open
	for i := range maxSessions {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatalf("session %d of %d refused: %v", i+1, maxSessions, err)
		}
		defer sess.Close()
		stdin, err := sess.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		held = append(held, open{sess, stdin})
	}
	_, err = c.NewSession()
	var refused *ssh.OpenChannelError
	if !errors.As(err, &refused) || refused.Reason != ssh.ResourceShortage ||
		refused.Message != fmt.Sprintf("at most %d sessions per connection", maxSessions) {
		t.Fatalf("session %d: %v; want it refused for the cap", maxSessions+1, err)
	}

	// The first session ends; once the server is done with it, a new one
	// opens and runs.
	held[0].stdin.Close()
	if err := held[0].sess.Wait(); err != nil {
		t.Fatalf("the first session ended with %v", err)
	}
	deadline := time.Now().Add(bound)
	sess, err := c.NewSession()
	for err != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no new session after one closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
		sess, err = c.NewSession()
	}
	defer sess.Close()
	sess.Stdin = strings.NewReader("load $2 #7\n!registers\n")
	var out strings.Builder
	sess.Stdout = &out
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Wait(); err != nil || !strings.Contains(out.String(), "$2 = 7\n") {
		t.Errorf("a session after the cap: %v, printed %q", err, out.String())
	}
	// The sessions held open were served all along.
	io.WriteString(held[1].stdin, "load $3 #4\n")
	held[1].stdin.Close()
	if err := held[1].sess.Wait(); err != nil {
		t.Errorf("a held session ended with %v", err)
	}
}

// What a connection may send before it logs in is bounded: a client whose
// login requests carry a user name of 100,000 bytes is cut off before its
// (right) password is checked, since x/crypto/ssh keeps every failed
// attempt's error, quoting it, for as long as the connection lasts. The
// refusal's log line stays short, and a login of ordinary size, and a
// logged-in client sending far more, go through.
func TestWhatComesBeforeLoginIsBounded(t *testing.T) {
	s, logs := listenCapped(t, DefaultMaxConnections)
	_, err := ssh.Dial("tcp", s.Addr().String(), &ssh.ClientConfig{
		User:            strings.Repeat("u", 100_000),
		Auth:            []ssh.AuthMethod{ssh.Password(cookie)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         bound,
	})
	if err == nil {
		t.Fatal("a login of 100,000-byte user names got in")
	}
	testutil.WaitFor(t, logs, `level=WARN msg="remote connection closed: it sent more than 64 KiB before logging in"`, bound)
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 2*maxLoggedError {
			t.Errorf("a log line of %d bytes: %.200s...", len(line), line)
		}
	}

	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatalf("an ordinary login: %v", err)
	}
	defer c.Close()
	script := "!registers\n" + strings.Repeat("; a comment line that the REPL skips\n", 5000) // 185 KB
	if out, _ := runScript(t, c, script); !strings.HasPrefix(out, "$0 = 0\n") {
		t.Errorf("!registers printed %q", out)
	}
}

// Every loopback address is one source for the login limits: any local
// user may connect from any address of 127.0.0.0/8, and would otherwise
// get a fresh login delay from each (598 checked guesses a second were
// made that way). A login from 127.0.0.2 waits for the delay that
// 127.0.0.1 earned.
func TestLoopbackIsOneSource(t *testing.T) {
	needLoopbackAddr(t, "127.0.0.2")
	cfg := testConfig(t)
	cfg.LoginTimeout = 500 * time.Millisecond
	s := listen(t, cfg)
	holdBack(s, "127.0.0.1")
	if c, err := dialFrom(s, "127.0.0.2", ssh.Password(cookie)); err == nil {
		c.Close()
		t.Fatal("a login from 127.0.0.2 got in while 127.0.0.1 was held back")
	}
}
