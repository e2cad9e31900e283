package remote

import (
	"io"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/internal/testutil"
)

// Ctrl-Z over SSH rings the bell and the session goes on. readline used to
// suspend the process for it: the node (and, at a shell, the shell's job
// that started it: `go test` here) stopped, or, where SIGTSTP is ignored
// (no job control), the session waited for good.
func TestCtrlZDoesNotSuspend(t *testing.T) {
	sess := ptySession(t, startServer(t, ""))
	stdin, out := atPrompt(t, sess)
	before := len(out.String())
	io.WriteString(stdin, "\x1aload $1 #9\r!registers\r")
	testutil.WaitFor(t, out, "$1 = 9\r\n", bound)
	if got := out.String()[before:]; !strings.Contains(got, "\a") {
		t.Errorf("Ctrl-Z rang no bell: %q", got)
	}
}

// Ctrl-T on a line of one character does nothing: readline moved the
// cursor past the line's end for it, and the next character typed panicked
// and ended the node. On a longer line it still swaps the two characters
// before the cursor.
func TestCtrlTOnShortLine(t *testing.T) {
	sess := ptySession(t, startServer(t, ""))
	stdin, out := atPrompt(t, sess)
	io.WriteString(stdin, "\x14a\x14b\x15load $1 #91\x14\r!registers\r")
	testutil.WaitFor(t, out, "$1 = 19\r\n", bound)
}
