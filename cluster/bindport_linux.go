package cluster

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressNoPort has a dial bound to a local address (see
// session.dialer) take its port at connect, not at bind: bound first, each
// outgoing connection would hold a port of its own for its whole life
// and its TIME_WAIT, where connect shares a port among connections to
// different members, and a mesh of hundreds of nodes on one host could
// run out of ports.
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}
