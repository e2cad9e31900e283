package proc

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// outQueue is the writer of a foreground process (a REPL's terminal, an
// SSH client), which may block for as long as its reader likes: a terminal
// stopped with Ctrl-S, a client that reads nothing. What processes on
// other members print for it arrives on a cluster connection's reader,
// which must never wait long for such a writer (the connection would fall
// silent and its member be dropped), so it is queued here and written out
// by a goroutine of the queue's, in pieces. The process's own writes (and
// its local children's) wait until what was queued before them has been
// written, then write: what a remote process printed before it sent a
// message comes out before what the receiver prints after it.
//
// The queue holds at most maxQueuedOutput bytes. When it is full, enqueue
// waits for room as long as the writer makes progress, a piece at least
// every maxOutputStall: a writer merely slower than the network (a file, a
// terminal, an SSH client far away) loses nothing. One that writes nothing
// for that long is stalled: from then until it writes again, what does not
// fit is dropped at once, and so is everything after it until the queue
// has been written out, followed by a line saying how much was dropped.
type outQueue struct {
	w io.Writer

	mu       sync.Mutex
	turn     sync.Cond     // broadcast when busy clears or a piece was written
	progress chan struct{} // closed (and replaced) when a piece was written
	queued   []byte
	// queuedTotal and writtenTotal count the bytes ever queued and ever
	// taken off the queue (written, or thrown away when w failed): a
	// write of the owner's waits until writtenTotal reaches queuedTotal as
	// it was when the write came (its mark). yieldAt is the lowest mark
	// waited for (0: none); the drain stops there to let that write go.
	queuedTotal, writtenTotal, yieldAt int64
	busy                               bool // w is in use, by the drain or a write of the owner's
	draining                           bool // the drain goroutine runs
	stalled                            bool // the writer wrote nothing for maxOutputStall while full
	dropped                            int64

	// err is the drain's first failed write, and failedAt writtenTotal
	// before it: bytes below failedAt were written, the rest were not and
	// will not be. waiting are the parked writers of processes (see
	// childWriter), woken by the drain.
	err      error
	failedAt int64
	waiting  []*childWriter
}

// Bounds of an outQueue: the bytes it holds (and one piece more, being
// written), a piece, and how long a connection's reader waits for a
// writer that writes nothing, well within a heartbeat timeout.
const (
	maxQueuedOutput = 1 << 20
	outputPiece     = 64 << 10
	maxOutputStall  = 500 * time.Millisecond
)

func newOutQueue(w io.Writer) *outQueue {
	q := &outQueue{w: w, progress: make(chan struct{})}
	q.turn.L = &q.mu
	return q
}

// Write writes p once everything queued before it has been written.
func (q *outQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	mark := q.queuedTotal
	for q.busy || q.writtenTotal < mark {
		if q.writtenTotal < mark && (q.yieldAt == 0 || mark < q.yieldAt) {
			q.yieldAt = mark
		}
		q.kickLocked() // the drain may have yielded to another write
		q.turn.Wait()
	}
	q.busy, q.yieldAt = true, 0 // other waiting writes mark themselves again
	q.mu.Unlock()
	n, err := q.w.Write(p)
	q.mu.Lock()
	q.busy = false
	q.kickLocked()
	q.turn.Broadcast()
	q.mu.Unlock()
	return n, err
}

// enqueue queues p to be written, waiting for room while the writer makes
// progress (see outQueue). p may be reused once it returns.
func (q *outQueue) enqueue(p []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full(len(p)) && !q.stalled {
		timer := time.NewTimer(maxOutputStall)
		for q.full(len(p)) && !q.stalled {
			progress := q.progress
			q.mu.Unlock()
			select {
			case <-progress:
				timer.Reset(maxOutputStall)
				q.mu.Lock()
			case <-timer.C:
				q.mu.Lock()
				q.stalled = true
			}
		}
		timer.Stop()
	}
	if q.full(len(p)) || q.dropped > 0 {
		// Once some is dropped, all is, until the notice of how much has
		// gone out: it then stands where the gap is.
		q.dropped += int64(len(p))
		return
	}
	q.queued = append(q.queued, p...)
	q.queuedTotal += int64(len(p))
	q.kickLocked()
}

func (q *outQueue) full(n int) bool { return len(q.queued)+n > maxQueuedOutput }

// kickLocked starts the drain if there is something for it and it does
// not run.
func (q *outQueue) kickLocked() {
	if !q.draining && (len(q.queued) > 0 || q.dropped > 0) {
		q.draining = true
		go q.drain() // owned by q: ends when the queue is empty or a write waits its turn
	}
}

