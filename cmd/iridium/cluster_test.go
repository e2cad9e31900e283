package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// replNode is an iridium REPL process driven line by line through a pipe,
// as a script would drive it.
type replNode struct {
	t     *testing.T
	alias string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer // stdout and stderr
	read  int          // how much of out expect has consumed
	done  chan struct{}
}

const testCookie = "e2e-cookie"

func startREPLNode(t *testing.T, alias string, extra ...string) *replNode {
	t.Helper()
	args := append([]string{"--data-root-dir", t.TempDir(), "--node-alias", alias, "--cookie", testCookie, "-P", "0"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	return startProc(t, alias, cmd)
}

func (n *replNode) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.out.Write(p)
}

func (n *replNode) send(line string) {
	n.t.Helper()
	if _, err := io.WriteString(n.stdin, line+"\n"); err != nil {
		n.t.Fatalf("%s: %v", n.alias, err)
	}
}

// expect waits until the output not yet consumed matches re, consumes it
// up to the end of the match, and returns the submatches.
func (n *replNode) expect(re string) []string {
	n.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for {
		n.mu.Lock()
		unread := n.out.String()[n.read:]
		loc := rx.FindStringSubmatchIndex(unread)
		if loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = unread[loc[2*i]:loc[2*i+1]]
				}
			}
			n.read += loc[1]
			n.mu.Unlock()
			return m
		}
		n.mu.Unlock()
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: no match for %q in:\n%s", n.alias, re, unread)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startCluster starts the node's listener and returns its port.
func (n *replNode) startCluster() string {
	n.send("!start_cluster")
	return n.expect(`cluster listening on 127\.0\.0\.1:(\d+)\n`)[1]
}

// members runs !cluster_members and returns its lines, sorted.
func (n *replNode) members() []string {
	n.t.Helper()
	n.send("!cluster_members")
	n.send("!help") // a marker: its first line ends the member list
	block := n.expect(`(?s)(.*?)!help `)[1]
	n.expect(`anything else.*\n`)
	lines := strings.Split(strings.TrimSpace(block), "\n")
	sort.Strings(lines)
	return lines
}

// waitMembers polls !cluster_members until it equals want.
func (n *replNode) waitMembers(want []string) {
	n.t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := n.members()
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s lists\n%s\nwant\n%s", n.alias, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantList is the member list node self should print.
func wantList(self string, ports map[string]string) []string {
	var out []string
	for alias, port := range ports {
		line := fmt.Sprintf("%s 127.0.0.1:%s", alias, port)
		if alias == self {
			line += " (self)"
		}
		out = append(out, line)
	}
	return out
}

func TestClusterEndToEnd(t *testing.T) {
	a := startREPLNode(t, "alpha")
	b := startREPLNode(t, "bravo")
	c := startREPLNode(t, "charlie")
	ports := map[string]string{"alpha": a.startCluster()}

	// bravo and charlie join through alpha; their listeners start on
	// their own and announce the ports they really got.
	for _, n := range []*replNode{b, c} {
		n.send("!join_cluster 127.0.0.1 " + ports["alpha"])
		n.expect(`joined the cluster`)
		n.send("!start_cluster") // already listening: says where
		ports[n.alias] = n.expect(`cluster listening on 127\.0\.0\.1:(\d+)\n`)[1]
	}
	for _, n := range []*replNode{a, b, c} {
		n.waitMembers(wantList(n.alias, ports))
	}

	// A fourth node joins through a member that is not the first.
	d := startREPLNode(t, "delta")
	d.send("!join_cluster 127.0.0.1:" + ports["charlie"])
	d.expect(`joined the cluster: 4 members`)
	d.send("!start_cluster")
	ports["delta"] = d.expect(`cluster listening on 127\.0\.0\.1:(\d+)\n`)[1]
	for _, n := range []*replNode{a, b, c, d} {
		n.waitMembers(wantList(n.alias, ports))
	}

	// charlie leaves; the others drop it.
	c.send("!leave_cluster")
	c.expect(`left the cluster\n`)
	delete(ports, "charlie")
	for _, n := range []*replNode{a, b, d} {
		n.waitMembers(wantList(n.alias, ports))
	}
	if got := c.members(); len(got) != 1 || !strings.HasPrefix(got[0], "not in a cluster") {
		t.Errorf("after leaving, charlie lists %q", got)
	}

	// !quit leaves gracefully too, and the process exits with 0.
	b.send("!quit")
	select {
	case <-b.done:
		if code := b.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("bravo exited with %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("bravo did not exit after !quit")
	}
	delete(ports, "bravo")
	for _, n := range []*replNode{a, d} {
		n.waitMembers(wantList(n.alias, ports))
	}
}

func TestJoinClusterErrors(t *testing.T) {
	a := startREPLNode(t, "alpha")
	port := a.startCluster()

	stranger := startREPLNode(t, "stranger", "--cookie", "another-cookie")
	stranger.send("!join_cluster 127.0.0.1 " + port)
	stranger.expect(`error: .*authentication failed`)

	twin := startREPLNode(t, "alpha")
	twin.send("!join_cluster 127.0.0.1 " + port)
	twin.expect(`error: .*alias`)

	// Nothing listens on a port just freed by a node that left.
	gone := startREPLNode(t, "gone")
	gonePort := gone.startCluster()
	gone.send("!leave_cluster")
	gone.send("!cluster_members")
	gone.expect(`not in a cluster`)
	lonely := startREPLNode(t, "lonely")
	lonely.send("!join_cluster 127.0.0.1 " + gonePort)
	// The dial names the address dialled, not the one it was bound to.
	lonely.expect(`error: cluster: join 127\.0\.0\.1:` + gonePort + `: dial tcp 127\.0\.0\.1:` + gonePort + `: connect: connection refused\n`)

	a.waitMembers([]string{"alpha 127.0.0.1:" + port + " (self)"})
}
