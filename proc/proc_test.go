package proc

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/vm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newNode(t testing.TB, threads int) *Node {
	t.Helper()
	n, err := New(Config{Alias: "test", Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// start runs src as a new background process on n.
func start(t testing.TB, n *Node, src string) (*Process, *testutil.Buffer) {
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

// ended waits (bounded) for p to end and returns its status and fault.
func ended(t testing.TB, p *Process) (int, error) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("process %d did not end", p.PID())
	}
	return p.Wait()
}

// pingPong: the parent sends 0, 1, 2, ... to an echo process and checks
// that each comes back in turn; it prints the count.
const pingPong = `
	load $1 #0
	load $2 @echo
	spawn $1 $2 $3       ; $3: the echo process
	load $5 #1000
	load $6 #0
loop:
	send $3 $6
	recv $7 $8
	neq $7 $6            ; the echo must be the value sent...
	djmpe @wrong
	neq $8 $3            ; ...from the echo process
	djmpe @wrong
	inc $6
	lt $6 $5
	djmpe @loop
	prti $6
	hlt
wrong:
	igl
echo:
	recv $1 $2
	send $2 $1
	djmp @echo
`

func TestPingPong(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			n := newNode(t, threads)
			p, out := start(t, n, pingPong)
			if status, err := ended(t, p); status != StatusOK {
				t.Fatalf("status %d, %v", status, err)
			}
			if out.String() != "1000" {
				t.Fatalf("output %q", out.String())
			}
		})
	}
}

// TestOrderThenExitNotice: what a child sends arrives in order, and its
// exit notice after the last of it.
func TestOrderThenExitNotice(t *testing.T) {
	n := newNode(t, 2)
	p, out := start(t, n, `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	load $6 #0           ; the next value expected
next:
	recv $7 $8
	djmpe @notice        ; flag: an exit notice
	neq $7 $6
	djmpe @wrong
	inc $6
	djmp @next
notice:
	prti $6              ; how many came before it
	prts @space
	prti $7              ; its status
	hlt
wrong:
	igl
child:
	parent $4
	load $5 #0
	load $9 #5000
more:
	send $4 $5
	inc $5
	lt $5 $9
	djmpe @more
	hlt
.data
space: .asciiz ' '
`)
	if status, err := ended(t, p); status != StatusOK {
		t.Fatalf("status %d, %v (output %q)", status, err, out.String())
	}
	if out.String() != "5000 0" {
		t.Fatalf("output %q, want 5000 messages then the notice with status 0", out.String())
	}
}

// TestExitStatuses: the notice a parent gets for children that halt,
// fault, are killed (running or waiting), and a MONITOR of nothing.
func TestExitStatuses(t *testing.T) {
	cases := []struct {
		name   string
		child  string // the child's code, from label child
		kill   bool   // the test kills the child
		status int
	}{
		{"halts", "hlt", false, StatusOK},
		{"runs off the end", "nop", false, StatusOK},
		{"faults", "load $1 #0\n div $1 $1 $1", false, StatusFault},
		{"killed while running", "spin: djmp @spin", true, StatusKilled},
		{"killed while waiting", "recv $1 $2", true, StatusKilled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, 2)
			p, out := start(t, n, `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	prti $3
	prts @nl
	recv $7 $8
	prti $7
	hlt
child:
	`+tc.child+`
.data
nl: .asciiz '\n'
`)
			if tc.kill {
				var child *Process
				deadline := time.Now().Add(10 * time.Second)
				for child == nil && time.Now().Before(deadline) {
					if c, ok := n.Lookup(p.PID() + 1); ok {
						child = c
					}
					time.Sleep(time.Millisecond)
				}
				if child == nil {
					t.Fatal("no child")
				}
				child.Kill()
			}
			if status, err := ended(t, p); status != StatusOK {
				t.Fatalf("parent status %d, %v", status, err)
			}
			lines := strings.Split(out.String(), "\n")
			if len(lines) != 2 || lines[1] != fmt.Sprint(tc.status) {
				t.Fatalf("output %q, want the child's handle then status %d", out.String(), tc.status)
			}
		})
	}
	t.Run("monitor of no such process", func(t *testing.T) {
		n := newNode(t, 1)
		p, out := start(t, n, "load $1 #999\n monitor $1\n recv $7 $8\n prti $7\n prti $8\n hlt")
		ended(t, p)
		if out.String() != "4999" {
			t.Fatalf("output %q, want status 4 from 999", out.String())
		}
	})
}

