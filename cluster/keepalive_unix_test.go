//go:build unix

package cluster

import (
	"syscall"
	"testing"
)

// Cluster connections carry no TCP keep-alives, at either end: the
// heartbeats do their work.
func TestNoKeepAlive(t *testing.T) {
	a, b := twoNodes(t)
	for _, p := range []*peer{a.peerOf("b"), b.peerOf("a")} {
		sc, ok := p.raw.(syscall.Conn)
		if !ok {
			t.Fatalf("%T is not a socket", p.raw)
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var on int
		var serr error
		if err := rc.Control(func(fd uintptr) {
			on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		}); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		if on != 0 {
			t.Errorf("%s's connection to %s has SO_KEEPALIVE on", p.m.Alias(), p.alias)
		}
	}
}
