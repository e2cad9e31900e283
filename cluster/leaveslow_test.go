package cluster

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// A member that reads, but slowly (enough that no write of this node's
// passes its deadline), and has megabytes of process frames queued for it
// must not hold Leave: Leave sends its goodbye within byeTimeout or
// closes the connection, rather than first writing out everything queued
// at the member's pace.
func TestLeaveNotHeldBySlowReader(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	r := established(t, a)
	r.c.SetDeadline(time.Time{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		r.c.Close()
		wg.Wait()
	}()
	wg.Add(2)
	go func() { // a sign of life every 200 ms: never dropped for silence
		defer wg.Done()
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if writeFrame(r.c, &wire.Ping{Seq: seq}) != nil {
				return
			}
		}
	}()
	go func() { // reads 256 KiB every 200 ms
		defer wg.Done()
		buf := make([]byte, 256<<10)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := io.ReadFull(r.c, buf); err != nil {
				return
			}
		}
	}()
	chunk := bytes.Repeat([]byte("x"), wire.MaxOutputChunk)
	queued := 0
	for a.Output("raw", 1, 1, chunk) {
		queued += len(chunk)
	}
	t.Logf("queued %d MiB of output for the slow member", queued>>20)
	left := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(left)
		a.Leave()
	}()
	select {
	case <-left:
	case <-time.After(3 * time.Second):
		t.Errorf("Leave still waiting after %v for a member that reads slowly", time.Since(start).Round(time.Millisecond))
		r.c.Close()
		<-left
	}
}
