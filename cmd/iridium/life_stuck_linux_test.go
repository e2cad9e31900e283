package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// A file run that a signal told to stop ends even where the signal's
// cancellation cannot reach, here a write to a pipe nobody reads (reading
// a FIFO nobody writes is the same wait, and the same code ends it). A
// second signal ends it at once; without one, it ends exitGrace after the
// first. Either way with status 1 and a line on stderr saying why. The
// first signal again at once is not a second one: GNU timeout sends it to
// the process and then to its group, and an exit at once then lost the
// output of a run that was not stuck.
func TestFileRunStuckStillExits(t *testing.T) {
	printForever := writeFile(t, "forever.iasm", "top: prti $0\n    inc $0\n    djmp @top\n")
	for _, tc := range []struct {
		name       string
		second     syscall.Signal // sent after the SIGTERM; 0: none
		wantStderr string
	}{
		{"a second signal", syscall.SIGINT, "a second signal: exiting now"},
		{"no second signal", 0, "not stopped 5s after the signal: exiting now"},
		{"the same signal again at once", syscall.SIGTERM, "not stopped 5s after the signal: exiting now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), exitGrace+within)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, printForever)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Output comes only once the signals are caught. Nothing reads
			// it: wait until the program has filled the pipe.
			for !pipeFull(t, out.(*os.File)) {
				if ctx.Err() != nil {
					t.Fatal("the program never filled its stdout pipe")
				}
				time.Sleep(time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			if tc.second == syscall.SIGTERM {
				// Apart, so that the two are not merged into one
				// pending signal, and well within sameStop.
				time.Sleep(sameStop / 5)
			}
			if tc.second != 0 {
				cmd.Process.Signal(tc.second)
			}
			err = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("iridium did not exit within %v of SIGTERM", exitGrace+within)
			}
			if !errors.As(err, new(*exec.ExitError)) || cmd.ProcessState.ExitCode() != exitFault || !strings.Contains(errOut.String(), tc.wantStderr) {
				t.Errorf("%v, stderr %q; want exit status %d and %q", cmd.ProcessState, errOut.String(), exitFault, tc.wantStderr)
			}
		})
	}
}

// pipeFull reports whether the pipe whose read end is f holds all it can.
func pipeFull(t *testing.T, f *os.File) bool {
	t.Helper()
	const getPipeSize = 1032 // F_GETPIPE_SZ
	size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), getPipeSize, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatal(errno)
	}
	return int(n) >= int(size)
}
