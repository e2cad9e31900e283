package remote

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/internal/testutil"
)

// A line typed at a terminal holds at most maxTerminalLine characters:
// what is typed past them is refused with a bell, and the line is not run
// but reported; the session answers the next line. (Redrawing the line
// for every key typed costs readline the line's length, and moving the
// cursor back over it more: pasting 16,000 characters took 20 s of CPU.)
func TestLongLineAtTerminal(t *testing.T) {
	const max = maxTerminalLine
	// line is a line of n characters that sets $2 when it runs.
	line := func(n int, pad string) string {
		head := "load $2 #7 ;"
		return head + strings.Repeat(pad, n-len(head))
	}
	for _, tc := range []struct {
		name string
		keys string
		runs bool // the line runs, rather than being refused
	}{
		{"at the limit", line(max, "x"), true},
		{"wide characters at the limit", line(max, "世"), true},
		{"one past the limit", line(max+1, "x"), false},
		{"far past the limit", line(16000, "x"), false},
		{"past the limit, cursor moved back", line(max-1, "x") + "\x1b[D\x1b[D" + "xxxxxxxx", false},
		// Ctrl-U then Ctrl-Y twice yanks the line back twice over.
		{"yanked past the limit", line(max/2+10, "x") + "\x15\x19\x19", false},
		// A search string longer than any line is refused too; the keys
		// past it must not end up a line of their own.
		{"a search past the limit", "\x12" + strings.Repeat("x", max+100), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := ptySession(t, startServer(t, ""))
			stdin, out := atPrompt(t, sess)
			before := len(out.String())
			io.WriteString(stdin, tc.keys+"\rload $1 #9\r!registers\r")
			testutil.WaitFor(t, out, "$1 = 9\r\n", bound)
			got := out.String()[before:]
			want := "$2 = 0\r\n"
			if tc.runs {
				want = "$2 = 7\r\n"
			}
			if !strings.Contains(got, want) {
				t.Errorf("registers after the line: no %q", want)
			}
			tooLong := fmt.Sprintf("error: a line typed at a terminal holds at most %d characters", max)
			if refused := strings.Contains(got, tooLong) && strings.Contains(got, "\a"); refused == tc.runs {
				t.Errorf("refused (error %q and a bell) %v, want %v", tooLong, refused, !tc.runs)
			}
		})
	}
}

// maxTerminalLine is the REPL's limit on a line typed at a terminal, as
// the README states it.
const maxTerminalLine = 1024
