package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal is the binary running on a pseudo-terminal, as a person at a
// keyboard would run it.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	seen bytes.Buffer
	done chan struct{} // closed when the process's output ends
	// exited is closed when the process has exited (the only cmd.Wait);
	// err is then Wait's result.
	exited chan struct{}
	err    error
}

func startTerminal(t *testing.T, dataDir string) *terminal {
	t.Helper()
	cmd := exec.Command(binary, "--data-root-dir", dataDir)
	cmd.Env = []string{"HOME=" + t.TempDir(), "TERM=xterm", "PATH=" + os.Getenv("PATH")}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, cmd: cmd, tty: tty, done: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		term.err = cmd.Wait()
		close(term.exited)
	}()
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-term.exited
		tty.Close()
		<-term.done
	})
	return term
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := term.tty.WriteString(keys); err != nil {
		term.t.Fatal(err)
	}
}

// expect waits until the screen output after offset contains want and
// returns the offset just past it.
func (term *terminal) expect(from int, want string) int {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := term.output()
		if i := strings.Index(out[from:], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("no %q on the terminal after offset %d; it shows:\n%q", want, from, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leave presses Ctrl-D at an empty prompt, which ends the REPL with
// status 0.
func (term *terminal) leave() {
	term.t.Helper()
	term.atEmptyPrompt("an empty prompt to leave at")
	term.send("\x04")
	if code := term.wait(); code != 0 {
		term.t.Fatalf("exit code %d after Ctrl-D", code)
	}
}

// wait waits for the process to exit and returns its exit code. If it
// does not exit, the test fails with what the process shows after a
// SIGQUIT: the Go runtime's account of every goroutine.
func (term *terminal) wait() int {
	term.t.Helper()
	select {
	case <-term.exited:
	case <-time.After(15 * time.Second):
		term.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-term.done: // all it wrote has been read
		case <-time.After(5 * time.Second):
		}
		term.t.Fatalf("iridium did not exit; after SIGQUIT it showed:\n%s", term.output())
	}
	if exit, ok := term.err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	if term.err != nil {
		term.t.Fatal(term.err)
	}
	return 0
}

func TestTerminalSession(t *testing.T) {
	data := t.TempDir()
	term := startTerminal(t, data)
	at := term.expect(0, "Welcome to Iridium")
	at = term.expect(at, ">>> ")

	// Tab completes a command.
	term.send("!regi\t")
	at = term.expect(at, "!registers ")
	term.send("\r")
	at = term.expect(at, "$31 = 0")

	// Ctrl-C interrupts a running program and the REPL goes on. The loop
	// prints, so the test knows it runs before it presses Ctrl-C.
	term.send("spin: prti $0\r")
	at = term.expect(at, "0")
	term.send("djmp @spin\r")
	at = term.expect(at, "0000000000")
	term.send("\x03")
	at = term.expect(at, "interrupted")
	term.send("load $1 #9\r!registers\r")
	at = term.expect(at, "$1 = 9")

	// Ctrl-D leaves with status 0.
	term.leave()

	// History is kept in the data directory across sessions: the up arrow
	// brings back the last line.
	hist, err := os.ReadFile(data + "/history")
	if err != nil || !strings.Contains(string(hist), "load $1 #9") {
		t.Fatalf("history file: %q, %v", hist, err)
	}
	// Only its owner may read it: lines typed may hold secrets.
	if fi, err := os.Stat(data + "/history"); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v, want 0600", fi.Mode())
	}
	term2 := startTerminal(t, data)
	at2 := term2.expect(0, ">>> ")
	term2.send("\x1b[A")
	at2 = term2.expect(at2, "!registers")
	term2.send("\r")
	term2.expect(at2, "$1 = 0") // a new node: fresh registers
	term2.leave()
}

// A history longer than readline keeps (500 lines) is rewritten at start;
// the file stays readable by its owner alone.
func TestLongHistoryStaysPrivate(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "history")
	if err := os.WriteFile(path, []byte(strings.Repeat("load $1 #1\n", 600)), 0o600); err != nil {
		t.Fatal(err)
	}
	term := startTerminal(t, data)
	term.expect(0, ">>> ")
	term.leave()
	hist, err := os.ReadFile(path)
	if err != nil || strings.Count(string(hist), "\n") > 501 {
		t.Fatalf("history of %d lines, %v: not rewritten", strings.Count(string(hist), "\n"), err)
	}
	if fi, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v after the rewrite, want 0600", fi.Mode())
	}
}

// TestTerminalCtrlCStartsALine: the terminal echoes a Ctrl-C as ^C where
// the cursor is; the fault of the program it interrupts is shown on a line
// of its own, not glued to the ^C.
func TestTerminalCtrlCStartsALine(t *testing.T) {
	loop := writeFile(t, "quiet.iasm", ".data\nup: .asciiz 'up\\n'\n.code\nprts @up\nl: djmp @l\n")
	term := startTerminal(t, t.TempDir())
	at := term.expect(0, ">>> ")
	term.send("!load_file " + loop + "\r")
	at = term.expect(at, "up\r\n") // it loops, printing nothing more
	term.send("\x03")
	at = term.expect(at, "error: interrupted at pc 0x0004 (DJMP)")
	if shown := term.output(); !strings.Contains(shown, "^C\r\nerror: interrupted") {
		t.Errorf("the fault does not start a line after the echoed ^C: %q", shown[max(0, len(shown)-80):])
	}
	term.expect(at, ">>> ")
	term.leave()
}

// TestTerminalCtrlCDuringACommand: Ctrl-C while a command (not a program)
// runs, here a long !program listing, does not end the REPL: at a terminal
// leaving takes Ctrl-D or Ctrl-C twice at the prompt.
func TestTerminalCtrlCDuringACommand(t *testing.T) {
	long := writeFile(t, "long.iasm", strings.Repeat("nop\n", 100_000))
	term := startTerminal(t, t.TempDir())
	at := term.expect(0, ">>> ")
	term.send("!load_file " + long + "\r")
	at = term.expect(at, ">>> ")
	term.send("!program\r")
	at = term.expect(at, "; 0x0400") // the listing has begun: 100,000 lines to go
	term.send("\x03")
	// The terminal drops what was typed with the Ctrl-C: type at the prompt.
	at = term.expect(at, ">>> ")
	term.send("load $1 #9\r!registers\r")
	at = term.expect(at, "$1 = 9")
	term.leave()
}