// TestKilledWhileWaitingNamesRecv: the fault of a process killed in RECV
// names the instruction.
func TestKilledWhileWaitingNamesRecv(t *testing.T) {
	n := newNode(t, 1)
	p, _ := start(t, n, "nop\n recv $1 $2")
	deadline := time.Now().Add(10 * time.Second)
	for n.Processes()[0].State != Waiting {
		if time.Now().After(deadline) {
			t.Fatal("never waiting")
		}
		time.Sleep(time.Millisecond)
	}
	p.Kill()
	status, err := ended(t, p)
	var f *vm.Fault
	if status != StatusKilled || !errors.As(err, &f) || f.Op != vm.OpRecv || f.PC != 4 || !errors.Is(err, vm.ErrInterrupted) {
		t.Fatalf("status %d, err %v", status, err)
	}
}

// TestMonitorOnce: a process that spawns a child and also monitors it,
// twice, gets one exit notice.
func TestMonitorOnce(t *testing.T) {
	n := newNode(t, 1)
	p, out := start(t, n, `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	monitor $3
	monitor $3
	send $3 $3           ; let it end
	recv $7 $8           ; its notice
	load $9 #50
	recvt $7 $8 $9       ; no second one within 50 ms
	prti $8
	hlt
child:
	recv $1 $2
	hlt
`)
	ended(t, p)
	if out.String() != "0" {
		t.Fatalf("output %q: a second exit notice came", out.String())
	}
}

