package proc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/vm"
)

// startOn runs src as a new background process on node n of c.
func startOn(t testing.TB, n *Node, src string) (*Process, *testutil.Buffer) {
	t.Helper()
	prog, err := assembler.Assemble(src)
	if err != nil {
		t.Fatalf("assemble: %v", err)
	}
	out := &testutil.Buffer{}
	p, err := n.Start(Spec{Name: "test"}, prog, out)
	if err != nil {
		t.Fatal(err)
	}
	return p, out
}

// TestSpawnOnEveryMember: a process starts a worker on every member
// (member 0 and the others by index); each sends its member index to its
// PARENT and ends. The parent gets every value from the handle SPAWN gave,
// then that worker's exit notice, and the handles of other members'
// processes are negative and distinct.
func TestSpawnOnEveryMember(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b", "c")
	p, out := startOn(t, c.nodes["a"], `
	nodes $20
	load $1 #0
	load $2 @worker
	load $30 #0            ; handles seen, summed
spawn:
	spawn $1 $2 $3
	djmpne @bad
	add $30 $3 $30
	inc $1
	lt $1 $20
	djmpe @spawn
	load $21 #0            ; exit notices in
	load $22 #0            ; the sum of the values
collect:
	recv $4 $5
	djmpe @notice
	add $22 $4 $22
	djmp @collect
notice:
	load $23 #0
	neq $4 $23
	djmpe @bad
	inc $21
	lt $21 $20
	djmpe @collect
	prti $22
	prts @sep
	prti $30
	hlt
bad:
	igl
worker:
	parent $6
	send $6 $1             ; the member index it was spawned on
	hlt
.data
sep: .asciiz ' '
`)
	if status, err := ended(t, p); status != StatusOK {
		t.Fatalf("status %d, %v; output %q", status, err, out)
	}
	// Values 0+1+2; handles: the local child's pid plus two negatives.
	var sum, handles int
	if _, err := fmt.Sscan(out.String(), &sum, &handles); err != nil || sum != 3 || handles >= 0 {
		t.Fatalf("output %q", out.String())
	}
}

