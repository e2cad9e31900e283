package cluster

import (
	"net"
	"syscall"
	"unsafe"
)

// sendQueue returns a function that reads how many bytes the kernel holds
// for the TCP connection c, sent and not acknowledged or not sent yet
// (SIOCOUTQ), or nil when c is not a socket. The function allocates
// nothing: a peer makes it once and calls it for every heartbeat, with its
// wmu held (the function is not safe for concurrent use).
func sendQueue(c net.Conn) func() (int, bool) {
	rc := rawConnOf(c)
	if rc == nil {
		return nil
	}
	var (
		n     int32
		errno syscall.Errno
	)
	ioctl := func(fd uintptr) {
		_, _, errno = syscall.RawSyscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	}
	return func() (int, bool) {
		if err := rc.Control(ioctl); err != nil || errno != 0 {
			return 0, false
		}
		return int(n), true
	}
}

// rawConnOf is c's socket for system calls of this package's own (ioctl,
// recv with flags), or nil when c is not a socket.
func rawConnOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
