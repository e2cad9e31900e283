package repl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/iridium-go/iridium/cluster"
)

// Cluster is what the REPL needs of the node's cluster manager
// (*cluster.Manager).
type Cluster interface {
	Start() (net.Addr, error)
	Join(ctx context.Context, addr string) error
	Members() []cluster.Member
	Leave() error
}

// joinTimeout bounds !join_cluster, handshakes with every member included.
const joinTimeout = 30 * time.Second

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
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("!join_cluster %s: %w", strings.Join(args, " "), err)
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	if err := r.cfg.Cluster.Join(ctx, addr); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "joined the cluster: %d members\n", len(r.cfg.Cluster.Members()))
	return nil
}

func (r *REPL) cmdClusterMembers(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
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
	return r.cfg.Cluster.Leave()
}
