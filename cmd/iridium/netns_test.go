package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/testutil"
)

var netnsRun atomic.Int64

// ipCmd runs `ip args...` and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// netnsTopology makes a bridge namespace and n host namespaces, host i
// at 10.77.0.i/24 on its eth0, a veth pair whose other end, vi, is a port
// of the bridge br0. It returns the host namespaces' names and the bridge
// namespace's; everything is deleted when the test ends.
func netnsTopology(t *testing.T, n int) (hosts []string, bridge string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		testutil.Missing(t, "the multi-host test needs `ip` (iproute2), which is missing here; .ci/run installs it")
	}
	prefix := fmt.Sprintf("irid%d-%d", os.Getpid(), netnsRun.Add(1))
	bridge = prefix + "-br"
	if out, err := exec.Command("ip", "netns", "add", bridge).CombinedOutput(); err != nil {
		testutil.Missing(t, fmt.Sprintf("cannot create a network namespace (needs root / CAP_SYS_ADMIN, as in CI): ip netns add: %v: %s", err, out))
	}
	// Namespaces go when the test ends, after the processes in them
	// (cleanups run last-registered first).
	t.Cleanup(func() { exec.Command("ip", "netns", "del", bridge).Run() })
	ipCmd(t, "-n", bridge, "link", "set", "lo", "up")
	ipCmd(t, "-n", bridge, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", bridge, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("%s-%d", prefix, i)
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		port := fmt.Sprintf("v%d", i)
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
		ipCmd(t, "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", bridge)
		ipCmd(t, "-n", ns, "addr", "add", fmt.Sprintf("10.77.0.%d/24", i), "dev", "eth0")
		ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
		ipCmd(t, "-n", bridge, "link", "set", port, "master", "br0")
		ipCmd(t, "-n", bridge, "link", "set", port, "up")
		hosts = append(hosts, ns)
	}
	return hosts, bridge
}

// startInNetns runs iridium with args inside namespace ns.
func startInNetns(t *testing.T, ns, alias string, args ...string) *replNode {
	t.Helper()
	argv := append([]string{"netns", "exec", ns, binary,
		"--data-root-dir", t.TempDir(), "--node-alias", alias, "--cookie", testCookie}, args...)
	cmd := exec.Command("ip", argv...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "IRIDIUM_LOG=info"}
	return startProc(t, alias, cmd)
}

// TestNetnsCluster runs a daemon on each of three hosts (network
// namespaces joined by a bridge): they mesh and list each other at their
// real addresses; a host whose link is cut is dropped by the others within
// the heartbeat timeout, and joins again by itself when the link is back.
func TestNetnsCluster(t *testing.T) {
	hosts, bridge := netnsTopology(t, 3)
	const port = "2254"
	addr := func(i int) string { return fmt.Sprintf("10.77.0.%d", i) }
	ds := map[string]*replNode{}
	aliases := []string{"h1", "h2", "h3"}
	for i, alias := range aliases {
		args := []string{"--daemon-mode", "-H", addr(i + 1), "-P", port}
		if i > 0 {
			args = append(args, "--join", addr(1)+":"+port)
		}
		ds[alias] = startInNetns(t, hosts[i], alias, args...)
	}
	want := func(self string, live ...int) []string {
		var out []string
		for _, i := range live {
			line := fmt.Sprintf("h%d %s:%s", i, addr(i), port)
			if fmt.Sprintf("h%d", i) == self {
				line += " (self)"
			}
			out = append(out, line)
		}
		return out
	}
	waitAll := func(timeout time.Duration, live ...int) time.Time {
		var last time.Time
		for _, i := range live {
			alias := fmt.Sprintf("h%d", i)
			if b := ds[alias].waitList(t, want(alias, live...), timeout); b.at.After(last) {
				last = b.at
			}
		}
		return last
	}
	start := time.Now()
	waitAll(20*time.Second, 1, 2, 3)
	t.Logf("three hosts meshed in %v, each listing the others at their 10.77.0.x addresses", time.Since(start).Round(time.Millisecond))

	// Cut h3's link at the bridge: its packets vanish, nothing is closed.
	start = time.Now()
	ipCmd(t, "-n", bridge, "link", "set", "v3", "down")
	took := waitAll(10*time.Second, 1, 2).Sub(start)
	t.Logf("cut-off host dropped by the others after %v (heartbeat timeout %v)", took.Round(time.Millisecond), cluster.DefaultHeartbeatTimeout)
	if took > deadWithin {
		t.Errorf("took %v, want under %v", took, deadWithin)
	}
	ds["h3"].waitList(t, want("h3", 3), 10*time.Second)

	// Joining through the cut-off host fails, clearly and in bounded time.
	probe := startInNetns(t, hosts[0], "probe", "-H", addr(1), "-P", "0")
	jstart := time.Now()
	probe.send("!join_cluster " + addr(3) + " " + port)
	msg := probe.expect(`error: (.*)\n`)[1]
	t.Logf("!join_cluster through the cut-off host failed after %v: %s", time.Since(jstart).Round(time.Millisecond), msg)
	if d := time.Since(jstart); d > cluster.DefaultHandshakeTimeout+3*time.Second {
		t.Errorf("!join_cluster took %v", d)
	}
	probe.send("!quit")

	// The link comes back: h3 (alone, redialling its last known members)
	// and the others (redialling the member they lost) meet again.
	start = time.Now()
	ipCmd(t, "-n", bridge, "link", "set", "v3", "up")
	back := waitAll(30*time.Second, 1, 2, 3).Sub(start)
	t.Logf("link restored: every host lists all three again after %v", back.Round(time.Millisecond))
}

