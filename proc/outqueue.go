package proc

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// outQueue is the writer of a foreground process (a REPL's terminal, an
// SSH client), which may block for as long as its reader likes: a terminal
// stopped with Ctrl-S, a client that reads nothing. What processes on
// other members print for it arrives on a cluster connection's reader,
// which must never wait for such a writer (the connection would fall
// silent and its member be dropped), so it is queued here and written out
// by a goroutine of the queue's. The process's own writes (and its local
// children's) wait until the queue is empty, then write: what a remote
// process printed before it sent a message comes out before what the
// receiver prints after it.
//
// The queue holds at most maxQueuedOutput bytes. When it is full, enqueue
// waits up to maxOutputStall for the writer to make room: a writer that is
// merely slower than the network (a file, a busy terminal) loses nothing.
// One that makes no room in that time is stalled: from then until it
// writes again, what does not fit is dropped at once, and the next write
// out says how much.
type outQueue struct {
	w        io.Writer
	progress chan struct{} // a token after each write of the drain, capacity 1

	mu      sync.Mutex
	idle    sync.Cond // signalled when busy clears
	queued  []byte
	busy    bool // a write to w is under way, by a writer or the drain
	stalled bool // the writer made no room within maxOutputStall
	dropped int64
}

// maxQueuedOutput bounds the output of other members' processes waiting
// for a writer that does not keep up; maxOutputStall is how long a
// connection's reader waits for room, well within a heartbeat timeout.
const (
	maxQueuedOutput = 1 << 20
	maxOutputStall  = 100 * time.Millisecond
)

func newOutQueue(w io.Writer) *outQueue {
	q := &outQueue{w: w, progress: make(chan struct{}, 1)}
	q.idle.L = &q.mu
	return q
}

// Write writes p once everything queued before it has been written.
func (q *outQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	for q.busy {
		q.idle.Wait()
	}
	q.busy = true
	q.mu.Unlock()
	n, err := q.w.Write(p)
	q.mu.Lock()
	q.settleLocked()
	q.mu.Unlock()
	return n, err
}

// enqueue queues p to be written, waiting at most maxOutputStall for room
// (see outQueue). p may be reused once it returns.
func (q *outQueue) enqueue(p []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queued)+len(p) > maxQueuedOutput && !q.stalled {
		deadline := time.NewTimer(maxOutputStall)
		for len(q.queued)+len(p) > maxQueuedOutput && !q.stalled {
			q.mu.Unlock()
			select {
			case <-q.progress:
			case <-deadline.C:
				q.mu.Lock()
				q.stalled = true
				q.mu.Unlock()
			}
			q.mu.Lock()
		}
		deadline.Stop()
	}
	if len(q.queued)+len(p) > maxQueuedOutput {
		q.dropped += int64(len(p))
		return
	}
	q.queued = append(q.queued, p...)
	if !q.busy {
		q.busy = true
		go q.drain() // owned by q: ends when the queue is empty or w fails
	}
}

// settleLocked ends a write to w: the drain takes over if anything is
// queued, else the next writer may go.
func (q *outQueue) settleLocked() {
	if len(q.queued) > 0 || q.dropped > 0 {
		go q.drain()
		return
	}
	q.busy = false
	q.idle.Broadcast()
}

// drain writes what is queued until the queue is empty; busy is set.
func (q *outQueue) drain() {
	q.mu.Lock()
	for len(q.queued) > 0 || q.dropped > 0 {
		out := q.queued
		if q.dropped > 0 {
			out = fmt.Appendf(out, "\n(%d bytes of output from other members dropped: this output did not keep up)\n", q.dropped)
			q.dropped = 0
		}
		q.queued = nil
		q.mu.Unlock()
		_, err := q.w.Write(out)
		select {
		case q.progress <- struct{}{}:
		default:
		}
		q.mu.Lock()
		q.stalled = false
		if err != nil {
			q.queued = nil // nobody reads it any more
			q.dropped = 0
		}
	}
	q.busy = false
	q.idle.Broadcast()
	q.mu.Unlock()
}
