package remote

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
)

// A terminal too narrow for readline to lay a line out in (readline loops
// for ever moving the cursor back over a line on a terminal whose width
// divides the prompt's) is taken for one of minWidth columns: moving the
// cursor back over a character, wide or not, on a terminal that says it
// is 1 column wide leaves the session answering.
func TestNarrowTerminal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pty    uint32 // the pty-req's width
		change uint32 // a window-change to this width first, if not 0
		keys   string
	}{
		{"pty-req 1, wide character", 1, 0, "世"},
		{"pty-req 1, narrow character", 1, 0, "a"},
		{"pty-req 2", 2, 0, "世"},
		{"pty-req 4, the prompt's width", 4, 0, "ab"},
		{"window-change to 1", 80, 1, "世"},
		{"window-change to 4", 80, 4, "ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := ptySessionSized(t, startServer(t, ""), tc.pty)
			stdin, out := atPrompt(t, sess)
			if tc.change != 0 {
				if err := sess.WindowChange(24, int(tc.change)); err != nil {
					t.Fatal(err)
				}
				narrowed(t, stdin, out)
			}
			// Left moves the cursor back over what was typed; the line,
			// when entered, is an assembly error, and the next line runs.
			io.WriteString(stdin, tc.keys+"\x1b[D\rload $1 #9\r!registers\r")
			testutil.WaitFor(t, out, "$1 = 9\r\n", bound)
		})
	}
}

// narrowed waits until readline lays the line out for a width narrower
// than the session's first, 80 columns: the width reaches readline on a
// goroutine of the session's. It types a line that fits 80 columns and
// retypes its last character until readline, drawing it, moves the cursor
// up a line, and then erases the line.
func narrowed(t *testing.T, stdin io.Writer, out *testutil.Buffer) {
	t.Helper()
	before := len(out.String())
	io.WriteString(stdin, strings.Repeat("x", 40)+"END")
	testutil.WaitFor(t, out, "END", bound)
	up := regexp.MustCompile(`\x1b\[\d*A`)
	for c := 'a'; !up.MatchString(out.String()[before:]); c++ {
		if c > 'z' {
			t.Fatalf("the line was never drawn for the narrower width: %q", out.String()[before:])
		}
		io.WriteString(stdin, "\x7f"+string(c))
		testutil.WaitFor(t, out, "EN"+string(c), bound)
	}
	io.WriteString(stdin, "\x15") // Ctrl-U: erase the line
}

// ptySessionSized logs in to s and opens a session on a pseudo-terminal
// cols columns wide; the test starts its shell or command.
func ptySessionSized(t *testing.T, s *Server, cols uint32) *ssh.Session {
	t.Helper()
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	if err := sess.RequestPty("xterm", 24, int(cols), ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestTermCols(t *testing.T) {
	for _, tc := range []struct {
		cols  uint32
		width int
		ok    bool
	}{
		{0, 0, false}, // unknown: the width stays as it was
		{1, minWidth, true},
		{minWidth - 1, minWidth, true},
		{minWidth, minWidth, true},
		{80, 80, true},
		{maxWidth, maxWidth, true},
		{maxWidth + 1, maxWidth, true},
		{1<<32 - 1, maxWidth, true},
	} {
		if width, ok := termCols(tc.cols); width != tc.width || ok != tc.ok {
			t.Errorf("termCols(%d) = %d, %v; want %d, %v", tc.cols, width, ok, tc.width, tc.ok)
		}
	}
}
