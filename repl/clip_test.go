package repl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
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

// A pid is never clipped away: with the default alias, a UUID of 36
// characters, "ALIAS:PID" is past 40 characters as soon as the pid has
// five digits, and the error must still say which pid it was.
func TestPidIsNotClipped(t *testing.T) {
	const alias = "9c088dfb-7191-40b2-adb7-adfc6885ece9"
	n, err := proc.New(proc.Config{Alias: alias, Threads: 1, VMConfig: vm.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	var out, errOut bytes.Buffer
	r, err := New(Config{In: strings.NewReader("!kill " + alias + ":2147483647\n!send " + alias + ":123456 #1\n"), Out: &out, Err: &errOut, Procs: n})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := "error: no process " + alias + ":2147483647\nerror: no process " + alias + ":123456\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}
