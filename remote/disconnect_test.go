package remote

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
)

// A session whose client goes away, or whose server closes, while its
// REPL still has keys typed ahead to act on ends at once: the keys are
// dropped, not edited into a line nobody will see. Each of the keys here
// (moving the cursor back and forth on a line at the length limit, on a
// 20-column terminal) costs readline milliseconds, and a client may type
// 64 KiB ahead: working through them took a minute, the connection stayed
// open (CLOSE-WAIT), and Close (SIGTERM) waited for them.
func TestSessionEndDropsTypeahead(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, s *Server, c net.Conn)
	}{
		{"client vanishes", func(t *testing.T, s *Server, c net.Conn) {
			c.Close()
			deadline := time.Now().Add(bound)
			for connections(s) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%v after the client vanished, the server still holds its connection", bound)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}},
		{"server closes", func(t *testing.T, s *Server, c net.Conn) {
			closeServer(t, s) // fails the test if Close takes longer than the bound
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "")
			c, stdin, out := rawPtySession(t, s, minWidth)
			line := "; " + strings.Repeat("x", maxTerminalLine-len("; END")) + "END"
			keys := strings.Repeat("\x1b[D\x1b[C", 100<<10/6) // Left, Right: 100 KiB
			go io.WriteString(stdin, line+keys)               // ends when the client does
			// The line is drawn again for the first Left, the cursor put
			// back over the last character.
			testutil.WaitFor(t, out, "END\b", bound)
			tc.end(t, s, c)
		})
	}
}

// rawPtySession logs in to s over a TCP connection of its own and starts a
// shell on a pseudo-terminal cols columns wide. It returns once the
// prompt shows, with the TCP connection (closing it makes the client
// vanish without a word), the session's input and what it showed.
func rawPtySession(t *testing.T, s *Server, cols int) (net.Conn, io.Writer, *testutil.Buffer) {
	t.Helper()
	c, sess := rawSession(t, s)
	if err := sess.RequestPty("xterm", 24, cols, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	stdin, out := atPrompt(t, sess)
	return c, stdin, out
}
