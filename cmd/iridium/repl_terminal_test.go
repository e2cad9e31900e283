package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// A line a program leaves open is ended before the prompt, which would
// otherwise be drawn over it.
func TestTerminalOpenLine(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	at := term.expect(0, ">>> ")
	term.send("load $5 #42\r")
	at = term.expect(at, ">>> ")
	term.send("prti $5\r")
	term.expect(at, "42")
	want := []string{">>> prti $5", "42", ">>>"}
	term.showsScreen("42 on its own line", func(rows []string) bool {
		return slices.Equal(lastRows(rows, 3), want)
	})
	term.leave()
}

// !load_file and !spawn without a PATH ask for it at a prompt of its own,
// where Tab completes the path and Ctrl-C gives up.
func TestTerminalPathPrompt(t *testing.T) {
	prog := writeFile(t, "quick.iasm", ".data\nmsg: .asciiz 'quick\\n'\n.code\nprts @msg\n")
	dir := filepath.Dir(prog)
	term := startTerminal(t, t.TempDir())
	at := term.expect(0, ">>> ")

	term.send("!spawn\r")
	at = term.expect(at, "path: ")
	term.showsScreen("the path prompt", func(rows []string) bool {
		return slices.Equal(lastRows(rows, 2), []string{">>> !spawn", "path:"})
	})
	term.send(filepath.Join(dir, "qu") + "\t")
	at = term.expect(at, "quick.iasm")
	term.send("\r")
	at = term.expect(at, "#1 "+prog+" ended: exit code 0")
	at = term.expect(at, ">>> ")

	term.send("!load_file\r")
	at = term.expect(at, "path: ")
	term.send("\x03")
	term.expect(at, "error: no path given")
	term.leave()
}

// A background program's report appears on lines of its own above the
// prompt, and the prompt is drawn again below it with the line being
// typed. A quick program's report tends to come as the prompt is drawn, a
// slow one's while the line is typed; either way the screen must end up
// the same.
func TestTerminalReportAbovePrompt(t *testing.T) {
	tests := []struct{ name, src string }{
		{"quick", "load $1 #1\n"},
		{"slow", "load $1 #0\nload $2 #100\nlui $2 #0\ntop: inc $1\nneq $1 $2\ndjmpe @top\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog := writeFile(t, tc.name+".iasm", tc.src)
			term := startTerminal(t, t.TempDir())
			at := term.expect(0, ">>> ")
			term.send("!spawn " + prog + "\r")
			at = term.expect(at, "spawned #1")
			term.send("load $1 #7")
			ended := "#1 " + prog + " ended: exit code 0"
			term.expect(at, ended)
			rows := term.showsScreen("the prompt and the typed line below the report", func(rows []string) bool {
				return len(rows) > 0 && rows[len(rows)-1] == ">>> load $1 #7"
			})
			i := slices.Index(rows, ended)
			if i < 0 {
				t.Fatalf("the report is not on a line of its own:\n%s", strings.Join(rows, "\n"))
			}
			for _, row := range rows[i+1 : len(rows)-1] {
				if !strings.HasPrefix(row, "#1 event: ") {
					t.Errorf("between the report and the prompt: %q\n%s", row, strings.Join(rows, "\n"))
				}
			}
			term.send("\r!registers\r")
			term.expect(at, "$1 = 7")
			term.leave()
		})
	}
}

// Leaving a terminal session interrupts background programs instead of
// waiting for them.
func TestTerminalLeaveStopsBackgroundPrograms(t *testing.T) {
	spin := writeFile(t, "spin.iasm", "spin: djmp @spin\n")
	term := startTerminal(t, t.TempDir())
	at := term.expect(0, ">>> ")
	term.send("!spawn " + spin + "\r")
	at = term.expect(at, "spawned #1")
	at = term.expect(at, ">>> ")
	term.send("\x04")
	term.expect(at, "#1 "+spin+" ended: exit code 2 (interrupted at pc")
	if code := term.wait(); code != 0 {
		t.Fatalf("exit code %d after Ctrl-D", code)
	}
}

// A history file that cannot be one (a FIFO, which would hold the start
// waiting for a reader; a link to /dev/zero, which would be read for
// ever) does not stop the REPL: it says so and keeps the session's
// history in memory.
func TestTerminalUnusableHistory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(path string) error
		want  string
	}{
		{"a FIFO", func(path string) error { return syscall.Mkfifo(path, 0o600) }, "is a FIFO: not used"},
		{"a link to /dev/zero", func(path string) error { return os.Symlink("/dev/zero", path) }, "is not a regular file: not used"},
		{"a directory", func(path string) error { return os.Mkdir(path, 0o700) }, "is a directory: not used"},
		{"a link to itself", func(path string) error { return os.Symlink(path, path) }, "too many levels of symbolic links: not used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.setup(filepath.Join(dir, "history")); err != nil {
				t.Fatal(err)
			}
			term := startTerminal(t, dir)
			term.expect(0, tc.want)
			term.atEmptyPrompt("the first prompt")
			term.send("load $5 #42\r")
			// Keys sent before the next prompt is drawn reach a terminal
			// in cooked mode, which takes a Ctrl-D for itself. Until the
			// line is echoed the screen still ends in the first prompt,
			// so wait for the line and an empty prompt below it.
			term.showsScreen("the prompt after the line", func(rows []string) bool {
				return slices.Equal(lastRows(rows, 2), []string{">>> load $5 #42", ">>>"})
			})
			term.send("\x1b[A") // Up: the line typed, from memory
			term.showsScreen("the line recalled", func(rows []string) bool {
				return slices.Equal(lastRows(rows, 2), []string{">>> load $5 #42", ">>> load $5 #42"})
			})
			term.send("\x03")
			term.leave()
		})
	}
}
