package main

import "golang.org/x/sys/unix"

// keepEOFKey makes Ctrl-D an ordinary key on the terminal fd while it is
// in its normal (canonical) mode, which is between the lines readline
// reads in raw mode, and returns what puts the terminal back as it was.
//
// Left as the end-of-input key, a Ctrl-D typed while a line runs or
// prints becomes a mark in the kernel's line buffer that the next raw read
// hands over as a NUL byte, which the REPL drops (NUL is Ctrl-@, see
// repl's noNUL): the key would be lost, and the REPL would not leave. Kept
// as a key, readline reads it at the next prompt, where it leaves as it
// does when typed there; keys typed ahead reach the prompt the same way.
func keepEOFKey(fd int) (restore func()) {
	was, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	t := *was
	t.Cc[unix.VEOF] = 0 // _POSIX_VDISABLE: no end-of-input key
	if unix.IoctlSetTermios(fd, unix.TCSETS, &t) != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, was) }
}
