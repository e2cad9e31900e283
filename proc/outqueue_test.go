package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/testutil"
)

// gatedWriter is a terminal that nobody reads until open is closed: every
// Write waits for it.
type gatedWriter struct {
	open chan struct{}
	testutil.Buffer
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	<-w.open
	return w.Buffer.Write(p)
}

// sessionOn is a foreground process of a new node writing to w, ended
// when the test ends.
func sessionOn(t *testing.T, w io.Writer) (*Node, *Process) {
	t.Helper()
	n := newNode(t, 1)
	p, err := n.Foreground(Spec{Name: "repl"}, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.End(StatusOK, nil) })
	return n, p
}

// returns fails the test if f does not return soon.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s waited for a writer that does not write", what)
	}
}

// What another member's processes print for a foreground process whose
// writer blocks is queued, not written by the caller (a cluster
// connection's reader, which must go on reading): the calls return (the
// first that finds the queue full after waiting maxOutputStall for room,
// the rest at once), the queue keeps 1 MiB, and what did not fit is said
// once the writer writes again.
func TestRemoteOutputNeverWaits(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	n, p := sessionOn(t, w)
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	const chunks = 96 // 3 MiB
	returns(t, "RemoteOutput", func() {
		for range chunks {
			n.RemoteOutput("b", p.sink, 7, chunk)
		}
	})
	close(w.open)
	// What the drain was writing when the rest came (up to 1 MiB), then
	// 1 MiB more that the queue kept; the rest is counted.
	notice := regexp.MustCompile(`^(x+)\n\((\d+) bytes of output from other members dropped: this output did not keep up\)\n$`)
	deadline := time.Now().Add(10 * time.Second)
	m := notice.FindStringSubmatch(w.String())
	for m == nil {
		if time.Now().After(deadline) {
			t.Fatalf("wrote %d bytes, ending %q", len(w.String()), w.String()[max(0, len(w.String())-90):])
		}
		time.Sleep(5 * time.Millisecond)
		m = notice.FindStringSubmatch(w.String())
	}
	kept, dropped := len(m[1]), m[2]
	if kept < maxQueuedOutput || kept > 2*maxQueuedOutput || dropped != strconv.Itoa(chunks*len(chunk)-kept) {
		t.Errorf("kept %d bytes and said %s were dropped, of %d", kept, dropped, chunks*len(chunk))
	}

	// The writer writes again: the queue is no longer taken for stalled,
	// and 3 MiB more arrive whole.
	before := len(w.String())
	for range chunks {
		n.RemoteOutput("b", p.sink, 7, chunk)
	}
	p.out.Write([]byte("end"))
	if got := w.String()[before:]; got != strings.Repeat("x", chunks*len(chunk))+"end" {
		t.Errorf("after the stall, wrote %d bytes ending %q", len(got), got[max(0, len(got)-100):])
	}
}

// A foreground process's own output comes after what other members'
// processes printed for it before: a program that receives a worker's
// message prints after the worker's output.
func TestOwnOutputAfterQueued(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	n, p := sessionOn(t, w)
	n.RemoteOutput("b", p.sink, 7, []byte("from b\n"))
	written := make(chan struct{})
	go func() {
		defer close(written)
		p.out.Write([]byte("own\n"))
	}()
	close(w.open)
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Fatal("the process's own write did not return")
	}
	if got := w.String(); got != "from b\nown\n" {
		t.Errorf("wrote %q, want the queued output first", got)
	}
}

// slowWriter writes about 4 MB a second, as a terminal or an SSH client
// far away may, slower than output comes, but always writes.
type slowWriter struct{ testutil.Buffer }

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(len(p)) * time.Second / (4 << 20))
	return w.Buffer.Write(p)
}

