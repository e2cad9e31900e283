//go:build !linux

package cluster

import "net"

// bytesWaiting is Linux's (waiting_linux.go); elsewhere the reader's short
// second read (silenceGrace) is all there is.
func bytesWaiting(net.Conn) bool { return false }
