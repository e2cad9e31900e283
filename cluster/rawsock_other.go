//go:build !linux

package cluster

import "net"

// newRawSocket returns c: the raw system calls of rawsock_linux.go are
// Linux's.
func newRawSocket(c net.Conn) net.Conn { return c }
