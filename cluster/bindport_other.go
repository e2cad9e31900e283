//go:build !linux

package cluster

import "syscall"

// bindAddressNoPort is nil: IP_BIND_ADDRESS_NO_PORT (bindport_linux.go) is
// Linux's.
var bindAddressNoPort func(network, address string, c syscall.RawConn) error