// drain writes the queue a piece at a time until it is empty, or until a
// write of the owner's has what it waits for written.
func (q *outQueue) drain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for q.busy {
			q.turn.Wait()
		}
		if len(q.queued) == 0 && q.dropped == 0 || q.yieldAt > 0 && q.writtenTotal >= q.yieldAt {
			q.draining = false
			q.turn.Broadcast()
			return
		}
		var out []byte
		n := min(len(q.queued), outputPiece)
		if q.yieldAt > 0 {
			n = min(n, int(q.yieldAt-q.writtenTotal))
		}
		if q.dropped > 0 && n == len(q.queued) { // said after what was kept
			out = fmt.Appendf(q.queued[:n:n], "\n(%d bytes of output from other members dropped: this output did not keep up)\n", q.dropped)
			q.dropped = 0
		} else {
			out = q.queued[:n:n]
		}
		q.busy = true
		q.mu.Unlock()
		_, err := q.w.Write(out)
		q.mu.Lock()
		q.busy = false
		q.queued = q.queued[n:]
		if err != nil && q.err == nil {
			q.err, q.failedAt = err, q.writtenTotal
		}
		q.writtenTotal += int64(n)
		if err != nil { // nobody reads it any more
			q.writtenTotal += int64(len(q.queued))
			q.queued, q.dropped = nil, 0
		}
		if len(q.queued) == 0 {
			q.queued = nil // give the storage back
		}
		q.stalled = false
		close(q.progress)
		q.progress = make(chan struct{})
		q.turn.Broadcast()
		if ready := q.readyLocked(); len(ready) > 0 {
			q.mu.Unlock()
			for _, wake := range ready {
				wake()
			}
			q.mu.Lock()
		}
	}
}

// readyLocked takes the parked writers that may go on out of waiting and
// returns their wake-ups, read here under q.mu: once the lock is let go, a
// kill (stopWaiting) may clear a writer's.
func (q *outQueue) readyLocked() []func() {
	var ready []func()
	keep := q.waiting[:0]
	for _, w := range q.waiting {
		if w.readyLocked() {
			ready = append(ready, w.wake)
		} else {
			keep = append(keep, w)
		}
	}
	clear(q.waiting[len(keep):])
	q.waiting = keep
	return ready
}

// childWriter is the writer of a process that the workers run and that
// prints where a foreground process does: its child, or a process another
// member started with its output here. The foreground's writer may block
// for as long as its reader likes (a terminal stopped with Ctrl-S, an SSH
// client that reads nothing), and a worker must not wait for it: soon
// every worker would, and every process of the node with them.
//
// So Write queues the bytes for the queue's drain and answers
// vm.ErrOutputFull: the PRT* waits, its process parks (Writing) and holds
// no worker, and the drain wakes it once the bytes are written. The PRT*
// then runs again, whole, with the same bytes, and Write reports how the
// write went. A PRT* completes only once its bytes are written, as when
// the process wrote them itself: they come out before whatever it does
// next (a SEND, its end, its fault's report), and a writer that fails
// faults it. With the queue full, Write queues nothing and the process
// waits for room.
type childWriter struct {
	q    *outQueue
	mark int64  // queuedTotal just after this writer's bytes; 0: none queued (q.mu)
	need int    // with none queued, the size of the write that found no room (q.mu)
	wake func() // what the drain calls when it may go on (q.mu)
}

func (w *childWriter) Write(p []byte) (int, error) {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.mark > 0 { // the PRT* again, its bytes queued by its first run
		if !w.readyLocked() {
			return 0, vm.ErrOutputFull
		}
		mark := w.mark
		w.mark = 0
		if q.err != nil && mark > q.failedAt {
			return 0, q.err
		}
		return len(p), nil
	}
	switch {
	case len(p) == 0:
		return 0, nil
	case q.err != nil: // nobody reads it any more
		return 0, q.err
	case !w.fitsLocked(len(p)):
		w.need = len(p)
		return 0, vm.ErrOutputFull
	}
	q.queued = append(q.queued, p...)
	q.queuedTotal += int64(len(p))
	w.mark = q.queuedTotal
	q.kickLocked()
	return 0, vm.ErrOutputFull
}

// fitsLocked reports whether a write of n bytes may be queued: into an
// empty queue whatever its size, else within maxQueuedOutput, and not
// while output from other members is being dropped (the notice of how
// much goes where the gap is, before anything printed after it).
func (w *childWriter) fitsLocked(n int) bool {
	q := w.q
	return len(q.queued) == 0 || q.dropped == 0 && len(q.queued)+n <= maxQueuedOutput
}

// readyLocked reports whether the PRT* of w may run again: its bytes are
// written, or, with none queued, its write now fits and the queue is at
// most half full (so that a process waiting for room is not woken for
// every piece written).
func (w *childWriter) readyLocked() bool {
	q := w.q
	if w.mark > 0 {
		return q.writtenTotal >= w.mark
	}
	return q.err != nil || w.fitsLocked(w.need) && (len(q.queued) == 0 || len(q.queued) <= maxQueuedOutput/2)
}

// waitFor has wake called, without the queue's lock, once the PRT* whose
// Write answered vm.ErrOutputFull may run again. It reports false, and
// arranges nothing, when it may already.
func (w *childWriter) waitFor(wake func()) bool {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.readyLocked() {
		return false
	}
	w.wake = wake
	q.waiting = append(q.waiting, w)
	return true
}

// stopWaiting forgets the wake-up of w's process, which was killed: with
// a writer that never writes again, it would be kept for good.
func (w *childWriter) stopWaiting() {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiting, w); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	}
	w.wake = nil
}
