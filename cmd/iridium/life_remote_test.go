package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// within bounds every wait of the lifecycle tests: longer means a hang.
const within = 20 * time.Second

// startSSHNode starts a node with remote access on a free port, which it
// says on stderr, and returns it with that address; it logs at info. extra
// goes on the command line (--daemon-mode).
func startSSHNode(t *testing.T, alias string, extra ...string) (*replNode, string) {
	t.Helper()
	args := append([]string{"--data-root-dir", t.TempDir(), "--node-alias", alias, "--cookie", testCookie,
		"-P", "0", "-r", "-p", "0"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "IRIDIUM_LOG=info"}
	n := startProc(t, alias, cmd)
	return n, n.expect(`iridium: remote access listening on (127\.0\.0\.1:\d+)\n`)[1]
}

// spinSrc loops for ever and prints nothing: a write to a vanished client
// would fail and end a program that prints, and this one must end only if
// something stops it.
const spinSrc = "spin: djmp @spin\n"

// sshClient logs in to addr over a TCP connection of its own, opens a
// session and types line into its REPL (a script session, no pty). It
// returns the TCP connection: closing it makes the client vanish without
// a word, as a crashed client or a lost network does.
func sshClient(t *testing.T, addr, line string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, within)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	conn, chans, reqs, err := ssh.NewClientConn(c, addr, &ssh.ClientConfig{
		User:            "tester",
		Auth:            []ssh.AuthMethod{ssh.Password(testCookie)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         within,
	})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ssh.NewClient(conn, chans, reqs).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// cpuShare is the share of one core process pid uses over the next window.
func cpuShare(t *testing.T, pid int, window time.Duration) float64 {
	t.Helper()
	start, used := time.Now(), cpuTime(t, pid)
	time.Sleep(window)
	return float64(cpuTime(t, pid)-used) / float64(time.Since(start))
}

// waitBusy waits until process pid has used busy more CPU time than it
// had when called: a program it runs has got going.
func waitBusy(t *testing.T, pid int, busy time.Duration) {
	t.Helper()
	base := cpuTime(t, pid)
	deadline := time.Now().Add(within)
	for cpuTime(t, pid)-base < busy {
		if time.Now().After(deadline) {
			t.Fatalf("the program did not get going within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIdle waits until process pid, measured over one-second windows, uses
// less than a quarter of busy, the share it used while its program ran.
func waitIdle(t *testing.T, pid int, busy float64) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		share := cpuShare(t, pid, time.Second)
		if share < busy/4 {
			t.Logf("CPU: %.0f%% of a core while the program ran, %.0f%% once the client had gone", 100*busy, 100*share)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the client vanished the node still uses %.0f%% of a core (%.0f%% while the program ran)",
				within, 100*share, 100*busy)
		}
	}
}

// waitExit waits for the node to exit and checks its exit status.
func waitExit(t *testing.T, n *replNode, want int) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v", n.alias, within)
	}
	if code := n.cmd.ProcessState.ExitCode(); code != want {
		t.Errorf("%s exited with %v, want status %d", n.alias, n.cmd.ProcessState, want)
	}
}

// An SSH client that vanishes while its session runs an endless program
// takes the program with it: the node goes back to idle and still exits
// when asked, by !quit on its own REPL or, in daemon mode, SIGTERM. A
// client still connected when the node exits does not hold it either.
func TestVanishedSSHClient(t *testing.T) {
	prog := writeFile(t, "spin.iasm", spinSrc)
	for _, tc := range []struct {
		name     string
		daemon   bool
		line     string // what the client runs
		vanishes bool
	}{
		{"REPL, endless loop", false, "spin: djmp @spin", true},
		{"REPL, !load_file", false, "!load_file " + prog, true},
		{"REPL, !spawn", false, "!spawn " + prog, true},
		{"REPL, client still connected", false, "spin: djmp @spin", false},
		{"daemon, endless loop", true, "spin: djmp @spin", true},
		{"daemon, client still connected", true, "spin: djmp @spin", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.daemon {
				extra = []string{"--daemon-mode"}
			}
			n, addr := startSSHNode(t, "node", extra...)
			pid := n.cmd.Process.Pid
			c := sshClient(t, addr, tc.line)
			waitBusy(t, pid, 300*time.Millisecond)
			if tc.vanishes {
				busy := cpuShare(t, pid, time.Second)
				c.Close()
				waitIdle(t, pid, busy)
			}
			if tc.daemon {
				n.cmd.Process.Signal(syscall.SIGTERM)
			} else {
				n.send("!quit")
			}
			waitExit(t, n, 0)
		})
	}
}
