package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/internal/testutil"
	"golang.org/x/crypto/ssh"
)

func TestMaxSSHSessionsFlag(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // substring of stdout (code 0) or stderr
	}{
		{"in the help", []string{"--help"}, 0, "--max-ssh-sessions N"},
		{"zero", []string{"--max-ssh-sessions", "0"}, 2, "--max-ssh-sessions must be at least 1, got 0"},
		{"negative", []string{"--max-ssh-sessions=-3"}, 2, "--max-ssh-sessions must be at least 1, got -3"},
		{"not a number", []string{"--max-ssh-sessions", "many"}, 2, `invalid value "many" for --max-ssh-sessions: want a number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data-root-dir", t.TempDir()}, tc.args...)
			r := iridium(t, "", nil, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, tc.wantCode, r.stderr)
			}
			got := r.stderr
			if tc.wantCode == 0 {
				got = r.stdout
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, got)
			}
		})
	}
}

// The flag reaches the SSH server: with --max-ssh-sessions 1, a login
// takes the place of a connection that has not logged in, a second
// connection is closed at once while a client is logged in, and one is
// let in again once it has left.
func TestMaxSSHSessionsLimitsConnections(t *testing.T) {
	const within = 20 * time.Second
	cmd := exec.Command(binary, "--data-root-dir", t.TempDir(), "--cookie", "ssh-limits", "-P", "0",
		"--daemon-mode", "-r", "-p", "0", "--max-ssh-sessions", "1")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "IRIDIUM_LOG=info"}
	out := &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("iridium wrote:\n%s", out.String())
		}
	})

	addrRE := regexp.MustCompile(`msg="remote access" addr=(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(within)
	var addr string
	for addr == "" {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no SSH address logged within %v", within)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// greeted reports whether the server sent its SSH version line on a
	// new connection (false: it closed the connection first).
	greeted := func(c net.Conn) bool {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(within))
		line := make([]byte, len("SSH-2.0-"))
		_, err := io.ReadFull(c, line)
		if os.IsTimeout(err) {
			t.Fatal("the server neither greeted nor closed a connection")
		}
		return err == nil && string(line) == "SSH-2.0-"
	}
	connect := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, within)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// A connection that has not logged in keeps its place only until
	// another one comes.
	idle := connect()
	if !greeted(idle) {
		t.Fatal("the first connection was refused")
	}
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            "tester",
		Auth:            []ssh.AuthMethod{ssh.Password("ssh-limits")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         within,
	})
	if err != nil {
		t.Fatalf("no login while the only place was held by a connection not logged in: %v", err)
	}
	defer client.Close()
	idle.SetReadDeadline(time.Now().Add(within))
	if _, err := io.Copy(io.Discard, idle); err != nil {
		t.Fatalf("the connection not logged in was not closed for the login: %v", err)
	}
	testutil.WaitFor(t, out, `level=WARN msg="remote connection limit reached, closing the oldest connections not logged in" limit=1`, within)

	// A logged-in client keeps its place: one more is closed at once.
	if greeted(connect()) {
		t.Fatal("a second connection was let in with --max-ssh-sessions 1 and a client logged in")
	}
	testutil.WaitFor(t, out, `level=WARN msg="remote connection limit reached, refusing connections" limit=1`, within)
	client.Close()
	testutil.WaitFor(t, out, `msg="remote connections below the limit again" limit=1 refused=1 closed_for_room=1`, within)
	if !greeted(connect()) {
		t.Fatal("a connection was refused after the logged-in client left")
	}
}
