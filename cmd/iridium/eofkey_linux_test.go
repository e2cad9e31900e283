package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Ctrl-D typed while a line runs is read at the next prompt and leaves
// the REPL there, as keys typed ahead are. (The terminal is in its normal
// mode while a line runs, where Ctrl-D was the kernel's end of input: the
// key was lost.) Once the REPL has left, Ctrl-D is the end of input
// again.
func TestTerminalCtrlDWhileALineRuns(t *testing.T) {
	prog := writeFile(t, "count.iasm", `.data
m: .asciiz 'counting\n'
.code
    prts @m
    load $1 #5000
    mul $1 $1 $1        ; 25 million times round
    load $2 #0
spin:
    dec $1
    gt $1 $2
    djmpe @spin
`)
	term := startTerminal(t, t.TempDir())
	at := term.expect(0, ">>> ")
	term.send("!load_file " + prog + "\r")
	term.expect(at, "counting")
	term.send("\x04")
	if code := term.wait(); code != 0 {
		t.Fatalf("exit code %d after Ctrl-D", code)
	}
	tio, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Cc[unix.VEOF] != 4 {
		t.Errorf("after the REPL left, the end-of-input key is %#x, want Ctrl-D (0x4)", tio.Cc[unix.VEOF])
	}
}
