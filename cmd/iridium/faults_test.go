package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster"
)

// startProc starts cmd (an iridium process, possibly behind `ip netns
// exec`, which execs it: the PID is iridium's) with its output captured
// like startREPLNode's; it is killed by PID when the test ends.
func startProc(t *testing.T, alias string, cmd *exec.Cmd) *replNode {
	t.Helper()
	n := &replNode{t: t, alias: alias, cmd: cmd, done: make(chan struct{})}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.stdin = stdin
	cmd.Stdout, cmd.Stderr = n, n
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT) // in case the test stopped it
		cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			// Every node's own account, to tell what went wrong.
			n.mu.Lock()
			t.Logf("%s (%v) wrote:\n%s", alias, cmd.ProcessState, n.out.String())
			n.mu.Unlock()
		}
	})
	return n
}

// stop sends the node SIGSTOP and returns once the kernel shows every
// thread of it stopped: kill(2) returns before a thread running on another
// CPU has stopped, and a test that asks a stopped node something must not
// get its answer.
func (n *replNode) stop() {
	n.t.Helper()
	pid := n.cmd.Process.Pid
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !allThreadsStopped(pid) {
		if time.Now().After(deadline) {
			n.t.Fatalf("%s (pid %d) not stopped 5 s after SIGSTOP", n.alias, pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// allThreadsStopped reports whether every thread of pid is in state T
// (stopped by a signal), read from /proc/PID/task/TID/stat, where the state
// follows the command name's closing parenthesis.
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return false
		}
	}
	return true
}

// startDaemon starts `iridium --daemon-mode` on loopback and returns it
// with its listening port.
func startDaemon(t *testing.T, alias string, extra ...string) (*replNode, string) {
	t.Helper()
	n := startREPLNode(t, alias, append([]string{"--daemon-mode"}, extra...)...)
	port := n.expect(regexp.QuoteMeta(alias) + ` listening on 127\.0\.0\.1:(\d+)\n`)[1]
	return n, port
}

// memberBlock is one member list a daemon printed: when, and its lines.
type memberBlock struct {
	at    time.Time
	lines []string
}

var blockRE = regexp.MustCompile(`(?m)^(\S+) members (\d+)\n((?:  .*\n)*)`)

// blocks parses every member list the daemon printed so far.
func (n *replNode) blocks() []memberBlock {
	n.mu.Lock()
	out := n.out.String()
	n.mu.Unlock()
	var bs []memberBlock
	for _, m := range blockRE.FindAllStringSubmatch(out, -1) {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(m[3], "\n"), "\n") {
			if l != "" {
				lines = append(lines, strings.TrimPrefix(l, "  "))
			}
		}
		if fmt.Sprint(len(lines)) != m[2] {
			continue // cut by a write still under way
		}
		bs = append(bs, memberBlock{at, lines})
	}
	return bs
}

