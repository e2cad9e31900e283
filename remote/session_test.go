package remote

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
)

// spinSrc prints "ready" and then loops for ever without printing, so
// that nothing but an interrupt can end it: a write to a vanished client
// would fail and end a program that prints.
const spinSrc = `.data
ready: .asciiz 'ready\n'
.code
    prts @ready
spin: djmp @spin
`

// rawSession logs in to s with the cookie over a TCP connection of its
// own, which the test may close to make the client vanish without a word,
// and opens a session.
func rawSession(t *testing.T, s *Server) (net.Conn, *ssh.Session) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	conn, chans, reqs, err := ssh.NewClientConn(c, s.Addr().String(), &ssh.ClientConfig{
		User:            "tester",
		Auth:            []ssh.AuthMethod{ssh.Password(cookie)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ssh.NewClient(conn, chans, reqs).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return c, sess
}

// spinningSession logs in to s over a TCP connection of its own and
// starts a session (on a pseudo-terminal if pty) whose REPL runs spinSrc.
// It returns once the program runs, with the TCP connection (closing it
// makes the client vanish without a word, as a crashed client or a lost
// network does) and the session.
func spinningSession(t *testing.T, s *Server, pty bool) (net.Conn, *ssh.Session) {
	t.Helper()
	prog := filepath.Join(t.TempDir(), "spin.iasm")
	if err := os.WriteFile(prog, []byte(spinSrc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, sess := rawSession(t, s)
	enter := "\n"
	if pty {
		if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		enter = "\r"
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	sess.Stdout, sess.Stderr = out, out
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "!load_file "+prog+enter)
	testutil.WaitFor(t, out, "ready", bound)
	return c, sess
}

// connections is how many connections s holds open.
func connections(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// A client that vanishes while its program runs takes the program with it:
// the session's REPL is interrupted and the server lets go of the
// connection, with no help from Close.
func TestVanishedClientEndsItsProgram(t *testing.T) {
	for _, tc := range []struct {
		name string
		pty  bool
	}{{"script", false}, {"terminal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "")
			c, _ := spinningSession(t, s, tc.pty)
			c.Close()
			deadline := time.Now().Add(bound)
			for connections(s) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%v after the client vanished, the server still holds its connection: the session's program still runs", bound)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// Close ends the sessions of clients still connected, interrupting their
// programs, and the clients see their sessions end.
func TestCloseEndsRunningSessions(t *testing.T) {
	s := startServer(t, "")
	_, sess := spinningSession(t, s, false)
	closeServer(t, s)
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	select {
	case <-ended:
	case <-time.After(bound):
		t.Fatal("the client's session did not end when the server closed")
	}
}

// A window change never waits for the listener (readline, which may be
// stuck writing to a client that reads nothing): set returns while the
// listener is busy, and the changes made meanwhile are told once, with
// the last width.
func TestWidthChangeNeverWaits(t *testing.T) {
	w := newTermWidth(80)
	calls := make(chan int)
	release := make(chan struct{})
	w.onChange(func() {
		calls <- w.get()
		<-release
	})
	done := make(chan struct{})
	told := make(chan struct{})
	go func() { defer close(told); w.tell(done) }()

	// setting runs the sets on a goroutine of its own, and says when
	// they have returned.
	setting := func(widths ...int) <-chan struct{} {
		set := make(chan struct{})
		go func() {
			defer close(set)
			for _, width := range widths {
				w.set(width)
			}
		}()
		return set
	}
	returned := func(set <-chan struct{}) {
		t.Helper()
		select {
		case <-set:
		case <-time.After(10 * time.Second):
			t.Fatal("set waited for a busy listener")
		}
	}
	set := setting(20)
	if got := <-calls; got != 20 { // the listener is now busy
		t.Fatalf("listener saw width %d, want 20", got)
	}
	returned(set)
	returned(setting(21, 22, 23, 40))
	release <- struct{}{}
	if got := <-calls; got != 40 {
		t.Errorf("after the listener was free it saw width %d, want the last, 40", got)
	}
	release <- struct{}{}
	w.set(50) // and it goes on telling
	if got := <-calls; got != 50 {
		t.Errorf("the next change told width %d, want 50", got)
	}
	release <- struct{}{}
	close(done)
	<-told
}

// fakeChannel is an SSH session channel for serveSession alone: it
// collects what the REPL writes and reports when the server closes it.
type fakeChannel struct {
	out, errs testutil.Buffer
	closed    chan struct{}
	once      sync.Once
}

// writeOnly is a stream a channel's reader never reads.
type writeOnly struct{ io.Writer }

func (writeOnly) Read([]byte) (int, error) { return 0, io.EOF }

func newFakeChannel() *fakeChannel { return &fakeChannel{closed: make(chan struct{})} }

func (c *fakeChannel) Read([]byte) (int, error)                       { <-c.closed; return 0, io.EOF }
func (c *fakeChannel) Write(p []byte) (int, error)                    { return c.out.Write(p) }
func (c *fakeChannel) Close() error                                   { c.once.Do(func() { close(c.closed) }); return nil }
func (c *fakeChannel) CloseWrite() error                              { return nil }
func (c *fakeChannel) Stderr() io.ReadWriter                          { return writeOnly{&c.errs} }
func (c *fakeChannel) SendRequest(string, bool, []byte) (bool, error) { return false, nil }

// A client may go on sending requests on a session's channel after the
// REPL has ended and closed it, until its own close arrives: the server
// reads them all (x/crypto hands every channel's requests over from one
// loop per connection, and one channel's request left unread stopped the
// connection's other sessions, its logins and its close for good), and the
// session ends only when the channel's requests do.
func TestRequestsAfterTheSessionEnded(t *testing.T) {
	s := startServer(t, "")
	ch := newFakeChannel()
	requests := make(chan *ssh.Request)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		s.serveSession(context.Background(), ch, requests)
	}()
	send := func(typ string, payload []byte) {
		t.Helper()
		select {
		case requests <- &ssh.Request{Type: typ, Payload: payload}:
		case <-time.After(bound):
			t.Fatalf("the %s request was not read", typ)
		}
	}
	send("exec", ssh.Marshal(struct{ Command string }{"!registers"}))
	select {
	case <-ch.closed:
	case <-time.After(bound):
		t.Fatal("the session did not end")
	}
	if got := ch.out.String(); !strings.HasPrefix(got, "$0 = 0\n") {
		t.Errorf("output %q", got)
	}
	window := make([]byte, 16)
	binary.BigEndian.PutUint32(window, 100)
	for range 100 {
		send("window-change", window)
	}
	send("pty-req", ssh.Marshal(ptyRequest{Term: "xterm", Width: 80, Height: 24}))
	select {
	case <-ended:
		t.Fatal("the session ended before its channel's requests did")
	default:
	}
	close(requests) // the client's close arrived
	select {
	case <-ended:
	case <-time.After(bound):
		t.Fatal("the session did not end with its channel's requests")
	}
}

// A pty-req after the shell is refused: the REPL is made for the terminal
// it starts with, and the client must not think it has one.
func TestPtyAfterShellIsRefused(t *testing.T) {
	s := startServer(t, "")
	c := loggedInClient(t, s)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.StdinPipe(); err != nil { // held open: the REPL waits for input
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 24, 80, nil); err == nil {
		t.Error("a pty-req after the shell was granted")
	}
}

// Sessions with a terminal that end themselves (!quit, Ctrl-D) leave no
// goroutine of readline's behind: its key loop (v1.5.1) never returns by
// itself, and parked one goroutine for good per such session.
func TestEndedTerminalSessionsLeaveNoGoroutine(t *testing.T) {
	s := startServer(t, "")
	for _, leave := range []string{"!quit\r", "\x04"} {
		for range 5 {
			sess := ptySession(t, s)
			stdin, _ := atPrompt(t, sess)
			io.WriteString(stdin, leave)
			ended := make(chan error, 1)
			go func() { ended <- sess.Wait() }()
			select {
			case <-ended:
			case <-time.After(bound):
				t.Fatalf("the session did not end at %q", leave)
			}
		}
	}
	deadline := time.Now().Add(bound)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		n := strings.Count(stacks, "readline.(*Operation).ioloop")
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of readline's key loops left after 10 sessions ended", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ssh -t host 'cmd': with a pty the client's terminal is raw and Ctrl-C
// arrives as a byte; it interrupts the command's running program.
func TestExecWithPTYInterrupt(t *testing.T) {
	s := startServer(t, "")
	prog := filepath.Join(t.TempDir(), "spin.iasm")
	if err := os.WriteFile(prog, []byte(spinSrc), 0o600); err != nil {
		t.Fatal(err)
	}
	sess := ptySession(t, s)
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	sess.Stdout, sess.Stderr = out, out
	if err := sess.Start("!load_file " + prog); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, out, "ready", bound)
	io.WriteString(stdin, "\x03")
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	select {
	case <-ended:
	case <-time.After(bound):
		t.Fatal("Ctrl-C did not interrupt the command's program")
	}
	testutil.WaitFor(t, out, "interrupted", bound)
}
