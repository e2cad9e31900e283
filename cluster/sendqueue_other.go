//go:build !linux

package cluster

import "net"

// sendQueue is nil where this package cannot read a socket's send queue:
// heartbeats then always go through the writer goroutine.
func sendQueue(net.Conn) func() (int, bool) { return nil }
