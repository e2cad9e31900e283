package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/iridium-go/iridium/cluster"
)

// joinRemindEvery is how often a daemon that cannot reach its --join
// contact says so again. It keeps trying until the contact answers or a
// signal stops it: the contact may start later (a script starting many
// nodes at once, a machine that boots later), and a daemon runs until it
// is told to stop.
const joinRemindEvery = 30 * time.Second

// runDaemon serves the cluster with no REPL until SIGINT, SIGTERM or
// SIGHUP (its terminal gone), then leaves gracefully. It prints the member
// list each time it changes, so a script (scripts/local_cluster.sh,
// bench/cluster.sh) can follow the cluster from the node's output. That
// output is a courtesy: once nothing reads it (`| head -1` to learn the
// port), writes fail and the daemon goes on serving, rather than die of
// SIGPIPE at the next member change without leaving the cluster.
func runDaemon(o *options, mgr *cluster.Manager, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 2) // the first signal and a second one (exitIfStuck)
	signal.Notify(sigs, stopSignals()...)
	defer signal.Stop(sigs)
	go func() { // ends with ctx, which is cancelled when runDaemon returns
		select {
		case <-ctx.Done():
		case first := <-sigs:
			cancel()
			exitIfStuck(sigs, first, exitFault, stderr, nil) // a write of stdout may hold the loop below
		}
	}()

	addr, err := mgr.Start()
	if err != nil {
		errorf(stderr, "iridium: %v\n", err)
		return exitFault
	}
	fmt.Fprintf(stdout, "%s listening on %s\n", mgr.Alias(), addr)

	if o.join != "" {
		// Timestamped like the member lists: bench/cluster.sh times a join
		// from here, after the process has started.
		fmt.Fprintf(stdout, "%s joining %s\n", stamp(), o.join)
		// A signal while the contact is still unreachable stops the
		// daemon as at any other time: the loop below sees ctx done.
		if err := joinWithRetry(ctx, mgr, o.join, joinRemindEvery, stderr); err != nil && ctx.Err() == nil {
			if je := (*cluster.JoinError)(nil); errors.As(err, &je) {
				err = je.Err // this line names the address already
			}
			errorf(stderr, "iridium: joining %s: %v\n", o.join, err)
			return exitFault
		}
	}

	// The list printed last, the one made now and the line that prints
	// it: buffers kept across changes, since while a mesh forms a node's
	// list changes once per member.
	var last, now, line []byte
	for {
		// Take the change channel before reading the list: a change that
		// lands in between then still wakes the loop.
		changed := mgr.Changes()
		now = appendMembers(now[:0], mgr.Members())
		if !bytes.Equal(now, last) {
			// The timestamp lets bench/cluster.sh time convergence from
			// the nodes' own output.
			line = append(append(appendStamp(line[:0]), ' '), now...)
			stdout.Write(line)
			last, now = now, last
		}
		select {
		case <-ctx.Done():
			if err := mgr.Leave(); err != nil {
				errorf(stderr, "iridium: leaving the cluster: %v\n", err)
			}
			fmt.Fprintf(stdout, "%s left the cluster\n", mgr.Alias())
			return exitOK
		case <-changed:
		}
	}
}

// stopSignals are the signals that end a node (daemon or REPL), leaving
// its cluster: SIGINT, SIGTERM, and SIGHUP (its terminal gone) unless the
// node was started with SIGHUP ignored (nohup), which it then keeps
// ignoring, as nohup asks.
func stopSignals() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// stamp is the timestamp that starts a daemon's timed lines: RFC 3339 in
// UTC with all nine digits of the fraction, so that stamps are all of one
// length and sort as strings (bench/cluster.sh takes the latest that way).
func stamp() string { return string(appendStamp(nil)) }

// appendStamp appends the stamp of this moment to b.
func appendStamp(b []byte) []byte { return time.Now().UTC().AppendFormat(b, stampLayout) }

const stampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// joinWithRetry tries addr until it answers or ctx is done, and says on
// progress when it starts retrying and again every remindEvery, so that a
// wrong address or a contact that is not up yet does not look like a hang.
// A refusal by a live node (wrong cookie, alias taken) is final. Once the
// contact has answered, the node is in its cluster: members it listed that
// did not answer in time (a cluster forming all at once on a crowded
// machine) are said on progress and dialled again in the background, not
// a reason to join again.
func joinWithRetry(ctx context.Context, mgr *cluster.Manager, addr string, remindEvery time.Duration, progress io.Writer) error {
	start := time.Now()
	reminded := start
	backoff := 10 * time.Millisecond
	for tries := 1; ; tries++ {
		err := mgr.Join(ctx, addr)
		if nc := (*cluster.NotConnectedError)(nil); errors.As(err, &nc) && ctx.Err() == nil {
			// In the cluster: whatever kept a listed member out, it is
			// the member's, not the contact's.
			errorf(progress, "iridium: joined through %s; members not connected yet: %d (still trying)\n",
				addr, len(nc.Members))
			return nil
		}
		if err == nil || !cluster.IsTemporary(err) || ctx.Err() != nil {
			return err
		}
		switch {
		case tries == 1:
			errorf(progress, "iridium: cannot reach %s yet (%s), retrying until it answers\n", addr, reason(err))
		case time.Since(reminded) >= remindEvery:
			reminded = time.Now()
			errorf(progress, "iridium: still cannot reach %s after %v and %d tries (%s), retrying\n",
				addr, reminded.Sub(start).Round(time.Second), tries, reason(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// reason is why a dial failed, as briefly as it can be said: the system's
// words for the error ("connection refused") when there are some.
func reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// appendMembers appends the block a daemon prints: a count line, then one
// member per line as !cluster_members prints them.
func appendMembers(b []byte, members []cluster.Member) []byte {
	b = fmt.Appendf(b, "members %d\n", len(members))
	for _, m := range members {
		b = append(b, "  "...)
		b = m.AppendTo(b)
		b = append(b, '\n')
	}
	return b
}
