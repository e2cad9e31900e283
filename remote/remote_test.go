package remote

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/repl"
	"github.com/iridium-go/iridium/vm"
)

// Nothing outlives the tests, readline's goroutines of every session with
// a terminal included (repl's keyFilter ends the one readline never does).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const cookie = "s3cret-cookie"

func startServer(t *testing.T, authorizedKeys string) *Server {
	t.Helper()
	cfg := testConfig(t)
	if authorizedKeys != "" {
		os.WriteFile(cfg.AuthorizedKeysFile, []byte(authorizedKeys), 0o600)
	}
	return listen(t, cfg)
}

// testConfig is a server on a free loopback port with its files in a
// temporary directory and the default limits.
func testConfig(t *testing.T) Config {
	dir := t.TempDir()
	return Config{
		Addr:               "127.0.0.1:0",
		HostKey:            newSigner(t),
		AuthorizedKeysFile: filepath.Join(dir, "authorized_keys"),
		Cookie:             []byte(cookie),
		REPL:               repl.Config{Procs: testProcs(t)},
	}
}

// testProcs is the node's process runtime for one test's sessions.
func testProcs(t *testing.T) *proc.Node {
	n, err := proc.New(proc.Config{Alias: "test", VMConfig: vm.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// listen starts a server that the test closes when it ends. A Close that
// hangs fails the test (and leaks the goroutine, which goleak reports).
func listen(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeServer(t, s) })
	return s
}

// closeServer closes s, failing the test if Close does not return soon.
func closeServer(t *testing.T, s *Server) {
	t.Helper()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Error("Close did not return")
	}
}

func dial(t *testing.T, s *Server, auth ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", s.Addr().String(), &ssh.ClientConfig{
		User:            "tester",
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
}

// runScript runs a non-interactive session: the REPL reads the script and
// the test reads everything it printed.
func runScript(t *testing.T, c *ssh.Client, script string) (string, string) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdin = strings.NewReader(script)
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("session: %v (stderr %q)", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session did not end")
	}
	return stdout.String(), stderr.String()
}

func TestCookieLogin(t *testing.T) {
	s := startServer(t, "")
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatalf("login with the cookie: %v", err)
	}
	defer c.Close()
	out, errOut := runScript(t, c, "load $0 #7\nload $3 #-2\n!registers\n")
	if !strings.HasPrefix(out, "$0 = 7\n$1 = 0\n$2 = 0\n$3 = -2\n") || !strings.HasSuffix(out, "$31 = 0\n") {
		t.Errorf("!registers over SSH printed:\n%s\nstderr: %s", out, errOut)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	s := startServer(t, "")
	if c, err := dial(t, s, ssh.Password("guess")); err == nil {
		c.Close()
		t.Fatal("a wrong cookie logged in")
	}
}

func TestAuthorizedKeyLogin(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)

	s := startServer(t, string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	c, err := dial(t, s, ssh.PublicKeys(signer))
	if err != nil {
		t.Fatalf("login with an authorized key: %v", err)
	}
	defer c.Close()
	if out, _ := runScript(t, c, "!registers\n"); !strings.HasPrefix(out, "$0 = 0\n") {
		t.Errorf("!registers printed %q", out)
	}
	if c2, err := dial(t, s, ssh.PublicKeys(other)); err == nil {
		c2.Close()
		t.Error("a key not in authorized_keys logged in")
	}
}

func TestSessionsAreSeparate(t *testing.T) {
	s := startServer(t, "")
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	runScript(t, c, "load $5 #55\n")
	if out, _ := runScript(t, c, "!registers\n"); !strings.Contains(out, "$5 = 0\n") {
		t.Errorf("a second session saw the first one's VM:\n%s", out)
	}
}