// A kill goes before the queue: the killed process runs (and stops at its
// first instruction) before any other queued process gets a slice, so that
// a kill or a Close does not wait for a slice of every process queued.
func TestKillGoesFirst(t *testing.T) {
	n := newNode(t, 1)
	var spinners []*Process
	for range 20 {
		p, _ := start(t, n, "spin: djmp @spin")
		spinners = append(spinners, p)
	}
	victim := spinners[len(spinners)-1]
	var taken []int32
	n.mu.Lock()
	n.onNext = func(pid int32) { taken = append(taken, pid) }
	n.killLocked(victim)
	n.mu.Unlock()
	if status, _ := ended(t, victim); status != StatusKilled {
		t.Fatalf("status %d, want %d", status, StatusKilled)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(taken) == 0 || taken[0] != victim.pid {
		t.Fatalf("after the kill the worker took %v; want the killed process %d first", taken, victim.pid)
	}
}

// A MONITOR of a process that has ended gives status 4 at once, every
// time, whether or not this process was told of the end already (SPEC
// section 9); one end still gives one notice (TestMonitorOnce). Each
// program prints what its RECVs say, then 0 when no more is waiting: the
// child is pid 2.
func TestNoticeOnce(t *testing.T) {
	const drain = `
	load $9 #0
more:
	recvt $4 $5 $9
	prti $5
	load $0 #0
	eq $5 $0
	djmpne @more
	hlt
`
	tests := []struct {
		name, src, want string
	}{
		{"spawned, ended, then monitored: its notice, then status 4", `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5           ; its notice: it ended
	prti $4
	monitor $3
	recv $4 $5
	prti $4` + drain + `
child:
	hlt
`, "040"},
		{"monitored twice after it ended: status 4 twice", `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5
	monitor $3
	monitor $3` + drain + `
child:
	hlt
`, "220"},
		{"no such process, monitored twice: status 4 twice", `
	load $3 #999
	monitor $3
	monitor $3` + drain, "9999990"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, 1)
			p, out := start(t, n, tc.src)
			ended(t, p)
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// TestRecvt: RECVT takes a message that comes in time, and gives b = 0
// with the flag clear when none does.
func TestRecvt(t *testing.T) {
	n := newNode(t, 1)
	p, out := start(t, n, `
	load $9 #30
	load $8 #7
	recvt $7 $8 $9       ; nothing comes: $8 = 0
	prti $8
	self $1
	load $2 #5
	send $1 $2           ; to itself
	load $9 #10000
	recvt $7 $8 $9       ; comes at once
	prti $7
	hlt
`)
	ended(t, p)
	if out.String() != "05" {
		t.Fatalf("output %q", out.String())
	}
}

// TestMailboxOverflow: a mailbox keeps MailboxLimit messages and counts the
// ones it dropped.
func TestMailboxOverflow(t *testing.T) {
	n := newNode(t, 1)
	sink, _ := start(t, n, "spin: djmp @spin") // never receives
	for range MailboxLimit + 100 {
		n.Send(0, sink.PID(), 1)
	}
	info := n.Processes()
	if len(info) != 1 || info[0].Mailbox != MailboxLimit || info[0].Dropped != 100 {
		t.Fatalf("processes %+v", info)
	}
	sink.Kill()
	ended(t, sink)
}

// TestFullMailboxKeepsExitNotice: a child fills its parent's mailbox and
// more, then ends; the messages past the limit are dropped, its exit
// notice is not (every process gets its notices exactly once).
func TestFullMailboxKeepsExitNotice(t *testing.T) {
	n := newNode(t, 2)
	parent, _ := start(t, n, fmt.Sprintf(`
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
spin: djmp @spin         ; never receives
child:
	parent $4
	load $5 #%d
more:
	send $4 $5
	dec $5
	load $6 #0
	gt $5 $6
	djmpe @more
	hlt
`, MailboxLimit+100))
	deadline := time.Now().Add(20 * time.Second)
	info := n.Processes()
	// Until every message came and the child is gone: its notice goes out
	// under the lock that removes it.
	for len(info) != 1 || info[0].Mailbox+int(info[0].Dropped) < MailboxLimit+100 {
		if time.Now().After(deadline) {
			t.Fatalf("the child did not end: %+v", info)
		}
		time.Sleep(5 * time.Millisecond)
		info = n.Processes()
	}
	if info[0].PID != parent.PID() || info[0].Mailbox != MailboxLimit+1 || info[0].Dropped != 100 {
		t.Errorf("parent %+v; want %d messages and the notice, 100 dropped", info[0], MailboxLimit)
	}
	parent.Kill()
	ended(t, parent)
}

// TestFullMailboxStaysBounded: what could grow a full mailbox without end
// does not. The status-4 answers of MONITORs of processes that never were
// are dropped like messages, and SPAWN fails (its child's exit notice could not be).
func TestFullMailboxStaysBounded(t *testing.T) {
	n := newNode(t, 1)
	monitors, _ := start(t, n, fmt.Sprintf(`
	load $1 #1000          ; no such process, nor any after it
	load $2 #%d
	load $3 #0
again:
	monitor $1
	inc $1                 ; each another: one notice each
	dec $2
	gt $2 $3
	djmpe @again
spin: djmp @spin
`, MailboxLimit+100))
	deadline := time.Now().Add(20 * time.Second)
	for {
		info := n.Processes()
		if len(info) == 1 && info[0].Mailbox+int(info[0].Dropped) == MailboxLimit+100 {
			if info[0].Mailbox != MailboxLimit {
				t.Errorf("mailbox %d after %d MONITORs of nothing, want %d", info[0].Mailbox, MailboxLimit+100, MailboxLimit)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %+v", info)
		}
		time.Sleep(5 * time.Millisecond)
	}
	monitors.Kill()
	ended(t, monitors)

	spawner, out := start(t, n, fmt.Sprintf(`
	self $1
	load $2 #%d
	load $3 #0
fill:
	send $1 $2             ; to itself, never received
	dec $2
	gt $2 $3
	djmpe @fill
	load $4 @child
	spawn $3 $4 $5
	djmpe @started
	prti $5                ; handle 0: not started
	hlt
started:
	igl
child:
	hlt
`, MailboxLimit))
	if status, err := ended(t, spawner); status != StatusOK || out.String() != "0" {
		t.Errorf("SPAWN with a full mailbox: status %d, %v, output %q; want it refused", status, err, out)
	}

	// A MONITOR of a live process with a full mailbox is dropped and
	// counted: a program that monitors process after process and never
	// receives would otherwise hold a notice of each.
	target, _ := start(t, n, "recv $1 $2\nhlt\n")
	watcher, out := start(t, n, fmt.Sprintf(`
	self $1
	load $2 #%d
	load $3 #0
fill:
	send $1 $2
	dec $2
	gt $2 $3
	djmpe @fill
	load $4 #%d
	monitor $4
	prti $3
spin: djmp @spin
`, MailboxLimit, target.PID()))
	waitOutput(t, out, "0")
	target.Kill()
	ended(t, target)
	if info := n.Processes(); len(info) != 1 || info[0].PID != watcher.PID() || info[0].Mailbox != MailboxLimit || info[0].Dropped != 1 {
		t.Errorf("MONITOR with a full mailbox: processes %+v; want the watcher's alone, %d in its mailbox, 1 dropped", info, MailboxLimit)
	}
	watcher.Kill()
	ended(t, watcher)
}

// TestTenThousandProcesses: 10,000 processes in a line: the parent tells
// each the handle of the next (the last gets the parent's), then sends a
// token to the first; each adds one and passes it on, and the parent
// collects the token and every exit notice.
func TestTenThousandProcesses(t *testing.T) {
	const count = 10000
	n := newNode(t, 2)
	p, out := start(t, n, fmt.Sprintf(`
	load $10 #%d
	load $11 #0          ; children spawned
	load $1 #0
	load $2 @child
spawn:
	spawn $1 $2 $3
	djmpne @wrong
	push $3
	inc $11
	lt $11 $10
	djmpe @spawn
	self $4              ; the last child passes to the parent
	load $11 #0
tell:                    ; popped last first: each is told the one popped before
	pop $6
	send $6 $4
	mov $6 $4
	inc $11
	lt $11 $10
	djmpe @tell
	load $7 #0
	send $4 $7           ; the token, to the first child
	load $12 #-1         ; the token when it is back
	load $13 #0          ; exit notices
collect:
	recv $7 $8
	djmpe @notice
	mov $7 $12
	djmp @check
notice:
	inc $13
check:
	lt $13 $10
	djmpe @collect
	load $14 #-1
	eq $12 $14
	djmpe @collect       ; all ended but the token is not back yet
	prti $12
	prts @sp
	prti $13
	hlt
wrong:
	igl
child:
	recv $1 $2           ; the next in the line
	recv $3 $4           ; the token
	inc $3
	send $1 $3
	hlt
.data
sp: .asciiz ' '
`, count))
	if status, err := ended(t, p); status != StatusOK {
		t.Fatalf("status %d, %v", status, err)
	}
	if want := fmt.Sprintf("%d %d", count, count); out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
}

// TestCloseEndsEverything: Close with processes running, waiting and
// queued leaves no goroutine (goleak in TestMain) and ends them all.
func TestCloseEndsEverything(t *testing.T) {
	n, err := New(Config{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*Process
	for _, src := range []string{"spin: djmp @spin", "spin: djmp @spin", "spin: djmp @spin", "recv $1 $2"} {
		p, _ := start(t, n, src)
		ps = append(ps, p)
	}
	n.Close()
	for _, p := range ps {
		if status, _ := ended(t, p); status != StatusKilled {
			t.Errorf("status %d", status)
		}
	}
}

// BenchmarkRoundTrip: two processes pass a counter back and forth; one op
// is one round trip (two messages, two waits, two wake-ups).
func BenchmarkRoundTrip(b *testing.B) {
	benchProgram(b, `
	load $1 #0
	load $2 @echo
	spawn $1 $2 $3
	load $5 #%d          ; b.N, in two halves
	lui $5 #%d
	load $6 #0
loop:
	send $3 $6
	recv $6 $8
	inc $6
	lt $6 $5
	djmpe @loop
	hlt
echo:
	recv $1 $2
	send $2 $1
	djmp @echo
`)
}

// BenchmarkSpawnExit: spawn a local process that halts at once and
// receive its exit notice; one op is one spawn and one notice.
func BenchmarkSpawnExit(b *testing.B) {
	benchProgram(b, `
	load $1 #0
	load $2 @child
	load $5 #%d
	lui $5 #%d
	load $6 #0
loop:
	spawn $1 $2 $3
	recv $7 $8
	inc $6
	lt $6 $5
	djmpe @loop
	hlt
child:
	hlt
`)
}

// benchProgram runs src, formatted with the upper and the lower half of
// b.N, as one process on a node of one worker, timing it whole.
func benchProgram(b *testing.B, src string) {
	n := newNode(b, 1)
	prog, err := assembler.Assemble(fmt.Sprintf(src, b.N>>16, b.N&0xffff))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	p, err := n.Start(Spec{Name: "bench"}, prog, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if status, err := ended(b, p); status != StatusOK {
		b.Fatal(status, err)
	}
}

// BenchmarkWaitingProcessMemory spawns b.N processes that wait in RECV
// and reports the heap they hold, per process.
// TestProcessSize keeps a Process in the allocator's 240-byte size class:
// with 100,000 processes waiting, each size class up is 8-9 MB of RSS, and
// the target is 150 MB (BenchmarkWaitingProcessMemory measures it). Ties to
// other members go in remoteLinks, made on first use.
func TestProcessSize(t *testing.T) {
	if n := unsafe.Sizeof(Process{}); n > 240 {
		t.Errorf("a Process takes %d bytes, more than 240", n)
	}
}

func BenchmarkWaitingProcessMemory(b *testing.B) {
	n := newNode(b, 1)
	prog, err := assembler.Assemble(fmt.Sprintf(`
	load $1 #0
	load $2 @child
	load $5 #%d
	lui $5 #%d
	load $6 #0
loop:
	spawn $1 $2 $3
	inc $6
	lt $6 $5
	djmpe @loop
	self $9
	recv $1 $2        ; wait, with the children, until killed
child:
	recv $1 $2
`, b.N>>16, b.N&0xffff))
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := n.Start(Spec{Name: "bench"}, prog, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	for {
		waiting := 0
		for _, in := range n.Processes() {
			if in.State == Waiting {
				waiting++
			}
		}
		if waiting == b.N+1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-bytes/process")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	b.ReportMetric(float64(vmRSS(b))/(1<<20), "RSS-MB")
	p.Kill()
}

// TestExamples runs the process examples of examples/ on a node.
func TestExamples(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"pingpong.iasm", "10 round trips\npong ended with status 0\n"},
		{"split.iasm", "sum of squares 1..1000 = 333833500\n"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			src, err := os.ReadFile("../examples/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			n := newNode(t, 2)
			p, out := start(t, n, string(src))
			if status, err := ended(t, p); status != StatusOK {
				t.Fatalf("status %d, %v", status, err)
			}
			if out.String() != tc.want {
				t.Fatalf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// examples/echo.iasm answers a message with its value plus one, to the
// sender, and ends on 0: here a process spawns it from the same program,
// sends 42 and prints what comes back, then the echo's exit status.
func TestEchoExample(t *testing.T) {
	echo, err := os.ReadFile("../examples/echo.iasm")
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, 2)
	p, out := start(t, n, `
.data
sp: .asciiz ' '
.code
	load $1 #0
	load $2 @wait      ; echo.iasm's first instruction
	spawn $1 $2 $9
	load $4 #42
	send $9 $4
	recv $5 $6
	prti $5
	prts @sp
	load $4 #0
	send $9 $4
	recv $7 $8         ; the echo's exit notice
	prti $7
	hlt
`+string(echo))
	if status, err := ended(t, p); status != StatusOK || out.String() != "43 0" {
		t.Fatalf("status %d (%v), output %q; want 43 0", status, err, out.String())
	}
}

// vmRSS is this process's resident memory, in bytes.
func vmRSS(t testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb << 10
		}
	}
	return 0
}

// TestLastPID: the node gives pids up to 2^31-1, the last of them a
// process like any other (SELF and SEND take it as this node's), and then
// starts no more (ErrNoPIDs), since it gives no pid twice and every pid
// is positive (negative handles are other members' processes); its
// processes go on.
func TestLastPID(t *testing.T) {
	n := newNode(t, 1)
	server, _ := start(t, n, `recv $1 $2`) // pid 1, alive throughout
	n.mu.Lock()
	n.lastPID = math.MaxInt32 - 1
	n.mu.Unlock()
	// It sends itself 7 and prints its pid and what came back.
	p, out := start(t, n, `
	self $1
	load $2 #7
	send $1 $2
	load $9 #0
	recvt $3 $4 $9
	prti $1
	prts @sp
	prti $3
.data
sp: .asciiz ' '
`)
	if status, err := ended(t, p); status != StatusOK {
		t.Fatalf("pid %d: status %d, %v", p.PID(), status, err)
	}
	if want := fmt.Sprintf("%d 7", math.MaxInt32); p.PID() != math.MaxInt32 || out.String() != want {
		t.Errorf("pid %d printed %q, want pid %d printing %q", p.PID(), out.String(), math.MaxInt32, want)
	}

	prog, err := assembler.Assemble("hlt")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if q, err := n.Start(Spec{Name: "one too many"}, prog, io.Discard); !errors.Is(err, ErrNoPIDs) {
			t.Fatalf("Start past the last pid = %v, %v; want %v", q, err, ErrNoPIDs)
		}
	}
	if q, ok := n.Lookup(1); !ok || q != server {
		t.Fatalf("pid 1 names %v (%v), not the process still alive", q, ok)
	}
	server.Kill()
	ended(t, server)
}

// TestLateTimerDoesNothing: a timer whose callback runs after the
// process's timer changed (Stop came too late for it) leaves the process
// alone: a late RECVT timeout does not end a later wait, nor a later try
// for room; the current timer's callback runs.
func TestLateTimerDoesNothing(t *testing.T) {
	n := newNode(t, 1)
	p, _ := start(t, n, "load $3 #10000\nrecvt $1 $2 $3\nhlt")
	waitState(t, n, p.PID(), Waiting)
	called := false
	late := time.NewTimer(time.Hour) // once p's, say, and replaced since
	late.Stop()
	n.fire(p, &late, func(*Process) { called = true })
	n.mu.Lock()
	current := p.timer
	n.mu.Unlock()
	if called || current == nil {
		t.Fatalf("a late timer ran its callback (%v) or took p's timer (%v)", called, current == nil)
	}
	n.fire(p, &current, func(*Process) { called = true })
	if !called {
		t.Fatal("the current timer's callback did not run")
	}
}
