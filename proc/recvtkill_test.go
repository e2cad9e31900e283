package proc

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Processes looping in RECVT with a 1 ms timeout, killed at random moments
// (their timer firing, queued again, running) and the node closed with
// more of them still looping: each ends once with status 2, and nothing
// is left behind (goleak in TestMain).
func TestKillDuringRecvtTimeouts(t *testing.T) {
	n, err := New(Config{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*Process
	for range 200 {
		p, _ := start(t, n, "load $3 #1\nloop: recvt $1 $2 $3\ndjmp @loop")
		ps = append(ps, p)
	}
	for _, i := range rand.Perm(len(ps))[:150] {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		ps[i].Kill()
	}
	n.Close()
	for _, p := range ps {
		if status, err := ended(t, p); status != StatusKilled {
			t.Fatalf("process %d: status %d, %v", p.PID(), status, err)
		}
	}
}