func TestInteractiveSessionInterrupt(t *testing.T) {
	sess := ptySession(t, startServer(t, ""))
	stdin, out := atPrompt(t, sess)
	// An endless loop, interrupted by Ctrl-C; the session goes on.
	io.WriteString(stdin, "spin: prti $0\r")
	io.WriteString(stdin, "djmp @spin\r")
	testutil.WaitFor(t, out, "0000000000", 10*time.Second) // the loop runs
	io.WriteString(stdin, "\x03")
	testutil.WaitFor(t, out, "interrupted", 10*time.Second)
	io.WriteString(stdin, "load $1 #9\r!registers\r")
	testutil.WaitFor(t, out, "$1 = 9\r\n", 10*time.Second)
	io.WriteString(stdin, "\x04") // Ctrl-D leaves
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("session ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-D did not end the session")
	}
}

// TestWindowChangeReachesReadline: when the client's terminal narrows, the
// line being typed is laid out for the new width: readline, told of the
// change, wraps it and moves the cursor up over the lines it spans.
func TestWindowChangeReachesReadline(t *testing.T) {
	sess := ptySession(t, startServer(t, ""))
	stdin, out := atPrompt(t, sess)
	if err := sess.WindowChange(24, 20); err != nil {
		t.Fatal(err)
	}
	before := len(out.String())
	io.WriteString(stdin, "load $1 #1 ; "+strings.Repeat("x", 50)+"END")
	testutil.WaitFor(t, out, "END", 10*time.Second)
	// The new width reaches readline on a goroutine of the session's, so
	// the first keystrokes may be drawn for the old one. Retyping the last
	// character redraws the line, which keeps its 66 characters (70 with
	// the prompt: one line on the old 80 columns, where nothing moves up):
	// once drawn for 20 columns, it moves up.
	up := regexp.MustCompile(`\x1b\[\d*A`)
	for c := 'a'; !up.MatchString(out.String()[before:]); c++ {
		if c > 'z' {
			t.Fatalf("a 66-character line on a 20-column terminal was drawn without moving up a line: %q", out.String()[before:])
		}
		io.WriteString(stdin, "\x7f"+string(c))
		testutil.WaitFor(t, out, "EN"+string(c), 10*time.Second)
	}
	io.WriteString(stdin, "\r\x04")
	sess.Wait()
}

// TestExecWithPTY: `ssh -t host '!registers'` puts the client's terminal in
// raw mode, so every line of the output ends "\r\n", not a staircase.
func TestExecWithPTY(t *testing.T) {
	sess := ptySession(t, startServer(t, ""))
	out, err := sess.Output("!registers")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(out), "\r\n"); lines != 32 || strings.Count(string(out), "\n") != 32 {
		t.Errorf("output %q: want 32 lines, each ending \\r\\n", out)
	}
}

// ptySession logs in to s and opens a session on an 80-column
// pseudo-terminal; the test starts its shell or command.
func ptySession(t *testing.T, s *Server) *ssh.Session {
	t.Helper()
	return ptySessionSized(t, s, 80)
}

// atPrompt starts sess's shell and waits for the REPL's prompt: what the
// test types goes to stdin, and out holds what the client's terminal shows.
func atPrompt(t *testing.T, sess *ssh.Session) (stdin io.Writer, out *testutil.Buffer) {
	t.Helper()
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out = &testutil.Buffer{}
	sess.Stdout = out
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, out, ">>> ", 10*time.Second)
	return in, out
}

// A history search left before any line was entered (Ctrl-R, then Ctrl-G
// or an arrow) is an ordinary key sequence: the session goes on. A
// session keeps no history file, and readline used to panic there, taking
// the whole node with it.
func TestSearchBeforeFirstLine(t *testing.T) {
	for _, keys := range []string{"\x12\x07", "\x12\x1b[A", "\x13\x07"} {
		t.Run(fmt.Sprintf("%q", keys), func(t *testing.T) {
			sess := ptySession(t, startServer(t, ""))
			stdin, out := atPrompt(t, sess)
			io.WriteString(stdin, keys)
			io.WriteString(stdin, "\rload $1 #9\r!registers\r")
			testutil.WaitFor(t, out, "$1 = 9\r\n", 10*time.Second)
		})
	}
}
