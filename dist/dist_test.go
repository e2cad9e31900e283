package dist

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is one member: its cluster manager and its process runtime,
// connected.
type node struct {
	m *cluster.Manager
	n *proc.Node
}

func newNode(t testing.TB, alias string, pcfg proc.Config) *node {
	t.Helper()
	cfg := cluster.DefaultLocalConfig()
	cfg.Alias, cfg.Cookie = alias, []byte("dist-test")
	m, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.Alias = alias
	if pcfg.Threads == 0 {
		pcfg.Threads = 2
	}
	n, err := proc.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	Connect(n, m)
	t.Cleanup(func() { n.Close(); m.Shutdown() })
	if _, err := m.Start(); err != nil {
		t.Fatal(err)
	}
	return &node{m, n}
}

// mesh starts len(aliases) connected members.
func mesh(t testing.TB, pcfg proc.Config, aliases ...string) []*node {
	t.Helper()
	var nodes []*node
	for i, a := range aliases {
		nd := newNode(t, a, pcfg)
		if i > 0 {
			addr, _ := nodes[0].m.Start()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := nd.m.Join(ctx, addr.String())
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, nd)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, nd := range nodes {
		for len(nd.m.OtherMembers()) != len(aliases)-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %v", nd.m.Alias(), nd.m.OtherMembers())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nodes
}

func run(t testing.TB, n *proc.Node, src string) (*proc.Process, *testutil.Buffer) {
	t.Helper()
	prog, err := assembler.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	p, err := n.Start(proc.Spec{Name: "test"}, prog, out)
	if err != nil {
		t.Fatal(err)
	}
	return p, out
}

func ended(t testing.TB, p *proc.Process, within time.Duration) (int, error) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(within):
		t.Fatalf("process %d did not end within %v", p.PID(), within)
	}
	return p.Wait()
}

// splitWork is the split-work example: workers on every member by k mod
// NODES, each sending its partial sum to its parent.
const splitWork = `
.data
nl: .asciiz '\n'
.code
	nodes $20
	load $21 #8
	load $22 #125
	load $10 #1
	load $23 #0
	load $2 @worker
start:
	div $23 $20 $24
	rem $1
	add $10 $22 $11
	spawn $1 $2 $3
	djmpne @bad
	mov $11 $10
	inc $23
	lt $23 $21
	djmpe @start
	load $25 #0
	load $27 #0
collect:
	recv $4 $5
	djmpe @notice
	add $25 $4 $25
	djmp @collect
notice:
	load $28 #0
	neq $4 $28
	djmpe @bad
	inc $27
	lt $27 $21
	djmpe @collect
	prti $25
	hlt
bad:
	igl
worker:
	load $12 #0
square:
	mul $10 $10 $13
	add $12 $13 $12
	inc $10
	lt $10 $11
	djmpe @square
	parent $14
	send $14 $12
	prti $14
	hlt
`

