package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// exitGrace is how long a process that a signal told to stop may take to
// stop by itself: to flush its output, leave the cluster, end its
// sessions.
const exitGrace = 5 * time.Second

// exitIfStuck is called once a signal has told the process to stop, which
// it then does by cancelling its work. Some waits no cancellation reaches:
// a write to a pipe or terminal nobody reads, a read of a FIFO nobody
// writes, the assembly of a huge file. So a second SIGINT or SIGTERM, or
// exitGrace without the process having ended, ends it at once with status
// code, after a line on stderr (which may be stuck too: the line is given
// a moment, not waited for). sigs is the channel the first signal came
// on, still registered for SIGINT and SIGTERM. beforeExit, if not nil,
// runs just before the exit (it puts the terminal back).
func exitIfStuck(sigs <-chan os.Signal, code int, stderr io.Writer, beforeExit func()) {
	go func() { // lives until the process exits
		timer := time.NewTimer(exitGrace)
		why := "a second signal"
		select {
		case <-sigs:
		case <-timer.C:
			why = fmt.Sprintf("not stopped %v after the signal", exitGrace)
		}
		said := make(chan struct{})
		go func() {
			errorf(stderr, "iridium: %s: exiting now\n", why)
			close(said)
		}()
		select {
		case <-said:
		case <-time.After(100 * time.Millisecond):
		}
		if beforeExit != nil {
			beforeExit()
		}
		os.Exit(code)
	}()
}
