package cluster

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// A dial from a node that listens on one address is bound to it, and
// takes its port at connect (IP_BIND_ADDRESS_NO_PORT), so that its
// connections share ports as unbound ones do.
func TestBoundDialTakesItsPortAtConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &session{self: selfAddrs{ip: netip.MustParseAddr("127.0.0.2")}}
	c, err := s.dialer(ln.Addr().String()).DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.2" {
		t.Errorf("dialled from %s, want 127.0.0.2", got)
	}
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	raw.Control(func(fd uintptr) { v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT) })
	if err != nil || v != 1 {
		t.Errorf("IP_BIND_ADDRESS_NO_PORT = %d (%v), want 1", v, err)
	}
}