// TestSplitWorkOverThreeMembers: the split-work program spreads over three
// real members; the sum is right, every worker's exit notice comes, and
// what the workers print comes back to the spawner's output.
func TestSplitWorkOverThreeMembers(t *testing.T) {
	nodes := mesh(t, proc.Config{}, "a", "b", "c")
	p, out := run(t, nodes[0].n, splitWork)
	if status, err := ended(t, p, 20*time.Second); status != proc.StatusOK {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
	// Eight workers print their parent's handle: 1 for the three on a,
	// a negative handle for the five elsewhere; the sum comes last.
	got := out.String()
	if !strings.HasSuffix(got, "333833500") || strings.Count(got, "-") != 5 {
		t.Fatalf("output %q", got)
	}
}

// TestRemoteSpawnSendsTheProgramOnce: the second spawn of a program on a
// member carries only its hash (the member's cache answers it).
func TestRemoteSpawnSendsTheProgramOnce(t *testing.T) {
	nodes := mesh(t, proc.Config{}, "a", "b")
	src := `
	load $1 #1
	load $2 @child
	spawn $1 $2 $3
	djmpne @bad
	recv $4 $5
	spawn $1 $2 $3
	djmpne @bad
	recv $4 $5
	prti $4
	hlt
bad:
	igl
child:
	hlt`
	p, out := run(t, nodes[0].n, src)
	if status, err := ended(t, p, 10*time.Second); status != proc.StatusOK || out.String() != "0" {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
	if got := nodes[1].n.CachedPrograms(); got != 1 {
		t.Errorf("b holds %d programs", got)
	}
}

// TestMemberLossGivesStatus3: a member shut down while a process of it is
// spawned and monitored from here: one notice, status 3, within the
// heartbeat timeout.
func TestMemberLossGivesStatus3(t *testing.T) {
	nodes := mesh(t, proc.Config{}, "a", "b")
	p, out := run(t, nodes[0].n, `
	load $1 #1
	load $2 @wait
	spawn $1 $2 $3
	monitor $3
	self $6
	send $3 $6
	recv $4 $5           ; it is up
	prti $4
	recv $4 $5
	prti $4
	load $9 #100
	recvt $4 $5 $9       ; no second notice
	prti $5
	hlt
wait:
	recv $4 $5
	send $5 $4
	recv $4 $5
`)
	testutil.WaitFor(t, out, "1", 10*time.Second)
	nodes[1].m.Shutdown()
	if status, err := ended(t, p, 2*cluster.DefaultLocalConfig().HeartbeatTimeout+5*time.Second); status != proc.StatusOK || out.String() != "130" {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
}

// TestStartOnReports: a REPL's !spawn_on through real members: the pid,
// then the output, status, fault and events.
func TestStartOnReports(t *testing.T) {
	nodes := mesh(t, proc.Config{}, "a", "b")
	prog, _ := assembler.Assemble("load $1 #5\nprti $1\nigl")
	out := &testutil.Buffer{}
	done := make(chan string, 1)
	pid, err := nodes[0].n.StartOn(context.Background(), "b", proc.Spec{Name: "job"}, prog, out,
		func(status int, fault string, events []vm.Event) {
			done <- strings.Join([]string{string(rune('0' + status)), fault, events[len(events)-1].Kind.String()}, "|")
		})
	if err != nil || pid <= 0 {
		t.Fatalf("pid %d, %v", pid, err)
	}
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "1|") || !strings.Contains(got, "IGL") || !strings.HasSuffix(got, "|Crash") || out.String() != "5" {
			t.Fatalf("report %q, output %q", got, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
	}
	// Refusals are clear.
	if _, err := nodes[0].n.StartOn(context.Background(), "nobody", proc.Spec{}, prog, out, nil); err == nil ||
		!strings.Contains(err.Error(), "not a connected member") {
		t.Fatalf("unknown member: %v", err)
	}
}

// TestSpawnRefusals: each refusal of the runtime reaches the spawner as
// the protocol's refusal that names its cause (and so its SpawnAck code),
// not as "the member found the program invalid".
func TestSpawnRefusals(t *testing.T) {
	tests := []struct{ runtime, protocol error }{
		{proc.ErrRemoteSpawnOff, cluster.ErrSpawnRefused},
		{proc.ErrTooMany, cluster.ErrSpawnTooMany},
		{proc.ErrNoPIDs, cluster.ErrSpawnNoPIDs},
		{proc.ErrUnknownProgram, cluster.ErrUnknownProgram},
		{proc.ErrBadProgram, cluster.ErrBadProgram},
		{proc.ErrBadEntry, cluster.ErrBadEntry},
		{proc.ErrClosed, cluster.ErrSpawnClosing},
		{proc.ErrProgramTotal, cluster.ErrSpawnNoMemory},
		{fmt.Errorf("loading: %w", proc.ErrBadEntry), cluster.ErrBadEntry},
		{vm.ErrUnknownOpcode, cluster.ErrBadProgram},
	}
	for _, tc := range tests {
		if got := spawnRefusal(tc.runtime); got != tc.protocol {
			t.Errorf("spawnRefusal(%v) = %v, want %v", tc.runtime, got, tc.protocol)
		}
	}
}
