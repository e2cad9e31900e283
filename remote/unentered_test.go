package remote

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/iridium-go/iridium/internal/testutil"
)

// A line typed but never entered does not run when the session ends: a
// client that leaves with `!send` half-typed sends nothing. (readline
// turns the end of its input into Enter when a line is being typed.)
func TestUnenteredLineDoesNotRun(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "recv.iasm")
	if err := os.WriteFile(prog, []byte("recv $1 $2\nprti $1\nhlt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "")
	// The receiver: a background program that prints the first value
	// sent to it, in its report.
	_, recvIn, recvOut := rawPtySession(t, s, 80)
	io.WriteString(recvIn, "!spawn "+prog+"\r")
	testutil.WaitFor(t, recvOut, "spawned #1", bound)
	m := regexp.MustCompile(`as (test:\d+)`).FindStringSubmatch(recvOut.String())
	if m == nil {
		t.Fatalf("no process in %q", recvOut.String())
	}
	// The client that leaves: it types a !send to the receiver, without
	// Enter, and vanishes once the line shows.
	c, stdin, out := rawPtySession(t, s, 80)
	io.WriteString(stdin, "!send "+m[1]+" 42")
	testutil.WaitFor(t, out, " 42", bound)
	c.Close()
	deadline := time.Now().Add(bound)
	for connections(s) > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%v after the client vanished, the server still holds its connection", bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The receiver gets what its own session sends: the first value to
	// come, the line of output its report shows after "ended" (the
	// report's event times may hold a 42 of their own).
	io.WriteString(recvIn, "!send "+m[1]+" 7\r")
	testutil.WaitFor(t, recvOut, "ended", bound)
	if got := regexp.MustCompile(`ended: exit code 0\r\n(.*)\r\n`).FindStringSubmatch(recvOut.String()); got == nil || got[1] != "7" {
		t.Errorf("the receiver's report %q, want its output 7 (42 if the line the client never entered ran)", recvOut.String())
	}
}

// A NUL byte (Ctrl-@) typed at a prompt is ignored: readline took it for
// the end of its input, which ended the session at an empty prompt.
func TestNULKeyIsIgnored(t *testing.T) {
	sess := ptySession(t, startServer(t, ""))
	stdin, out := atPrompt(t, sess)
	io.WriteString(stdin, "\x00load $1 #9\x00\r!registers\r")
	testutil.WaitFor(t, out, "$1 = 9\r\n", bound)
}
