package repl

import (
	"strings"
	"testing"
)

// TestLongWordsAreClipped: a command that quotes back what was typed
// quotes at most 40 characters of it and says how long it was, so that a
// long word (a script's or an SSH client's line, up to 1 MiB) gets one
// short error line, as the assembler's errors are.
func TestLongWordsAreClipped(t *testing.T) {
	x := strings.Repeat("x", 5000)
	clipped := strings.Repeat("x", 40) + "... (5000 characters)"
	prog := writeProgram(t, "hlt")
	tests := []struct{ line, want string }{
		{"!" + x, "error: unknown command !" + clipped + "; !help lists the commands\n"},
		{"!help " + x, `error: unexpected argument "` + clipped + `"` + "\n"},
		{"!kill " + x, `error: "` + clipped + `" is not ALIAS:PID` + "\n"},
		{"!kill a:" + x, `error: "a:` + strings.Repeat("x", 38) + `... (5002 characters)": the pid must be a whole number from 1 to 2147483647` + "\n"},
		{"!kill " + x + ":7", "error: " + clipped + ": not a connected member\n"},
		{"!spawn_on " + x + " " + prog, "error: " + clipped + ": not a connected member\n"},
		{"!send test:99 " + x, `error: "` + clipped + `" is not an int32 value` + "\n"},
		{"!send test:99 #1", "error: no process test:99\n"},
		{"!send " + x + ":1 #1", "error: " + clipped + ": not a connected member\n"},
		// Errors from below the commands repeat a word whole; the line
		// clips any word past longWord characters.
		{"!load_file " + x, "error: open " + clipped + ": file name too long\n"},
		{"!spawn /tmp/" + x + "/a.iasm", "error: open /tmp/" + strings.Repeat("x", 35) + "... (5012 characters): file name too long\n"},
		{"!load_file\n!" + x, "error: !" + strings.Repeat("x", 39) + "... (5001 characters) is a command, not a path: not run (a file so named is ./!" + strings.Repeat("x", 39) + "... (5001 characters))\n"},
	}
	for _, tc := range tests {
		_, stderr := script(t, tc.line)
		if stderr != tc.want {
			t.Errorf("%.60q:\n got %.300q\nwant %q", tc.line, stderr, tc.want)
		}
	}
}
