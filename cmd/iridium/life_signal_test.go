package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creack/pty"
)

// linesThenSpin prints the numbers 0 to 19999, one a line (about 110 kB,
// many times the output buffer), then loops for ever.
const linesThenSpin = `.data
nl: .asciiz '\n'
.code
    load $1 #20000
next: prti $0
    prts @nl
    inc $0
    lt $0 $1
    djmpe @next
spin: djmp @spin
`

// checkLines fails the test unless out is the first lines of what
// linesThenSpin prints, each one whole.
func checkLines(t *testing.T, out string) {
	t.Helper()
	if out == "" {
		return
	}
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("the output ends in a cut line: ...%q", out[max(0, len(out)-40):])
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line != strconv.Itoa(i) {
			t.Fatalf("line %d is %q, want %d (of %d bytes)", i+1, line, i, len(out))
		}
	}
}

// signalledRun starts `iridium FILE`, sends sig at once or, with
// afterFirstLine, once the first line of output has arrived, and returns
// what it printed and how it ended.
func signalledRun(t *testing.T, file string, sig syscall.Signal, afterFirstLine bool) (stdout, stderr string, state *os.ProcessState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if afterFirstLine {
		buf := make([]byte, 64<<10)
		for !bytes.Contains(got.Bytes(), []byte("\n")) {
			n, err := out.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				t.Fatalf("no line of output: %v (stderr %q)", err, errOut.String())
			}
		}
	}
	cmd.Process.Signal(sig)
	io.Copy(&got, out)
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("iridium did not exit within %v of %v", within, sig)
	}
	if err != nil && !errors.As(err, new(*exec.ExitError)) {
		t.Fatal(err)
	}
	return got.String(), errOut.String(), cmd.ProcessState
}

// A SIGINT or SIGTERM stops a file run whenever it comes, and everything
// the program printed before it is there, whole. Once the program runs
// (here: once it has printed a line) the run says it was interrupted and
// exits with status 1. A signal in the process's first moments, before
// the program starts, may end it the default way; nothing has been
// printed then.
func TestFileRunSignalKeepsOutput(t *testing.T) {
	file := writeFile(t, "lines.iasm", linesThenSpin)
	interrupted := func(t *testing.T, stderr string, state *os.ProcessState) {
		t.Helper()
		if state.ExitCode() != exitFault || !strings.Contains(stderr, "interrupted") {
			t.Errorf("%v, stderr %q; want exit status %d and 'interrupted'", state, stderr, exitFault)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String()+" at once", func(t *testing.T) {
			killed := 0
			for range 10 {
				stdout, stderr, state := signalledRun(t, file, sig, false)
				checkLines(t, stdout)
				if ws := state.Sys().(syscall.WaitStatus); ws.Signaled() {
					if ws.Signal() != sig || stdout != "" {
						t.Fatalf("killed by %v after printing %d bytes", ws.Signal(), len(stdout))
					}
					killed++
					continue
				}
				interrupted(t, stderr, state)
			}
			t.Logf("%d of 10 runs ended before the program started", killed)
		})
		t.Run(sig.String()+" after the first line", func(t *testing.T) {
			for range 5 {
				stdout, stderr, state := signalledRun(t, file, sig, true)
				checkLines(t, stdout)
				interrupted(t, stderr, state)
			}
		})
	}
}

// A signal that ends a node lets it clean up: in a script, SIGINT between
// programs or SIGTERM leave the cluster and exit with 128+signal, even
// while the REPL waits for input that never comes.
func TestNodeSignalLeavesCluster(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			d, port := startDaemon(t, "alpha")
			n := startREPLNode(t, "bravo")
			n.send("!join_cluster 127.0.0.1 " + port)
			n.expect(`joined the cluster: 2 members`)
			d.expect(`members 2\n`)
			n.cmd.Process.Signal(sig)
			waitExit(t, n, 128+int(sig))
			d.expect(`members 1\n`)
		})
	}
}

// termios is the terminal mode of tty.
func termios(t *testing.T, tty *os.File) syscall.Termios {
	t.Helper()
	var tio syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, tty.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&tio))); errno != 0 {
		t.Fatal(errno)
	}
	return tio
}

// SIGTERM to a node at its terminal prompt, where readline holds the
// terminal in raw mode, ends it with status 143 and gives the terminal
// back as it found it: echo and line editing on.
func TestNodeSignalRestoresTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	cooked := termios(t, tty).Lflag & (syscall.ICANON | syscall.ECHO)
	if cooked != syscall.ICANON|syscall.ECHO {
		t.Fatalf("a new terminal is not in cooked mode: lflag %#x", cooked)
	}
	cmd := exec.Command(binary, "--data-root-dir", t.TempDir())
	cmd.Env = []string{"HOME=" + t.TempDir(), "TERM=xterm", "PATH=" + os.Getenv("PATH")}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	go io.Copy(io.Discard, ptmx) // the screen
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })

	deadline := time.Now().Add(within)
	for termios(t, tty).Lflag&(syscall.ICANON|syscall.ECHO) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the REPL did not put its terminal in raw mode within %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(within):
		t.Fatalf("the node did not exit within %v of SIGTERM", within)
	}
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("%v, want exit status %d", cmd.ProcessState, 128+int(syscall.SIGTERM))
	}
	if got := termios(t, tty).Lflag & (syscall.ICANON | syscall.ECHO); got != cooked {
		t.Errorf("the terminal was left in raw mode: lflag %#x, want %#x", got, cooked)
	}
}
