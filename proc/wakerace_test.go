package proc

import "testing"

// A child parked for its bytes (Writing) that is killed just as the drain
// has written them: the drain takes the child's writer out of the queue's
// waiting list under the queue's lock, and then calls its wake-up; the kill
// (stopWaiting) clears that wake-up under the same lock. The drain must
// not read it after letting go of the lock: a kill that lands in between
// is a data race, and a nil wake-up called.
func TestKillAsDrainWakesChild(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	n, p := sessionOn(t, w)
	open := openOnce(t, w)
	runForeground(t, p, `
.data
x: .asciiz 'x'
.code
	load $0 #0
	load $2 @child
	spawn $0 $2 $3
	hlt
child:
	prts @x
	hlt
`)
	q := p.out.(*outQueue)
	waitingOn(t, q, 1) // the child waits for its bytes
	c, ok := n.Lookup(p.PID() + 1)
	if !ok {
		t.Fatal("the child ended")
	}
	n.mu.Lock()
	open()             // the drain writes "x", takes the child out of waiting, and wakes it: it waits for n.mu
	waitingOn(t, q, 0) // the drain has taken the child out of waiting
	n.killLocked(c)    // still Writing: stopWaiting
	n.mu.Unlock()
	if status, _ := ended(t, c); status != StatusKilled {
		t.Errorf("child: status %d, want %d", status, StatusKilled)
	}
}
