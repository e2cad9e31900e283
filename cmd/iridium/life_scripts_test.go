package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/iridium-go/iridium/internal/testutil"
)

// scriptEnv is the environment for running a script of scripts/ (or
// tmux): its temporary files (so the nodes' data directories) go under
// tmp, tmux keeps its sockets there too, and the nodes run the test
// binary. TMUX is dropped, lest tmux talk to the one the tests may run in;
// extra may set it.
func scriptEnv(tmp string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") {
			env = append(env, kv)
		}
	}
	return append(env, append([]string{"IRIDIUM=" + binary, "TMPDIR=" + tmp, "TMUX_TMPDIR=" + tmp}, extra...)...)
}

// leftovers are the processes whose command line mentions dir, such as
// nodes started with a data directory under it: left behind if the
// script that started them is gone.
func leftovers(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// noLeftovers fails the test if a process mentioning dir still runs, and
// kills it by PID.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	for _, pid := range leftovers(t, dir) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		t.Errorf("left running: pid %d: %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// runScript runs a script of scripts/ with stdin, bounded by a deadline.
func runScript(t *testing.T, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join("..", "..", "scripts", args[0])}, args[1:]...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within the deadline:\n%s", args[0], out)
	}
	return string(out), err
}

// A node that exits while the cluster forms (here: its port is taken) is
// named at once, with its exit status and its log, and the others are
// stopped.
func TestLocalClusterScriptNodeExits(t *testing.T) {
	tmp := t.TempDir()
	base := freeBasePort(t, 2)
	taken, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	out, err := runScript(t, scriptEnv(tmp, "BASE_PORT="+strconv.Itoa(base), "TIMEOUT=60"), "", "local_cluster.sh", "2")
	if err == nil {
		t.Fatalf("the script succeeded without node1:\n%s", out)
	}
	for _, want := range []string{
		"node1 (pid ",
		", port " + strconv.Itoa(base) + ") exited with status 1; its log:\n",
		"address already in use",
		"stopping 2 nodes\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "within") {
		t.Errorf("the script blames the time:\n%s", out)
	}
	noLeftovers(t, tmp)
}

func TestLocalClusterScriptOneNode(t *testing.T) {
	tmp := t.TempDir()
	base := freeBasePort(t, 1)
	out, err := runScript(t, scriptEnv(tmp, "BASE_PORT="+strconv.Itoa(base)), "stop\n", "local_cluster.sh", "1")
	if err != nil || !strings.HasSuffix(out, "\nstopping 1 node\n") {
		t.Errorf("%v:\n%s", err, out)
	}
	noLeftovers(t, tmp)
}

// outerTmux starts a tmux server of the test's own, with a session called
// iridium (the script's default name), and returns the value TMUX has in
// its panes: the script then runs as if typed into that session.
func outerTmux(t *testing.T, tmp string) string {
	t.Helper()
	tmux := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("tmux", args...)
		cmd.Env = scriptEnv(tmp)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	tmux("-f", "/dev/null", "new-session", "-d", "-s", "iridium", "sleep 1000000")
	info := tmux("display-message", "-p", "-t", "iridium", "#{socket_path} #{pid} #{session_id}")
	f := strings.Fields(info)
	pid, _ := strconv.Atoi(f[1])
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	t.Cleanup(func() {
		// The script must leave the tmux it runs in as it found it.
		if _, err := exec.Command("tmux", "-S", f[0], "has-session", "-t", "iridium").CombinedOutput(); err != nil {
			t.Error("the script ended the outer tmux's session called iridium")
		}
	})
	return f[0] + "," + f[1] + "," + strings.TrimPrefix(f[2], "$")
}

// scripts/test_cluster.sh run from inside tmux: without a terminal it
// shows the panes; at a terminal it attaches, and detaching stops the
// cluster. Either way it leaves no node running and the tmux it runs in
// untouched.
func TestTmuxClusterScriptInsideTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		testutil.Missing(t, "tmux is not installed (apt-get install tmux; .ci/run installs it)")
	}
	t.Run("no terminal", func(t *testing.T) {
		tmp := t.TempDir()
		env := scriptEnv(tmp, "BASE_PORT="+strconv.Itoa(freeBasePort(t, 3)), "TMUX="+outerTmux(t, tmp))
		out, err := runScript(t, env, "", "test_cluster.sh")
		if err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if n := strings.Count(out, "(self)"); n != 3 {
			t.Errorf("want each of the 3 panes to list itself, got %d:\n%s", n, out)
		}
		noLeftovers(t, tmp)
	})
	t.Run("at a terminal", func(t *testing.T) {
		tmp := t.TempDir()
		base := freeBasePort(t, 3)
		cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "test_cluster.sh"))
		cmd.Env = scriptEnv(tmp, "BASE_PORT="+strconv.Itoa(base), "TMUX="+outerTmux(t, tmp), "TERM=xterm")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu     sync.Mutex
			screen bytes.Buffer
		)
		go io.Copy(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return screen.Write(p)
		}), tty)
		var waitErr error // the script's exit, once ended is closed
		ended := make(chan struct{})
		go func() { waitErr = cmd.Wait(); close(ended) }()
		defer func() {
			tty.Close()
			noLeftovers(t, tmp)
		}()
		// shows waits until the screen holds every text of want (true),
		// or the script ends or the deadline passes (false).
		shows := func(deadline time.Time, want ...string) bool {
			for {
				mu.Lock()
				all := true
				for _, w := range want {
					all = all && strings.Contains(screen.String(), w)
				}
				mu.Unlock()
				if all {
					return true
				}
				select {
				case <-ended:
					return false
				case <-time.After(10 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					return false
				}
			}
		}
		lastScreen := func() string {
			mu.Lock()
			defer mu.Unlock()
			s := screen.String()
			return s[max(0, len(s)-2000):]
		}
		// Attached: the panes are on the screen.
		deadline := time.Now().Add(within)
		if !shows(deadline, "node2 127.0.0.1:"+strconv.Itoa(base+2), "(self)") {
			select {
			case <-ended:
				t.Fatalf("the script ended (%v) without attaching; the screen ends:\n%s", waitErr, lastScreen())
			default:
				cmd.Process.Kill()
				t.Fatalf("not attached within %v; the screen ends:\n%s", within, lastScreen())
			}
		}
		// Ctrl-B d detaches: tmux says so, or the script has ended. The
		// keys are typed again if neither has happened a second later:
		// what is tested is what the script does once detached, not how
		// soon after drawing tmux reads its first keys.
		deadline = time.Now().Add(within)
		tty.Write([]byte{'B' - '@', 'd'})
	typing:
		for !shows(time.Now().Add(time.Second), "[detached") {
			select {
			case <-ended:
				break typing
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("tmux did not detach within %v; the screen ends:\n%s", within, lastScreen())
			}
			tty.Write([]byte{'B' - '@', 'd'})
		}
		select {
		case <-ended:
			if waitErr != nil {
				t.Errorf("the script ended with %v after detaching", waitErr)
			}
		case <-time.After(within):
			cmd.Process.Kill()
			t.Fatalf("the script did not end within %v of detaching; the screen ends:\n%s", within, lastScreen())
		}
	})
}

// writerFunc is a function that is an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
