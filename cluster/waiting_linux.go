package cluster

import (
	"net"
	"syscall"
	"unsafe"
)

// bytesWaiting reports whether the kernel holds bytes of c not read yet, or
// its end, looking without waiting and whatever c's read deadline says. A
// node too busy to run a connection's reader in time sees that reader's
// deadline pass with the peer's frame already here (the runtime fires the
// deadline's timer before it looks for ready sockets, and a read past its
// deadline does not look at the socket at all); this tells the two apart.
func bytesWaiting(c net.Conn) bool {
	rc := rawConnOf(c)
	if rc == nil {
		return false
	}
	waiting := false
	err := rc.Control(func(fd uintptr) {
		var b byte
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b)), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		waiting = e == 0 // a byte, or the end of the stream (0 bytes)
	})
	return err == nil && waiting
}
