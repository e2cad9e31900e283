package cluster

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// TestShutdownLeavesNothing: a busy node (members, redials under way, a
// Join hanging in its handshake, half-open and silent connections) shut
// down leaves no goroutine and no connection behind.
func TestShutdownLeavesNothing(t *testing.T) {
	// A fake acceptor that never sends its Challenge, started first so
	// that its goroutine is not counted.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	hangDone := make(chan struct{})
	go func() {
		defer close(hangDone)
		var held []net.Conn
		for {
			c, err := hang.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	defer func() { hang.Close(); <-hangDone }()

	time.Sleep(10 * time.Millisecond)
	ignore := goleak.IgnoreCurrent()
	fds := openFDs(t)

	var nodes []*Manager
	for _, alias := range []string{"a", "b", "c", "d"} {
		m, err := New(testConfig(t, alias))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Start(); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, m)
	}
	for _, n := range nodes[1:] {
		join(t, n, nodes[0])
	}
	waitMesh(t, nodes, 5*time.Second)
	a := nodes[0]
	// d is killed: the others redial it.
	nodes[3].Shutdown()
	waitMesh(t, nodes[:3], 2*time.Second)
	// Silent connections and a half-done handshake.
	var raws []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addrOf(t, a))
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, c)
	}
	// A Join hanging in its handshake.
	joinErr := make(chan error, 1)
	go func() { joinErr <- a.Join(context.Background(), hang.Addr().String()) }()
	time.Sleep(3 * a.cfg.HeartbeatInterval)

	for _, n := range nodes {
		if err := n.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-joinErr; err == nil {
		t.Error("the hanging Join succeeded")
	}
	for _, c := range raws {
		// The node closed its end: the read sees EOF at once.
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				if os.IsTimeout(err) {
					t.Error("a connection outlived Shutdown")
				}
				break
			}
		}
		c.Close()
	}
	// The fake acceptor's end of the hanging Join's connection.
	hang.Close()
	<-hangDone
	// Shutdown returned: nothing of the nodes runs or stays open.
	if err := goleak.Find(ignore); err != nil {
		t.Error(err)
	}
	// fds counted the fake acceptor's listener, closed since.
	if got := openFDs(t); got != fds-1 {
		t.Errorf("%d file descriptors open after Shutdown, %d before the nodes started", got, fds-1)
	}
}