// waitList waits until the daemon's latest member list is want (in any
// order) and returns that list.
func (n *replNode) waitList(t *testing.T, want []string, timeout time.Duration) memberBlock {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	deadline := time.Now().Add(timeout)
	for {
		bs := n.blocks()
		if len(bs) > 0 {
			last := bs[len(bs)-1]
			got := slices.Clone(last.lines)
			slices.Sort(got)
			if slices.Equal(got, want) {
				return last
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lists\n  %s\nwant\n  %s", n.alias, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("%s printed no member list", n.alias)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listsOf is the member list daemon self should print, for aliases at
// host with the given ports.
func listsOf(self, host string, ports map[string]string) []string {
	var out []string
	for alias, port := range ports {
		line := alias + " " + host + ":" + port
		if alias == self {
			line += " (self)"
		}
		out = append(out, line)
	}
	return out
}

// everyoneLists waits until every daemon in ds lists exactly the members
// of ports and returns the latest time any of them got there.
func everyoneLists(t *testing.T, ds map[string]*replNode, host string, ports map[string]string, timeout time.Duration) time.Time {
	t.Helper()
	var last time.Time
	for alias := range ports {
		b := ds[alias].waitList(t, listsOf(alias, host, ports), timeout)
		if b.at.After(last) {
			last = b.at
		}
	}
	return last
}

// The daemons run with the default timings; a dead peer must be gone
// within this on loopback.
const deadWithin = 3 * time.Second

func init() {
	if cluster.DefaultHeartbeatTimeout >= deadWithin {
		panic("the default heartbeat timeout no longer drops a dead peer within 3 s")
	}
}

// TestDaemonFailures kills, stops and restarts real daemons: the others
// drop a killed one at once, a stopped one within the heartbeat timeout,
// and take back a restarted or resumed one with no stale entry.
func TestDaemonFailures(t *testing.T) {
	ds := map[string]*replNode{}
	ports := map[string]string{}
	ds["alpha"], ports["alpha"] = startDaemon(t, "alpha")
	for _, alias := range []string{"bravo", "charlie", "delta"} {
		ds[alias], ports[alias] = startDaemon(t, alias, "--join", "127.0.0.1:"+ports["alpha"])
	}
	everyoneLists(t, ds, "127.0.0.1", ports, 15*time.Second)
	others := func(skip string) (map[string]*replNode, map[string]string) {
		d, p := map[string]*replNode{}, map[string]string{}
		for a := range ports {
			if a != skip {
				d[a], p[a] = ds[a], ports[a]
			}
		}
		return d, p
	}

	// SIGKILL: the kernel closes its connections; the others drop it at once.
	{
		start := time.Now()
		ds["delta"].cmd.Process.Kill()
		<-ds["delta"].done
		d, p := others("delta")
		took := everyoneLists(t, d, "127.0.0.1", p, 10*time.Second).Sub(start)
		t.Logf("killed daemon dropped by every member after %v", took.Round(time.Millisecond))
		if took > deadWithin {
			t.Errorf("took %v, want under %v", took, deadWithin)
		}
	}

	// Restarted under the same alias and port, it joins again at once.
	{
		start := time.Now()
		ds["delta"], _ = startDaemon(t, "delta", "-P", ports["delta"], "--join", "127.0.0.1:"+ports["bravo"])
		// Every member lists it, once, at its port: no stale entry.
		took := everyoneLists(t, ds, "127.0.0.1", ports, 10*time.Second).Sub(start)
		t.Logf("restarted daemon listed by every member %v after it started", took.Round(time.Millisecond))
	}

	// SIGSTOP: silent, it is dropped within the heartbeat timeout.
	{
		c := ds["charlie"]
		start := time.Now()
		c.stop()
		d, p := others("charlie")
		took := everyoneLists(t, d, "127.0.0.1", p, 10*time.Second).Sub(start)
		t.Logf("stopped daemon dropped by every member after %v (heartbeat timeout %v)", took.Round(time.Millisecond), cluster.DefaultHeartbeatTimeout)
		if took > deadWithin {
			t.Errorf("took %v, want under %v", took, deadWithin)
		}
		// Resumed, it finds its peers gone silent too, drops them, and
		// both sides redial: it is back without anybody's help.
		start = time.Now()
		c.cmd.Process.Signal(syscall.SIGCONT)
		back := everyoneLists(t, ds, "127.0.0.1", ports, 15*time.Second).Sub(start)
		t.Logf("resumed daemon back in every list after %v", back.Round(time.Millisecond))
	}

	// SIGTERM: it leaves; the others drop it at once and never redial it.
	{
		start := time.Now()
		ds["bravo"].cmd.Process.Signal(syscall.SIGTERM)
		d, p := others("bravo")
		took := everyoneLists(t, d, "127.0.0.1", p, 10*time.Second).Sub(start)
		t.Logf("daemon stopped with SIGTERM dropped by every member after %v", took.Round(time.Millisecond))
		select {
		case <-ds["bravo"].done:
		case <-time.After(10 * time.Second):
			t.Fatal("bravo did not exit")
		}
		// It left: nobody redials it.
		time.Sleep(2 * cluster.DefaultRedialMaxInterval)
		everyoneLists(t, d, "127.0.0.1", p, time.Second)
	}
}

// TestBusyNodeStaysMember: a REPL node whose VM spins at full speed (and
// the race detector's cost on top) is still a live member for its peers.
func TestBusyNodeStaysMember(t *testing.T) {
	a, port := startDaemon(t, "alpha")
	r := startREPLNode(t, "busy")
	r.send("!join_cluster 127.0.0.1 " + port)
	r.expect(`joined the cluster: 2 members`)
	r.send("spin: djmp @spin")
	time.Sleep(2 * cluster.DefaultHeartbeatTimeout)
	for _, b := range a.blocks() {
		if len(b.lines) == 2 {
			continue
		}
		if b.lines[0] != "alpha 127.0.0.1:"+port+" (self)" || len(b.lines) != 1 {
			t.Fatalf("unexpected list %v", b.lines)
		}
	}
	if bs := a.blocks(); len(bs[len(bs)-1].lines) != 2 || len(bs) != 2 {
		t.Fatalf("alpha's lists while busy spun: %+v", bs)
	}
	// Ctrl-C stops the program; the node is still in the cluster.
	r.cmd.Process.Signal(os.Interrupt)
	r.expect(`interrupt`)
	r.send("!cluster_members")
	r.expect(`alpha 127\.0\.0\.1:` + port + `\n`)
}

// TestJoinStoppedContact: !join_cluster through a node that accepts the
// TCP connection but never answers (stopped with SIGSTOP) fails with a
// clear error within the handshake timeout.
func TestJoinStoppedContact(t *testing.T) {
	a, port := startDaemon(t, "alpha")
	a.stop()
	defer a.cmd.Process.Signal(syscall.SIGCONT)
	r := startREPLNode(t, "lonely")
	start := time.Now()
	r.send("!join_cluster 127.0.0.1 " + port)
	msg := r.expect(`error: (.*)\n`)[1]
	took := time.Since(start)
	t.Logf("!join_cluster through a stopped node failed after %v: %s", took.Round(time.Millisecond), msg)
	if !regexp.MustCompile(`^cluster: join 127\.0\.0\.1:\d+: no answer after [\d.]+m?s \(is the node running and reachable\?\)$`).MatchString(msg) {
		t.Errorf("unclear error %q; want the advice alone, without the deadline's own words", msg)
	}
	if took > cluster.DefaultHandshakeTimeout+3*time.Second {
		t.Errorf("took %v", took)
	}
	r.send("!cluster_members")
	r.expect(`lonely 127\.0\.0\.1:\d+ \(self\)\n`)
}

// A REPL that joins while a member the contact lists is stopped gets an
// error, as the spec has !join_cluster do, that says it is in the cluster
// all the same and which member is not connected yet; the member is
// connected once it runs again.
func TestJoinWithAStoppedMember(t *testing.T) {
	a, port := startDaemon(t, "alpha")
	b, bport := startDaemon(t, "bravo", "--join", "127.0.0.1:"+port)
	ports := map[string]string{"alpha": port, "bravo": bport}
	everyoneLists(t, map[string]*replNode{"alpha": a, "bravo": b}, "127.0.0.1", ports, 10*time.Second)
	r := startREPLNode(t, "rep")
	r.send("!help") // the node is up before bravo stops
	r.expect(`anything else.*\n`)
	b.stop()
	r.send("!join_cluster 127.0.0.1 " + port) // alpha drops bravo only after 2.5 s of silence
	line := r.expect(`(error: .*|joined the cluster: .*)\n`)[1]
	want := "error: joined through 127.0.0.1:" + port + ", but not connected to bravo yet (no answer in time; still trying)"
	if line != want {
		t.Errorf("!join_cluster said\n%q, want\n%q", line, want)
	}
	b.cmd.Process.Signal(syscall.SIGCONT)
	rport := r.startCluster() // already listening: its port
	ports["rep"] = rport
	r.waitMembers(wantList("rep", ports))
}