// TestNetnsSplitWork runs the split-work example on h1 over three hosts
// and cuts h3's link while its workers run: h1 gets status 3 for each of
// them within the heartbeat timeout, the other workers' results arrive,
// and the program ends saying how many came.
func TestNetnsSplitWork(t *testing.T) {
	hosts, bridge := netnsTopology(t, 3)
	const port = "2254"
	addr := func(i int) string { return fmt.Sprintf("10.77.0.%d", i) }
	var ns []*replNode
	for i := range 3 {
		alias := fmt.Sprintf("h%d", i+1)
		ns = append(ns, startInNetns(t, hosts[i], alias, "-H", addr(i+1), "-P", port, "-t", "4"))
	}
	ns[0].send("!start_cluster")
	ns[0].expect(`cluster listening on`)
	for _, n := range ns[1:] {
		n.send("!join_cluster " + addr(1) + " " + port)
		n.expect(`joined the cluster: 3 members|joined the cluster: 2 members`)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range ns {
		for len(n.members()) != 3 {
			if time.Now().After(deadline) {
				t.Fatalf("%s lists %v", n.alias, n.members())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	split, err := filepath.Abs(filepath.Join("..", "..", "examples", "split.iasm"))
	if err != nil {
		t.Fatal(err)
	}
	ns[0].send("load $30 #8000") // each worker waits 8 s before it works
	ns[0].send("!load_file " + split)
	// Worker k runs on member k mod 3: h3 has workers 2 and 5, which
	// bear the name of the process that started them, h1's REPL VM.
	for {
		ns[2].send("!processes")
		ns[2].send("!help")
		listing := ns[2].expect(`(?s)(.*?)!help `)[1]
		if len(regexp.MustCompile(`h3:([2-9]|\d\d+) waiting repl`).FindAllString(listing, -1)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("h3's workers never waited:\n%s", listing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	ipCmd(t, "-n", bridge, "link", "set", "v3", "down")
	ns[0].expect(`a worker ended with status 3\n`)
	ns[0].expect(`a worker ended with status 3\n`)
	took := time.Since(start)
	t.Logf("status 3 for h3's two workers %v after the cut (heartbeat timeout %v)", took.Round(time.Millisecond), cluster.DefaultHeartbeatTimeout)
	if took > deadWithin {
		t.Errorf("took %v, want under %v", took, deadWithin)
	}
	want := 0
	for k := range 8 {
		if k%3 == 2 {
			continue // h3's
		}
		for i := 125*k + 1; i <= 125*(k+1); i++ {
			want += i * i
		}
	}
	ns[0].expect(fmt.Sprintf(`results from 6 of 8 workers, their sum = %d\n`, want))
	ns[0].send("!processes")
	ns[0].expect(`h1:1 waiting repl`)
}
