package cluster

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// rawSocket is a TCP connection whose reads and writes are raw system
// calls (syscall.RawSyscall) on its non-blocking socket, waiting for
// readiness and honouring deadlines through the runtime's poller as
// net.TCPConn does (syscall.RawConn). The difference is what a read or a
// write costs an idle node: the ordinary calls enter the runtime's system
// call state, which wakes its monitor thread whenever it sleeps, so that
// every heartbeat woke a node twice over. In an idle 100-process cluster
// on 2 cores, that thread made two thirds of the nodes' context switches.
// Reads and writes of a non-blocking socket return at once, so skipping
// that state costs nothing.
type rawSocket struct {
	*net.TCPConn
	rc syscall.RawConn

	// The read's and the write's state, each used by one goroutine at a
	// time (the poller's locks serialise them), in fields rather than
	// closures so that a read or a write allocates nothing.
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr syscall.Errno
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool
}

// newRawSocket wraps c, or returns c itself when it is not a TCP
// connection.
func newRawSocket(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	s := &rawSocket{TCPConn: tc, rc: rc}
	s.readFn = s.read
	s.writeFn = s.write
	return s
}

func (s *rawSocket) read(fd uintptr) bool {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.rbuf))), uintptr(len(s.rbuf)))
	if e == syscall.EAGAIN || e == syscall.EINTR {
		return false
	}
	s.rn, s.rerr = int(n), e
	return true
}

func (s *rawSocket) write(fd uintptr) bool {
	for s.wn < len(s.wbuf) {
		rest := s.wbuf[s.wn:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(rest))), uintptr(len(rest)))
		switch {
		case e == syscall.EAGAIN:
			return false
		case e == syscall.EINTR:
			continue
		case e != 0:
			s.werr = e
			return true
		}
		s.wn += int(n)
	}
	return true
}

// ioSync stands in, for the race detector, for the ordering that a read
// of bytes gets from their write: net.Conn's reads and writes tell the
// detector (its package internal/poll does), raw system calls do not, and
// a program that hands data over a connection (a test that changes a
// handler, then asks the other node for it) would look racy. Read and
// Write touch it only in race-enabled builds.
var ioSync atomic.Uint64

func (s *rawSocket) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	s.rbuf, s.rn, s.rerr = b, 0, 0
	err := s.rc.Read(s.readFn)
	if raceEnabled {
		ioSync.Load()
	}
	s.rbuf = nil
	switch {
	case err != nil:
		return 0, opNamed(err, "read")
	case s.rerr != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: s.rerr}
	case s.rn == 0:
		return 0, io.EOF
	}
	return s.rn, nil
}

func (s *rawSocket) Write(b []byte) (int, error) {
	s.wbuf, s.wn, s.werr = b, 0, 0
	if raceEnabled {
		ioSync.Add(1)
	}
	err := opNamed(s.rc.Write(s.writeFn), "write")
	n := s.wn
	s.wbuf = nil
	if err == nil && s.werr != 0 {
		err = &net.OpError{Op: "write", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: s.werr}
	}
	return n, err
}

// opNamed gives an error of the poller's (a deadline passed, the socket
// closed) the name of the plain call, "read" rather than "raw-read", as
// messages that reach people (a !join_cluster that timed out) show it.
func opNamed(err error, op string) error {
	if oe, ok := err.(*net.OpError); ok {
		named := *oe
		named.Op = op
		return &named
	}
	return err
}
