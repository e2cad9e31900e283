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

// exitIfStuck is called once a signal, first, has told the process to
// stop, which it then does by cancelling its work. Some waits no
// cancellation reaches: a write to a pipe or terminal nobody reads, a read
// of a FIFO nobody writes, the assembly of a huge file. So a second SIGINT
// or SIGTERM, or exitGrace without the process having ended, ends it at
// once with status code, after a line on stderr (which may be stuck too:
// the line is given a moment, not waited for). sigs is the channel the
// first signal came on, still registered for SIGINT and SIGTERM.
// beforeExit, if not nil, runs just before the exit (it puts the terminal
// back).
//
// The first signal again within sameStop is not a second one: GNU timeout
// sends its signal to the process and then to its process group, so the
// process gets it twice at once, and taking the repeat as "stop now"
// raced the ordinary stop and lost the program's output.
func exitIfStuck(sigs <-chan os.Signal, first os.Signal, code int, stderr io.Writer, beforeExit func()) {
	start := time.Now()
	go func() { // lives until the process exits
		timer := time.NewTimer(exitGrace)
		why := "a second signal"
	wait:
		for {
			select {
			case s := <-sigs:
				if s == first && time.Since(start) < sameStop {
					continue
				}
			case <-timer.C:
				why = fmt.Sprintf("not stopped %v after the signal", exitGrace)
			}
			break wait
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

// sameStop is how soon after the first the same signal again is taken for
// the same stop (exitIfStuck): longer than a signal sent twice in a row
// takes to arrive, shorter than a person takes to press Ctrl-C twice.
const sameStop = 250 * time.Millisecond
