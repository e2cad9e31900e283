//go:build !linux

package main

// keepEOFKey leaves the terminal as it is here (see eofkey_linux.go).
func keepEOFKey(fd int) (restore func()) { return func() {} }
