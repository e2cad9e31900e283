package repl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/escape"
)

// Cluster is what the REPL needs of the node's cluster manager
// (*cluster.Manager).
type Cluster interface {
	Start() (net.Addr, error)
	Listening() bool
	Join(ctx context.Context, addr string) error
	Members() []cluster.Member
	Leave() error
}

// joinTimeout bounds !join_cluster, handshakes with every member included.
const joinTimeout = 30 * time.Second

var (
	errJoinTimeout = fmt.Errorf("gave up after %v", joinTimeout)
	errSessionEnd  = errors.New("interrupted: the session is ending")
)

// notInCluster is what the cluster commands say while the node does not
// listen: before !start_cluster or !join_cluster, after a failed start,
// after !leave_cluster.
const notInCluster = "not in a cluster: this node is not listening (!start_cluster or !join_cluster)"

// clusterCommands are the cluster rows of the command table.
var clusterCommands = []command{
	{name: "start_cluster", cluster: true, help: "start this node's cluster listener", run: (*REPL).cmdStartCluster},
	{name: "join_cluster", cluster: true, args: "HOST PORT", help: "join the cluster of the node at HOST PORT (or HOST:PORT)", run: (*REPL).cmdJoinCluster},
	{name: "cluster_members", cluster: true, help: "every member of the cluster: ALIAS IP:PORT", run: (*REPL).cmdClusterMembers},
	{name: "leave_cluster", cluster: true, help: "leave the cluster gracefully", run: (*REPL).cmdLeaveCluster},
}

var errNoCluster = errors.New("this REPL has no cluster manager")

func (r *REPL) cmdStartCluster(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	addr, err := r.cfg.Cluster.Start()
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "cluster listening on %s\n", addr)
	return nil
}

func (r *REPL) cmdJoinCluster(ctx context.Context, args []string) error {
	var addr string
	switch len(args) {
	case 1:
		addr = args[0]
	case 2:
		addr = net.JoinHostPort(args[0], args[1])
	default:
		return errors.New("usage: !join_cluster HOST PORT (or HOST:PORT)")
	}
	// A join starts this node's listener first, so a mistyped address is
	// refused here, before that.
	if _, _, err := cluster.SplitHostPort(addr); err != nil {
		return fmt.Errorf("!join_cluster %s: %w", escape.Clip(strings.Join(args, " ")), err)
	}
	return r.interruptible(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeoutCause(ctx, joinTimeout, errJoinTimeout)
		defer cancel()
		err := r.cfg.Cluster.Join(ctx, addr)
		var nc *cluster.NotConnectedError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			// Stopped by its context: say why in words; the
			// cluster's error says "context canceled".
			return fmt.Errorf("!join_cluster %s: %w", addr, stopCause(ctx))
		case errors.As(err, &nc):
			// An error, as the spec has it (connected to every member
			// or an error), that says the node is in all the same.
			return fmt.Errorf("joined through %s, but not connected to %s yet (no answer in time; still trying)",
				addr, strings.Join(nc.Members, " "))
		default:
			return err
		}
		fmt.Fprintf(r.out, "joined the cluster: %d members\n", len(r.cfg.Cluster.Members()))
		return nil
	})
}

// stopCause is why ctx is done: Interrupt, the join's time limit, or the
// host ending the session, whose own words ("context canceled") are the
// context package's.
func stopCause(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return errSessionEnd
	}
	return cause
}

func (r *REPL) cmdClusterMembers(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if !r.cfg.Cluster.Listening() {
		fmt.Fprintln(r.out, notInCluster)
		return nil
	}
	var b strings.Builder
	for _, m := range r.cfg.Cluster.Members() {
		b.WriteString(m.String() + "\n")
	}
	_, err := fmt.Fprint(r.out, b.String())
	return err
}

func (r *REPL) cmdLeaveCluster(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if !r.cfg.Cluster.Listening() {
		fmt.Fprintln(r.out, notInCluster)
		return nil
	}
	if err := r.cfg.Cluster.Leave(); err != nil {
		return err
	}
	fmt.Fprintln(r.out, "left the cluster")
	return nil
}
