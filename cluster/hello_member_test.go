package cluster

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestHelloToConnectedMemberAtOtherAddress: "a" listens on every address
// and dialled "b" (a Join, as a member does that heard of b). b's user then
// types !join_cluster with another address of a (127.0.0.2 here, a second
// address of a multi-homed host in general). b's dial checks only the
// address (connectedAt), so it says Hello to a member it holds a healthy
// connection to. The healthy connection must survive.
func TestHelloToConnectedMemberAtOtherAddress(t *testing.T) {
	ca := testConfig(t, "a")
	ca.Host, ca.Port = "0.0.0.0", 45731
	a := newNode(t, ca)
	b := newNode(t, testConfig(t, "b")) // 127.0.0.1
	ha, hb := &recHandler{}, &recHandler{}
	a.SetProcessHandler(ha)
	b.SetProcessHandler(hb)
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	a.dialNow(s, "b", addrOf(t, b))
	eventually(t, 5*time.Second, func() bool { return a.connected("b") && b.connected("a") },
		func() string { return "a never connected to b" })
	pa, pb := a.peerOf("b"), b.peerOf("a")
	t.Logf("b holds a at %s, a holds b at %s", pb.addr(), pa.addr())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.Join(ctx, net.JoinHostPort("127.0.0.2", fmt.Sprint(ca.Port)))
	t.Logf("b's !join_cluster 127.0.0.2: %v", err)
	time.Sleep(300 * time.Millisecond)
	if l := ha.snapshot().lost; len(l) > 0 {
		t.Errorf("a told its processes it lost %v", l)
	}
	if l := hb.snapshot().lost; len(l) > 0 {
		t.Errorf("b told its processes it lost %v", l)
	}
	if q := a.peerOf("b"); q != pa {
		t.Errorf("a replaced or lost its healthy connection to b (now %p)", q)
	}
	if q := b.peerOf("a"); q != pb {
		t.Errorf("b lost its healthy connection to a (now %p)", q)
	}
}