// A writer slower than the output that comes for it, but not stalled,
// loses nothing: the caller waits for room instead.
func TestSlowWriterLosesNothing(t *testing.T) {
	w := &slowWriter{}
	n, p := sessionOn(t, w)
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	const chunks = 96 // 3 MiB, three times what the queue holds
	for range chunks {
		n.RemoteOutput("b", p.sink, 7, chunk)
	}
	p.out.Write([]byte("end")) // after everything queued before it
	got := w.String()
	if want := strings.Repeat("y", chunks*len(chunk)) + "end"; got != want {
		t.Errorf("wrote %d bytes (%q at the end), want all %d", len(got), got[max(0, len(got)-100):], len(want))
	}
}

// A write of the process's own waits only for what was queued before it:
// output that goes on arriving behind it does not hold it back.
func TestOwnWriteIsNotStarved(t *testing.T) {
	w := &slowWriter{}
	n, p := sessionOn(t, w)
	stop := make(chan struct{})
	flooded := make(chan struct{})
	piece := bytes.Repeat([]byte("r"), 32<<10)
	go func() { // a remote printer faster than the writer, never stopping
		defer close(flooded)
		for {
			select {
			case <-stop:
				return
			default:
				n.RemoteOutput("b", p.sink, 7, piece)
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(w.String()) == 0 { // the queue is full by now
		if time.Now().After(deadline) {
			t.Fatal("nothing written")
		}
		time.Sleep(time.Millisecond)
	}
	returns(t, "the process's own write", func() { p.out.Write([]byte("own")) })
	close(stop)
	<-flooded
	got := w.String()
	i := strings.Index(got, "own")
	if i < 0 || i%len(piece) != 0 || strings.Count(got, "own") != 1 {
		t.Errorf("own output at %d, not between whole pieces queued before and after it", i)
	}
}

// Once output is dropped, so is what comes after it, even what would fit,
// until the notice has gone out: the notice stands where the gap is, and
// a child's print waits for it.
func TestDropNoticeStandsAtTheGap(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	n, p := sessionOn(t, w)
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	returns(t, "RemoteOutput", func() {
		for range 31 { // 992 KiB: room for 32 KiB more
			n.RemoteOutput("b", p.sink, 7, chunk)
		}
		n.RemoteOutput("b", p.sink, 7, bytes.Repeat([]byte("y"), 40<<10)) // does not fit: dropped
		n.RemoteOutput("b", p.sink, 7, []byte("tail"))                    // would fit: dropped too
	})
	// A child's print waits for the notice too.
	runForeground(t, p, `
.data
s: .asciiz 'child'
.code
	load $0 #0
	load $2 @child
	spawn $0 $2 $3
	hlt
child:
	prts @s
	hlt
`)
	child, ok := n.Lookup(p.PID() + 1)
	if !ok {
		t.Fatal("the child ended before the writer took anything")
	}
	close(w.open)
	ended(t, child)
	p.out.Write([]byte("end"))
	want := strings.Repeat("x", 31*len(chunk)) +
		fmt.Sprintf("\n(%d bytes of output from other members dropped: this output did not keep up)\nchildend", 40<<10+4)
	if got := w.String(); got != want {
		t.Errorf("wrote %d bytes ending %q; want %d ending %q", len(got), got[max(0, len(got)-100):], len(want), want[len(want)-100:])
	}
}

// runForeground runs src on the foreground process p until it stops.
func runForeground(t *testing.T, p *Process, src string) {
	t.Helper()
	prog, err := assembler.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.VM().Load(prog); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RunContext(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// openOnce opens w's gate once, and at the latest when the test ends,
// before the node closes: its workers may wait for w.
func openOnce(t *testing.T, w *gatedWriter) func() {
	var opened sync.Once
	open := func() { opened.Do(func() { close(w.open) }) }
	t.Cleanup(open)
	return open
}

// waitingOn waits (bounded) until want processes wait for room or for
// their bytes on q, which a gated writer holds.
func waitingOn(t *testing.T, q *outQueue, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		got := len(q.waiting)
		q.mu.Unlock()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes parked on the queue, want %d", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// The children of a foreground process print where it does, to a writer
// that may block for as long as its reader likes (an SSH client that
// reads nothing). They wait for it without a worker: with one worker and
// two children printing to a writer that takes nothing, a process with a
// writer of its own still runs and ends, and the children wait, listed
// as running. Once the writer takes bytes again, every number they print
// comes out once and whole, each child's in order, and they end.
func TestSessionChildrenHoldNoWorker(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	n, p := sessionOn(t, w)
	open := openOnce(t, w)
	runForeground(t, p, `
.data
nl: .asciiz '\n'
.code
	load $0 #0
	load $1 #1              ; the first child prints 1000000 + i
	load $2 @child
	spawn $0 $2 $3
	load $1 #2              ; the second 2000000 + i
	spawn $0 $2 $3
	hlt
child:
	load $4 #1000000
	mul $1 $4 $5
	load $6 #2000
	load $7 #0
loop:
	add $5 $7 $8
	prti $8
	prts @nl
	inc $7
	lt $7 $6
	djmpe @loop
	hlt
`)
	children := []int32{p.PID() + 1, p.PID() + 2}
	for _, pid := range children {
		waitState(t, n, pid, Running)
	}
	own, out := start(t, n, "load $1 #5\nprti $1\nhlt")
	if status, err := ended(t, own); status != StatusOK || out.String() != "5" {
		t.Fatalf("a process of its own: status %d, %v, output %q", status, err, out)
	}
	for _, pid := range children {
		if _, ok := n.Lookup(pid); !ok {
			t.Errorf("child %d ended instead of waiting for its writer", pid)
		}
	}
	open()
	for _, pid := range children {
		if c, ok := n.Lookup(pid); ok {
			if status, err := ended(t, c); status != StatusOK {
				t.Fatalf("child %d: status %d, %v", pid, status, err)
			}
		}
	}
	// Each PRT* is one write: the numbers, all of 7 digits, come whole,
	// although the two children's writes interleave.
	got := w.String()
	if lines := strings.Count(got, "\n"); lines != 4000 {
		t.Errorf("%d line ends, want 4000", lines)
	}
	digits := strings.ReplaceAll(got, "\n", "")
	next := map[string]int{"1": 0, "2": 0}
	for i := 0; i+7 <= len(digits); i += 7 {
		number, child := digits[i:i+7], digits[i:i+1]
		if want := fmt.Sprintf("%s%06d", child, next[child]); number != want {
			t.Fatalf("number %q, want %q: output lost, doubled or out of order", number, want)
		}
		next[child]++
	}
	if next["1"] != 2000 || next["2"] != 2000 {
		t.Errorf("lines of each child: %v, want 2000 each", next)
	}
}

// A child whose print does not fit in the queue waits, parked, until it
// does: one of 700 KiB behind one of 400 KiB, on a writer that takes
// nothing. A killed child stops waiting and is forgotten by the queue.
func TestChildWaitingForRoomParks(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	n, p := sessionOn(t, w)
	openOnce(t, w)
	runForeground(t, p, fmt.Sprintf(`
.data
small: .asciiz '%s'
big: .asciiz '%s'
.code
	load $0 #0
	load $2 @first
	spawn $0 $2 $3
	load $2 @second
	spawn $0 $2 $3
	hlt
first:
	prts @small
	hlt
second:
	prts @big
	hlt
`, strings.Repeat("s", 400<<10), strings.Repeat("b", 700<<10)))
	q := p.out.(*outQueue)
	waitingOn(t, q, 2) // the first for its bytes, the second for room
	for _, pid := range []int32{p.PID() + 1, p.PID() + 2} {
		c, ok := n.Lookup(pid)
		if !ok {
			t.Fatalf("child %d ended", pid)
		}
		c.Kill()
		if status, _ := ended(t, c); status != StatusKilled {
			t.Errorf("child %d: status %d, want %d", pid, status, StatusKilled)
		}
	}
	waitingOn(t, q, 0)
}