// TestRemoteMessagesKeepTheirSender: a remote process echoes to the handle
// the message came from; the reply comes from the handle SPAWN gave, and a
// thousand round trips keep their order.
func TestRemoteMessagesKeepTheirSender(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	p, out := startOn(t, c.nodes["a"], strings.Replace(pingPong, "load $1 #0", "load $1 #1", 1))
	if status, err := ended(t, p); status != StatusOK || out.String() != "1000" {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
}

// TestRemoteMonitor: MONITOR of a process on another member gives its exit
// notice once when it ends; of a handle whose process ended, status 4 at
// once.
func TestRemoteMonitor(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
	p, out := startOn(t, c.nodes["a"], `
	load $1 #1
	load $2 @child
	spawn $1 $2 $3
	monitor $3
	monitor $3            ; spawned and monitored twice: still one notice, as here
	send $3 $1            ; let it end
	recv $4 $5
	prti $4
	load $9 #50
	recvt $4 $5 $9        ; nothing more
	prti $5
	monitor $3            ; it ended, and its notice came: status 4 all the same
	recv $4 $5
	prti $4
	hlt
child:
	recv $1 $2
	hlt
`)
	if status, err := ended(t, p); status != StatusOK || out.String() != "004" {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
}

// A MONITOR whose member cannot be reached gets status 3 at once, and the
// watch leaves no trace: the watcher holds nothing for it afterwards (a
// process retrying such MONITORs would otherwise grow without bound).
func TestMonitorOfUnreachableMember(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
	c.refused = map[string]bool{"Monitor": true}
	p, out := startOn(t, c.nodes["a"], `
	load $1 #0
	load $2 @relay
	spawn $1 $2 $3        ; the relay, here
	recv $4 $5            ; the handle of its child on b (not ours: ours are watched already)
	monitor $4
	recv $6 $7
	djmpne @bad           ; an exit notice
	eq $7 $4
	djmpne @bad
	prti $6
	recv $6 $7            ; and wait
	hlt
bad:
	igl
relay:
	load $1 #1
	load $2 @wait
	spawn $1 $2 $3
	parent $4
	send $4 $3
wait:
	recv $4 $5
	djmp @wait
`)
	waitOutput(t, out, "3")
	n := c.nodes["a"]
	n.mu.Lock()
	watching := len(p.links.watching)
	n.mu.Unlock()
	if watching != 0 {
		t.Errorf("the process still holds %d watches after its MONITOR failed", watching)
	}
}

// A process waiting for another member's answer to its SPAWN is listed as
// running: it is in the middle of an instruction, not in RECV.
func TestSpawnWaitIsRunning(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	c.held = make(chan struct{})
	a := c.nodes["a"]
	p, _ := startOn(t, a, `
	load $1 #1
	load $2 @child
	spawn $1 $2 $3
	hlt
child:
	hlt
`)
	released := false
	defer func() {
		if !released {
			close(c.held)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		parked := p.state == Waiting && p.parkedOn == vm.OpSpawn
		a.mu.Unlock()
		if parked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the process never waited for the SPAWN's answer")
		}
		time.Sleep(time.Millisecond)
	}
	if got := a.Processes(); len(got) != 1 || got[0].State != Running {
		t.Errorf("listed as %+v; want running", got)
	}
	close(c.held)
	released = true
	if status, err := ended(t, p); status != StatusOK {
		t.Fatalf("status %d, %v", status, err)
	}
}

// TestMemberLost: when a member is lost, every process that spawned or
// monitors a process there gets status 3 from its handle, and a message
// to it is dropped; processes elsewhere go on.
func TestMemberLost(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b", "c")
	p, out := startOn(t, c.nodes["a"], `
	load $1 #1            ; b
	load $2 @wait
	spawn $1 $2 $3
	load $1 #2            ; c
	spawn $1 $2 $10
	self $11
	send $10 $11          ; c's worker: tell me you're there
	recv $4 $5
	monitor $3
	send $3 $11           ; b's worker answers: it is up
	recv $4 $5
	prti $4
	recv $4 $5            ; b is lost: one notice from $3 (spawned and monitored), status 3
	djmpne @bad
	eq $5 $3
	djmpne @bad
	prti $4
	send $3 $11           ; dropped
	send $10 $11          ; c's worker still answers
	recv $4 $5
	eq $5 $10
	djmpne @bad
	hlt
bad:
	igl
wait:
	recv $4 $5
	send $5 $4
	djmp @wait
`)
	// Wait until b's worker answered, then lose b.
	waitOutput(t, out, "1")
	c.lose("a", "b")
	if status, err := ended(t, p); status != StatusOK || out.String() != "13" {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
	if got := c.nodes["a"].handleCount(); got != 1 {
		t.Errorf("a keeps %d handles, want c's worker's alone", got)
	}
}

// TestLostStarterStopsItsProcesses: when b loses a, the processes a
// started on b stop (a spinning one and one waiting in RECV), and so does
// what they started on b; b's own processes go on.
func TestLostStarterStopsItsProcesses(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
	b := c.nodes["b"]
	own, _ := startOn(t, b, "spin: djmp @spin")
	p, out := startOn(t, c.nodes["a"], `
	load $1 #1            ; b
	load $2 @spinner
	spawn $1 $2 $3
	load $2 @waiter
	spawn $1 $2 $3
	recv $4 $5            ; the waiter's grandchild is up
	prti $4
	recv $4 $5            ; b is lost: a notice, status 3
	prti $4
	hlt
spinner:
	djmp @spinner
waiter:                 ; on b: starts a spinner there, then waits
	load $1 #0
	load $2 @spinner
	spawn $1 $2 $3
	parent $6
	load $7 #1
	send $6 $7
	recv $4 $5
`)
	loseStarter(t, c, out, own, 4, "its own and a's three")
	if status, err := ended(t, p); status != StatusOK || out.String() != "13" {
		t.Errorf("a's process: status %d, %v, output %q", status, err, out)
	}
	own.Kill()
	ended(t, own)
}

// loseStarter waits until out shows "1" (what a's processes started on b
// is up), checks that b then runs want processes (what), makes b lose a,
// and waits until b runs its own process alone.
func loseStarter(t *testing.T, c *fakeCluster, out *testutil.Buffer, own *Process, want int, what string) {
	t.Helper()
	b := c.nodes["b"]
	waitOutput(t, out, "1")
	if got := len(b.Processes()); got != want {
		t.Fatalf("b runs %d processes, want %s", got, what)
	}
	c.lose("a", "b")
	waitOnly(t, b, own.PID())
}

// TestLostStarterStopsWhatItStartedHere: b's own process spawns on a, and
// that one spawns back on b a process that spawns another on b; their
// output comes to b. When b loses a, the two that a's process started on
// b, directly or not, stop; b's own process hears status 3 and goes on.
func TestLostStarterStopsWhatItStartedHere(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
	b := c.nodes["b"]
	own, out := startOn(t, b, `
	load $1 #1            ; a
	load $2 @onA
	spawn $1 $2 $3
	recv $4 $5            ; the last of the chain is up
	prti $4
	recv $4 $5            ; a is lost: status 3
	prti $4
spin: djmp @spin
onA:                    ; on a: back to b
	load $1 #1
	load $2 @onB
	spawn $1 $2 $3
	recv $4 $5
onB:                    ; on b, started by a: one more here
	load $1 #0
	load $2 @last
	spawn $1 $2 $3
	recv $4 $5
last:                   ; on b: tell b's own process (pid 1) it is up
	load $6 #1
	send $6 $6
	recv $4 $5
`)
	loseStarter(t, c, out, own, 3, "its own and the two a's started")
	waitOutput(t, out, "13")
	own.Kill()
	ended(t, own)
}

// TestRemoteOutputGoesToTheSpawner: what a process prints on another
// member lands in its spawner's output, in order, through the sink; a
// SPAWN from there onwards keeps it.
func TestRemoteOutputGoesToTheSpawner(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b", "c")
	p, out := startOn(t, c.nodes["a"], `
	load $1 #1
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5           ; its exit notice
	hlt
child:                 ; on b: prints, spawns a grandchild on its member 2 (c), waits for it
	load $6 #1
	prti $6
	load $7 #2
	load $2 @grandchild
	spawn $7 $2 $3
	recv $4 $5
	load $6 #3
	prti $6
	hlt
grandchild:
	load $6 #2
	prti $6
	hlt
`)
	if status, err := ended(t, p); status != StatusOK || out.String() != "123" {
		t.Fatalf("status %d, %v, output %q", status, err, out)
	}
}

// TestRemoteOutputWaitsForRoom: while the connection's queue is full, a
// process on another member waits to print rather than lose its output;
// killed meanwhile, it ends.
func TestRemoteOutputWaitsForRoom(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
	c.mu.Lock()
	c.busyOutputs = 50
	c.mu.Unlock()
	p, out := startOn(t, c.nodes["a"], `
	load $1 #1
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5            ; its exit notice
	hlt
child:                 ; on b
	load $6 #1
	prti $6
	load $6 #2
	prti $6
	load $6 #3
	prti $6
	hlt
`)
	if status, err := ended(t, p); status != StatusOK || out.String() != "123" {
		t.Fatalf("status %d, %v, output %q; want all of it", status, err, out)
	}

	c.mu.Lock()
	c.busyOutputs = 1 << 30 // for good
	c.mu.Unlock()
	p, _ = startOn(t, c.nodes["a"], `
	load $1 #1
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5
	prti $4               ; its status, which waits too
	hlt
child:                 ; on b: a grandchild there prints, the child waits
	load $7 #0
	load $2 @print
	spawn $7 $2 $3
	recv $4 $5
print:
	prti $1
	djmp @print
`)
	b := c.nodes["b"]
	waitState(t, b, 3, Running) // b's third process, the grandchild: printing, for ever
	grandchild, _ := b.Lookup(3)
	grandchild.Kill()
	if status, err := ended(t, grandchild); status != StatusKilled {
		t.Errorf("the grandchild killed while it waited to print: status %d, %v", status, err)
	}
	p.Kill()
	ended(t, p)
}

// TestSlowMemberHoldsNoWorker: processes whose output another member does
// not take (its connection's queue stays full) wait without a worker:
// with one worker and two such printers, a process of this node's own
// still runs and ends, and the printers live on, listed as running. The
// same on a node whose VMs buffer their output (a file run's).
func TestSlowMemberHoldsNoWorker(t *testing.T) {
	for _, buffer := range []int{0, 4096} {
		t.Run(fmt.Sprintf("buffer %d", buffer), func(t *testing.T) {
			c := newFakeCluster(t, Config{Threads: 1, VMConfig: vm.Config{OutputBuffer: buffer}}, "a", "b")
			c.mu.Lock()
			c.busyOutputs = 1 << 30 // a reads nothing
			c.mu.Unlock()
			for i := 0; i < 2; i++ {
				startOn(t, c.nodes["a"], `
	load $1 #1
	load $2 @print
	spawn $1 $2 $3
	recv $4 $5
print:                 ; on b, printing to a
	prti $1
	djmp @print
`)
			}
			b := c.nodes["b"]
			waitState(t, b, 1, Running)
			waitState(t, b, 2, Running)
			local, out := startOn(t, b, "load $1 #5\nprti $1\nhlt")
			if status, err := ended(t, local); status != StatusOK || out.String() != "5" {
				t.Fatalf("b's own process: status %d, %v, output %q", status, err, out)
			}
			for _, pid := range []int32{1, 2} {
				if _, ok := b.Lookup(pid); !ok {
					t.Errorf("printer %d ended instead of waiting for room", pid)
				}
			}
		})
	}
}

// scriptedOutputs answers Output calls in turn from answers (true once
// they are used up) and keeps what it took.
type scriptedOutputs struct {
	*fakeRemote
	answers []bool
	took    []byte
}

func (r *scriptedOutputs) Output(_ string, _, _ int32, data []byte) bool {
	ok := len(r.answers) == 0 || r.answers[0]
	if len(r.answers) > 0 {
		r.answers = r.answers[1:]
	}
	if ok {
		r.took = append(r.took, data...)
	}
	return ok
}

// TestRemoteOutputSendsTheRestOnce: a write of several chunks that the
// queue takes only in part returns vm.ErrOutputFull; the VM's next write
// of the same bytes sends what was left, so the member gets every byte
// once.
func TestRemoteOutputSendsTheRestOnce(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	b := c.nodes["b"]
	r := &scriptedOutputs{fakeRemote: &fakeRemote{c: c, self: "b"}, answers: []bool{true, false, true, false}}
	b.SetRemote(r)
	p, _ := startOn(t, b, "recv $1 $2")
	o := &remoteOutput{n: b, alias: "a", sink: 1, pid: p}
	data := make([]byte, 3*maxOutputChunk+5)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for try := 1; ; try++ {
		n, err := o.Write(data)
		if err == nil {
			if n != len(data) || try != 3 {
				t.Fatalf("wrote %d of %d at try %d, want all at try 3", n, len(data), try)
			}
			break
		}
		if err != vm.ErrOutputFull || n != 0 || try == 3 {
			t.Fatalf("try %d: %d, %v", try, n, err)
		}
	}
	if !bytes.Equal(r.took, data) {
		t.Fatalf("the member got %d bytes, want the %d written, once", len(r.took), len(data))
	}
}

// TestRemoteSpawnRefusals: a member that refuses remote spawns, or runs
// its maximum of processes, and a member index out of range give flag
// false and handle 0.
func TestRemoteSpawnRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target Config // b's
		member string
	}{
		{"refused", Config{NoRemoteSpawn: true}, "#1"},
		{"too many", Config{MaxProcesses: 1}, "#1"},
		{"no such member", Config{}, "#7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, Config{Threads: 1}, "a")
			tc.target.Alias, tc.target.Threads = "b", 1
			b, err := New(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			b.SetRemote(&fakeRemote{c: c, self: "b"})
			c.nodes["b"] = b
			startOn(t, b, "recv $1 $2") // b's one process
			p, out := startOn(t, c.nodes["a"], `
	load $3 #9
	load $1 `+tc.member+`
	load $2 @child
	spawn $1 $2 $3
	djmpe @bad
	prti $3
	hlt
bad:
	igl
child:
	hlt`)
			if status, err := ended(t, p); status != StatusOK || out.String() != "0" {
				t.Fatalf("status %d, %v, output %q", status, err, out)
			}
		})
	}
}

// TestProgramSentOnce: the first spawn of a program on a member carries
// it, the next only its hash; a member that dropped it from its cache asks
// for it again.
func TestProgramSentOnce(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	src := `
	load $1 #1
	load $2 @child
	load $9 #3
again:
	spawn $1 $2 $3
	recv $4 $5
	dec $9
	load $8 #0
	gt $9 $8
	djmpe @again
	hlt
child:
	hlt`
	p, _ := startOn(t, c.nodes["a"], src)
	if status, err := ended(t, p); status != StatusOK {
		t.Fatalf("status %d, %v", status, err)
	}
	prog, _ := assembler.Assemble(src)
	img, _ := prog.MarshalBinary()
	if !c.nodes["b"].programs.holds(sha256.Sum256(img)) {
		t.Fatal("b does not hold the program")
	}
	if got := c.nodes["b"].programs.misses; got != 0 {
		t.Errorf("%d spawns found no program", got)
	}
}

func TestProgramCache(t *testing.T) {
	image := func(n int) ([]byte, [32]byte) {
		code := make([]byte, 4*n)
		for i := 0; i < len(code); i += 4 {
			code[i] = byte(vm.OpNop)
		}
		b, err := (&vm.Program{Code: code}).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b, sha256.Sum256(b)
	}
	var regs [32]int32
	var fregs [32]float64
	c := newProgramCache(2, 1<<20, nil)
	one, h1 := image(1)
	two, h2 := image(2)
	three, h3 := image(3)
	if _, _, err := c.fork(h1, nil, 0, regs, fregs, vm.Config{}); !errors.Is(err, ErrUnknownProgram) {
		t.Fatalf("hash alone of an unknown program: %v", err)
	}
	if _, _, err := c.fork(h1, one, 0, regs, fregs, vm.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.fork(h1, nil, 0, regs, fregs, vm.Config{}); err != nil {
		t.Fatalf("hash alone once cached: %v", err)
	}
	if _, _, err := c.fork(h2, one, 0, regs, fregs, vm.Config{}); !errors.Is(err, ErrBadProgram) {
		t.Fatalf("an image under another's hash: %v", err)
	}
	bad := append([]byte(nil), one...)
	bad[len(bad)-4] = 0xfe
	if _, _, err := c.fork(sha256.Sum256(bad), bad, 0, regs, fregs, vm.Config{}); !errors.Is(err, ErrBadProgram) {
		t.Fatalf("an unknown opcode: %v", err)
	}
	if _, _, err := c.fork(h1, nil, len(one)+4, regs, fregs, vm.Config{}); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("entry past the code: %v", err)
	}
	c.fork(h2, two, 0, regs, fregs, vm.Config{})
	c.fork(h3, three, 0, regs, fregs, vm.Config{})
	if c.holds(h1) || !c.holds(h2) || !c.holds(h3) {
		t.Error("past two programs the least recently used did not go")
	}
	// The byte bound counts the memory a program takes (its decoded form
	// too), not the size of the image that brought it.
	big := func(n int) ([]byte, [32]byte, int) {
		b, h := image(n)
		p, err := vm.ParseBytecode(b)
		m, _ := vm.New(vm.Config{})
		if err == nil {
			err = m.Load(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b, h, m.ProgramMemory()
	}
	b1, hb1, mem1 := big(1 << 16)
	b2, hb2, mem2 := big(1<<16 + 1)
	if mem1 < 4*len(b1) {
		t.Fatalf("a program of %d bytes takes %d bytes of memory, want at least four times as many", len(b1), mem1)
	}
	small := newProgramCache(10, 3*len(b1), nil)
	small.fork(hb1, b1, 0, regs, fregs, vm.Config{})
	small.fork(hb2, b2, 0, regs, fregs, vm.Config{})
	if small.holds(hb1) || !small.holds(hb2) || small.bytes != mem2 {
		t.Errorf("past the byte bound: holds the first %v, the second %v, %d bytes (want %d)", small.holds(hb1), small.holds(hb2), small.bytes, mem2)
	}
}

func TestHandleTable(t *testing.T) {
	tb := newHandleTable(3)
	a1 := tb.handle(remoteKey{"a", 1})
	if a1 >= 0 || tb.handle(remoteKey{"a", 1}) != a1 {
		t.Fatalf("handle %d, not negative and stable", a1)
	}
	b1 := tb.handle(remoteKey{"b", 1})
	if b1 == a1 {
		t.Fatal("two processes share a handle")
	}
	tb.forget(a1)
	if _, ok := tb.lookup(a1); ok {
		t.Fatal("a forgotten handle still names its process")
	}
	again := tb.handle(remoteKey{"a", 1})
	if again == a1 || again == b1 {
		t.Fatalf("a handle was given twice: %d", again)
	}
	tb.handle(remoteKey{"a", 2})
	tb.handle(remoteKey{"a", 3}) // past 3: the oldest of a, the member with the most, goes
	if _, ok := tb.lookup(again); ok || tb.len() != 3 {
		t.Fatalf("over the bound: a's oldest still known, %d entries", tb.len())
	}
	if _, ok := tb.lookup(b1); !ok {
		t.Fatal("over the bound: b's one handle went, not the oldest of a's")
	}
	tb.forgetMember("a")
	if tb.len() != 1 {
		t.Fatalf("%d entries after the member went, want b's", tb.len())
	}
	tb.forgetMember("b")
	// Many handles given and forgotten keep the bookkeeping small.
	for i := range int32(100_000) {
		h := tb.handle(remoteKey{"c", i})
		if i%2 == 0 {
			tb.forget(h)
		}
	}
	c := tb.members["c"]
	if len(c.order)-c.head > 4*tb.max+2048 || cap(c.order) > 1<<16 {
		t.Errorf("order list of %d (cap %d) for %d entries", len(c.order)-c.head, cap(c.order), tb.len())
	}
}

// TestHandleFloodEvictsItsOwn: a member that sends from a million new
// pids fills the table with its own handles only; the processes of the
// other members keep theirs, and its newest are known.
func TestHandleFloodEvictsItsOwn(t *testing.T) {
	tb := newHandleTable(1000)
	var others []int32
	for i := range int32(300) {
		others = append(others, tb.handle(remoteKey{"quiet", i}))
	}
	var last int32
	for i := range int32(1_000_000) {
		last = tb.handle(remoteKey{"flood", i})
	}
	for i, h := range others {
		if k, ok := tb.lookup(h); !ok || k != (remoteKey{"quiet", int32(i)}) {
			t.Fatalf("quiet:%d lost its handle to the flood", i)
		}
	}
	if _, ok := tb.lookup(last); !ok || tb.len() != 1000 || tb.members["flood"].known != 700 {
		t.Fatalf("the flood's newest known %v, %d entries, %d of the flood's", ok, tb.len(), tb.members["flood"].known)
	}
	if f := tb.members["flood"]; len(f.order)-f.head > 4*tb.max+2048 {
		t.Errorf("the flood's order list holds %d", len(f.order)-f.head)
	}
}

// TestKillAndListOnAnotherMember: the REPL's view of another member.
func TestKillAndListOnAnotherMember(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	p, _ := startOn(t, c.nodes["b"], "recv $1 $2")
	ctx := context.Background()
	waitState(t, c.nodes["b"], p.PID(), Waiting)
	infos, err := c.nodes["a"].ProcessesOn(ctx, "b")
	if err != nil || len(infos) != 1 || infos[0].PID != p.PID() || infos[0].State != Waiting {
		t.Fatalf("listing %+v, %v", infos, err)
	}
	if ok, err := c.nodes["a"].KillOn(ctx, "b", p.PID()); !ok || err != nil {
		t.Fatalf("kill: %v %v", ok, err)
	}
	if status, _ := ended(t, p); status != StatusKilled {
		t.Fatalf("status %d", status)
	}
	if ok, _ := c.nodes["a"].KillOn(ctx, "b", p.PID()); ok {
		t.Fatal("killed a process that had ended")
	}
}

// TestStartOn: a REPL's !spawn_on: the pid once the member answered, the
// output into the writer given, and the end with the fault and events.
func TestStartOn(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	// Started with no parent (Spec.Parent 0): PARENT is 0 there too.
	prog, _ := assembler.Assemble("parent $4\nprti $4\nload $1 #7\nprti $1\nload $2 #0\ndiv $1 $2 $3")
	out := &testutil.Buffer{}
	type end struct {
		status int
		fault  string
		events []vm.Event
	}
	ends := make(chan end, 1)
	pid, err := c.nodes["a"].StartOn(context.Background(), "b", Spec{Name: "job"}, prog, out,
		func(status int, fault string, events []vm.Event) { ends <- end{status, fault, events} })
	if err != nil || pid <= 0 {
		t.Fatalf("pid %d, %v", pid, err)
	}
	select {
	case e := <-ends:
		if e.status != StatusFault || !strings.Contains(e.fault, "division by zero") || len(e.events) != 2 || out.String() != "07" {
			t.Fatalf("end %+v, output %q", e, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
	}
}

// A program with no code, or data alone, runs on another member as it runs
// here: it ends at once, with status 0.
func TestStartOnWithoutCode(t *testing.T) {
	for _, src := range []string{"", ".data\nmsg: .asciiz 'hi'\n"} {
		c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
		prog, err := assembler.Assemble(src)
		if err != nil {
			t.Fatal(err)
		}
		ends := make(chan int, 1)
		if _, err := c.nodes["a"].StartOn(context.Background(), "b", Spec{Name: "job"}, prog, io.Discard,
			func(status int, _ string, _ []vm.Event) { ends <- status }); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		select {
		case status := <-ends:
			if status != StatusOK {
				t.Errorf("%q ended with status %d", src, status)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no report", src)
		}
	}
}

// A job on another member whose member is lost reports status 3 with
// why: the member was lost, or this node left the cluster.
func TestStartOnLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		left bool
		want string
	}{
		{"the member is lost", false, "the member b was lost"},
		{"this node leaves", true, "this node left the cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
			prog, _ := assembler.Assemble("recv $1 $2") // waits for good
			type end struct {
				status int
				fault  string
			}
			ends := make(chan end, 1)
			if _, err := c.nodes["a"].StartOn(context.Background(), "b", Spec{Name: "job"}, prog, io.Discard,
				func(status int, fault string, _ []vm.Event) { ends <- end{status, fault} }); err != nil {
				t.Fatal(err)
			}
			c.nodes["a"].MemberLost("b", tc.left)
			select {
			case e := <-ends:
				if e.status != StatusLost || e.fault != tc.want {
					t.Fatalf("ended %d (%s), want %d (%s)", e.status, e.fault, StatusLost, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no report")
			}
		})
	}
}

func waitOutput(t testing.TB, out *testutil.Buffer, want string) {
	t.Helper()
	testutil.WaitFor(t, out, want, 10*time.Second)
}

// waitOnly waits until process pid is the only one n runs.
func waitOnly(t *testing.T, n *Node, pid int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for procs := n.Processes(); len(procs) != 1 || procs[0].PID != pid; procs = n.Processes() {
		if time.Now().After(deadline) {
			t.Fatalf("%s still runs %+v; want only process %d", n.Alias(), procs, pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitState(t *testing.T, n *Node, pid int32, s State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, i := range n.Processes() {
			if i.PID == pid && i.State == s {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never %v", pid, s)
		}
		time.Sleep(time.Millisecond)
	}
}

func (n *Node) handleCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.handles.len()
}

// Sink numbers go on past 2^31-1 from 1 again, skipping the ones still
// registered, and are never 0 or negative (0 names no sink; negative
// numbers are not sinks at all).
func TestSinkNumbersWrap(t *testing.T) {
	n := newNode(t, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	one := n.registerSinkLocked(io.Discard)
	n.lastSink = math.MaxInt32 - 1
	var got []int32
	for range 3 {
		got = append(got, n.registerSinkLocked(io.Discard))
	}
	want := []int32{math.MaxInt32, 2, 3} // 1 is still registered
	if one != 1 || !slices.Equal(got, want) {
		t.Errorf("first %d, then %v; want 1, then %v", one, got, want)
	}
}

// A member holds at most maxMonitors MONITORs of processes here, however
// many watchers it names: each costs memory here, and the protocol cannot
// cancel one. Those of a process that ends, or of a member lost, count no
// more.
func TestMonitorsPerMember(t *testing.T) {
	defer func(m int) { maxMonitors = m }(maxMonitors)
	maxMonitors = 100
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b")
	a := c.nodes["a"]
	held := func() (int, int) {
		a.mu.Lock()
		defer a.mu.Unlock()
		watchers := 0
		for _, p := range a.procs {
			if p.links != nil {
				watchers += p.links.watchers.len()
			}
		}
		return a.monitors["b"], watchers
	}
	monitorAll := func(target int32) {
		for w := int32(1); w <= 110; w++ {
			a.RemoteMonitor("b", w, target)
		}
	}
	p, _ := startOn(t, a, "recv $1 $2\nhlt")
	monitorAll(p.PID())
	if n, w := held(); n != 100 || w != 100 {
		t.Fatalf("b holds %d monitors, the process %d watchers; want 100 and 100", n, w)
	}
	p.Kill()
	ended(t, p)
	if n, _ := held(); n != 0 {
		t.Fatalf("b holds %d monitors after the process ended; want 0", n)
	}
	q, _ := startOn(t, a, "recv $1 $2\nhlt")
	monitorAll(q.PID())
	if n, w := held(); n != 100 || w != 100 {
		t.Fatalf("again: b holds %d monitors, the process %d watchers; want 100 and 100", n, w)
	}
	a.MemberLost("b", false)
	if n, w := held(); n != 0 || w != 0 {
		t.Fatalf("b lost: it holds %d monitors, the process %d watchers; want none", n, w)
	}
}

// BenchmarkLostMemberNotices: a process waits for the ends of n processes
// it started on another member, which is then lost; the time until it
// has every notice (status 3). Each notice takes its process out of the
// parent's list of what it waits for, a set: in a slice that was O(n) a
// notice, and 40,000 of them held the node's lock for 5 s.
func BenchmarkLostMemberNotices(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := fmt.Sprintf(`
	load $1 #1            ; b
	load $2 @wait
	load $6 #%d
	load $7 #0
start:
	spawn $1 $2 $3
	inc $7
	lt $7 $6
	djmpe @start
	prti $7
	load $7 #0
collect:
	recv $4 $5
	inc $7
	lt $7 $6
	djmpe @collect
	hlt
wait:
	recv $4 $5
	hlt
`, n)
			for range b.N {
				b.StopTimer()
				c := newFakeCluster(b, Config{Threads: 2}, "a", "b")
				p, out := startOn(b, c.nodes["a"], src)
				waitOutput(b, out, fmt.Sprint(n))
				b.StartTimer()
				c.lose("a", "b")
				if status, err := ended(b, p); status != StatusOK {
					b.Fatalf("status %d, %v", status, err)
				}
			}
		})
	}
}

// bigProgram is a program another member sends to be started here: the
// source given, then 16,384 words of data that make it large and, with
// its number i, different from every other.
func bigProgram(t *testing.T, i int, src string) *SpawnOrder {
	t.Helper()
	p, err := assembler.Assemble(src + fmt.Sprintf(".word #%d\n", i) + strings.Repeat(".word #0\n", 1<<14))
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &SpawnOrder{Name: fmt.Sprint("program ", i), Hash: sha256.Sum256(img), Image: img}
}

// programMemory is what the node counts for o's program.
func programMemory(t *testing.T, o *SpawnOrder) int64 {
	t.Helper()
	m, _ := vm.New(vm.Config{})
	p, err := vm.ParseBytecode(o.Image)
	if err == nil {
		err = m.Load(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return int64(m.ProgramMemory())
}

// spawnHere starts o on n as member "a" asks it to, and returns the
// process.
func spawnHere(t *testing.T, n *Node, o *SpawnOrder) (*Process, error) {
	t.Helper()
	pid, start, err := n.RemoteSpawn("a", o)
	if err != nil {
		return nil, err
	}
	p, _ := n.Lookup(pid) // not started yet: it is there
	start()
	return p, nil
}

// nodeHere starts a node for a test of what other members ask of it; the
// test closes it.
func nodeHere(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// killHere kills p as its member would and waits for its end.
func killHere(t *testing.T, n *Node, p *Process) {
	t.Helper()
	if !n.RemoteKill(p.PID()) {
		t.Fatalf("kill of process %d refused", p.PID())
	}
	ended(t, p)
}

// TestRemoteProgramsCountInTheMemoryTotal: the programs other members start
// here count in the node's memory total while a process runs them, each
// once however many processes share it, so that spawning processes of ever
// new programs that wait for ever is refused at the total, not stopped by
// the host's memory running out.
func TestRemoteProgramsCountInTheMemoryTotal(t *testing.T) {
	const waits = "recv $1 $2\nhlt\n"
	size := programMemory(t, bigProgram(t, 0, waits))
	n := nodeHere(t, Config{Alias: "b", Threads: 1, HeapTotal: 3*size + size/2}) // room for three
	var procs []*Process
	for i := range 3 {
		p, err := spawnHere(t, n, bigProgram(t, i, waits))
		if err != nil {
			t.Fatalf("program %d of three that fit: %v", i, err)
		}
		procs = append(procs, p)
	}
	if _, err := spawnHere(t, n, bigProgram(t, 3, waits)); !errors.Is(err, ErrProgramTotal) {
		t.Fatalf("a fourth program: %v, want ErrProgramTotal", err)
	}
	again := bigProgram(t, 1, waits)
	again.Image = nil // as a member that sent it already does
	if _, err := spawnHere(t, n, again); err != nil {
		t.Fatalf("another process of a program running here already: %v", err)
	}
	// Once the last process of program 0 ends, its memory is free again.
	killHere(t, n, procs[0])
	if _, err := spawnHere(t, n, bigProgram(t, 3, waits)); err != nil {
		t.Fatalf("a fourth program once the first ended: %v", err)
	}
}

// TestRemoteProgramHeldByChildren: a child spawned here by a process of
// another member's program runs that program too, and it stays counted
// after the parent ended, until the child ends.
func TestRemoteProgramHeldByChildren(t *testing.T) {
	const spawnsWaiter = `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	hlt
child:
	recv $4 $5
	hlt
`
	size := programMemory(t, bigProgram(t, 0, spawnsWaiter))
	n := nodeHere(t, Config{Alias: "b", Threads: 1, HeapTotal: size + size/2}) // room for one
	parent, err := spawnHere(t, n, bigProgram(t, 0, spawnsWaiter))
	if err != nil {
		t.Fatal(err)
	}
	if status, err := ended(t, parent); status != StatusOK {
		t.Fatalf("parent: status %d, %v", status, err)
	}
	live := n.Processes()
	if len(live) != 1 {
		t.Fatalf("%d processes live, want the child alone: %v", len(live), live)
	}
	child, _ := n.Lookup(live[0].PID)
	if _, err := spawnHere(t, n, bigProgram(t, 1, spawnsWaiter)); !errors.Is(err, ErrProgramTotal) {
		t.Fatalf("another program while the child runs the first: %v, want ErrProgramTotal", err)
	}
	killHere(t, n, child)
	if _, err := spawnHere(t, n, bigProgram(t, 1, spawnsWaiter)); err != nil {
		t.Fatalf("another program once the child ended: %v", err)
	}
}

// A program that processes run stays one program after the cache dropped
// it: a spawn of it (by hash alone, as its member sends it) forks it again
// instead of loading and counting a second copy; and a node at its
// process limit says so rather than that memory is short.
func TestRunningProgramCountedOnce(t *testing.T) {
	const waits = "recv $1 $2\nhlt\n"
	size := programMemory(t, bigProgram(t, 0, waits))
	n := nodeHere(t, Config{Alias: "b", Threads: 1, CachePrograms: 1, HeapTotal: 2*size + size/2}) // room for two
	if _, err := spawnHere(t, n, bigProgram(t, 0, waits)); err != nil {
		t.Fatal(err)
	}
	one, err := spawnHere(t, n, bigProgram(t, 1, waits)) // the cache drops program 0
	if err != nil {
		t.Fatal(err)
	}
	again := bigProgram(t, 0, waits)
	again.Image = nil
	if _, err := spawnHere(t, n, again); err != nil {
		t.Fatalf("program 0 by its hash while a process runs it: %v", err)
	}
	if _, err := spawnHere(t, n, bigProgram(t, 2, waits)); !errors.Is(err, ErrProgramTotal) {
		t.Fatalf("a third program: %v, want ErrProgramTotal", err)
	}
	killHere(t, n, one)
	if _, err := spawnHere(t, n, bigProgram(t, 2, waits)); err != nil {
		t.Fatalf("a third program once program 1 ended (two counted, not three): %v", err)
	}

	full := nodeHere(t, Config{Alias: "c", Threads: 1, MaxProcesses: 1, HeapTotal: size + size/2})
	if _, err := spawnHere(t, full, bigProgram(t, 0, waits)); err != nil {
		t.Fatal(err)
	}
	if _, err := spawnHere(t, full, bigProgram(t, 1, waits)); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a spawn past MaxProcesses: %v, want ErrTooMany", err)
	}
}

// TestLateSpawnOfALostMember: a spawn order read after its member was
// lost here (or naming a sink on a member lost here) starts a process that
// MemberLost's sweep has already passed; it must end at once, killed,
// rather than run on answering to nobody. An order from a member that is
// still there, with its sink there, runs.
func TestLateSpawnOfALostMember(t *testing.T) {
	const waits = "recv $1 $2\nhlt\n"
	tests := []struct {
		name, from, sink string
		killed           bool
	}{
		{"from a lost member", "a", "a", true},
		{"output to a lost member", "c", "a", true},
		{"from a member that is there", "c", "c", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, Config{Threads: 2}, "a", "b", "c")
			b := c.nodes["b"]
			c.lose("a", "b")
			o := bigProgram(t, i, waits)
			o.SinkNode = tc.sink
			pid, start, err := b.RemoteSpawn(tc.from, o)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := b.Lookup(pid)
			start()
			if !tc.killed {
				waitState(t, b, pid, Waiting) // it runs: it reached its RECV
				killHere(t, b, p)
				return
			}
			if status, _ := ended(t, p); status != StatusKilled {
				t.Errorf("status %d, want %d (killed)", status, StatusKilled)
			}
		})
	}
}

// TestKilledBeforeStartRunsOnce: a process that RemoteSpawn started for
// a lost member is killed once the cluster starts it, not before: until
// then no worker may run it (its exit notice would go before the spawn's
// answer), and it ends exactly once (queueing an ended process ran it
// again, and its second end closed a closed channel: the node died).
func TestKilledBeforeStartRunsOnce(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 1}, "a", "b", "c")
	b := c.nodes["b"]
	c.lose("a", "b")
	o := bigProgram(t, 0, "recv $1 $2\nhlt\n")
	o.SinkNode = "a" // its output goes to a member b lost; c, which asks, is there
	pid, start, err := b.RemoteSpawn("c", o)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.Lookup(pid)
	other, _ := startOn(t, b, "hlt\n") // the one worker goes round
	ended(t, other)
	select {
	case <-p.Done():
		t.Fatal("the process ran and ended before it was started")
	default:
	}
	start()
	if status, _ := ended(t, p); status != StatusKilled {
		t.Errorf("status %d, want %d (killed)", status, StatusKilled)
	}
	after, _ := startOn(t, b, "hlt\n") // queued behind p, had p been queued again
	ended(t, after)
}

// TestKilledStarterStartsNothing: a process that is being killed (a kill
// lands while it runs, and it runs on to its next taken jump) may reach a
// SPAWN first; the SPAWN fails and starts nothing, here or on another
// member, so that no child outlives a kill that ended every process of a
// lost member.
func TestKilledStarterStartsNothing(t *testing.T) {
	for _, member := range []int32{0, 1} {
		c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
		a, b := c.nodes["a"], c.nodes["b"]
		p, _ := startOn(t, a, "recv $1 $2\nhlt\n")
		waitState(t, a, p.PID(), Waiting)
		a.mu.Lock()
		p.killed = true // as killLocked leaves a running process
		a.mu.Unlock()
		if h, ok, pending := p.Spawn(member, p.VM(), 0); h != 0 || ok || pending {
			t.Errorf("member %d: SPAWN by a killed process: handle %d, flag %v, pending %v; want 0, false, false", member, h, ok, pending)
		}
		if n, m := len(a.Processes()), len(b.Processes()); n != 1 || m != 0 || c.count("Spawn") != 0 {
			t.Errorf("member %d: a runs %d, b %d, %d spawns asked; want the starter alone", member, n, m, c.count("Spawn"))
		}
		p.Kill()
		ended(t, p)
	}
}

// TestMonitorOfOwnChildWithAFullMailbox: a MONITOR that asks for nothing
// new (of its own child, twice) is not dropped however full the mailbox,
// here or on another member: the child's end is told once.
func TestMonitorOfOwnChildWithAFullMailbox(t *testing.T) {
	for _, member := range []int32{0, 1} {
		c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
		a := c.nodes["a"]
		parent, out := startOn(t, a, fmt.Sprintf(`
	self $1
	load $3 #0
	load $8 #%d
	load $4 @child
	spawn $8 $4 $5         ; its end is told here in any case
	load $2 #%d
fill:
	send $1 $2
	dec $2
	gt $2 $3
	djmpe @fill
	monitor $5
	monitor $5
	prti $3
spin: djmp @spin
child:
	recv $6 $7
	hlt
`, member, MailboxLimit))
		waitOutput(t, out, "0")
		for _, n := range c.nodes {
			for _, info := range n.Processes() {
				if p, ok := n.Lookup(info.PID); ok && p != parent {
					p.Kill()
				}
			}
		}
		waitOnly(t, a, parent.PID())
		deadline := time.Now().Add(10 * time.Second)
		for info := a.Processes(); len(info) != 1 || info[0].Mailbox != MailboxLimit+1 || info[0].Dropped != 0; info = a.Processes() {
			if time.Now().After(deadline) {
				t.Fatalf("member %d: %+v; want the parent alone, %d in its mailbox (the notice), no MONITOR dropped", member, info, MailboxLimit+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
		parent.Kill()
		ended(t, parent)
	}
}
