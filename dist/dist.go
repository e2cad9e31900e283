// Package dist joins a node's process runtime (package proc) to its
// cluster manager (package cluster), which know nothing of each other: it
// carries the runtime's requests to other members over the manager's
// connections (proc.Remote) and hands the runtime what other members send
// (cluster.ProcessHandler), translating between the two packages' types.
package dist

import (
	"context"
	"errors"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// Connect makes n's processes reach the other members of m's cluster and
// m hand n what they send. Call it before either starts.
func Connect(n *proc.Node, m *cluster.Manager) {
	n.SetRemote(remote{m})
	m.SetProcessHandler(handler{n})
}

// remote is proc.Remote over a cluster.Manager.
type remote struct{ m *cluster.Manager }

var _ proc.Remote = remote{}

func (r remote) Members() []string { return r.m.OtherMembers() }

func (r remote) Spawn(alias string, o *proc.SpawnOrder, done func(int32, error)) {
	r.m.Spawn(alias, &cluster.SpawnRequest{Name: o.Name, Parent: o.Parent, Hash: o.Hash, Program: o.Image,
		Entry: o.Entry, Regs: o.Regs, FRegs: o.FRegs, SinkNode: o.SinkNode, Sink: o.Sink, Report: o.Report}, done)
}

func (r remote) Send(alias string, from, to, value int32) bool {
	return r.m.Send(alias, from, to, value)
}

func (r remote) Exit(alias string, e *proc.ExitNotice) bool {
	n := &cluster.ExitNotice{From: e.From, To: e.To, Status: e.Status, Parent: e.Parent, Fault: e.Fault}
	for _, ev := range e.Events {
		ce := cluster.ExitEvent{At: ev.At, Kind: uint8(ev.Kind), Code: ev.Code}
		if ev.Err != nil {
			ce.Fault = ev.Err.Error()
		}
		n.Events = append(n.Events, ce)
	}
	return r.m.Exit(alias, n)
}

func (r remote) Monitor(alias string, watcher, target int32) bool {
	return r.m.Monitor(alias, watcher, target)
}

func (r remote) Output(alias string, sink, from int32, data []byte) bool {
	return r.m.Output(alias, sink, from, data)
}

func (r remote) Kill(ctx context.Context, alias string, pid int32) (bool, error) {
	return r.m.KillProcess(ctx, alias, pid)
}

func (r remote) Processes(ctx context.Context, alias string) ([]proc.Info, error) {
	list, err := r.m.ListProcesses(ctx, alias)
	if err != nil {
		return nil, err
	}
	out := make([]proc.Info, len(list))
	for i, p := range list {
		out[i] = proc.Info{PID: p.PID, State: proc.State(min(p.State, uint8(proc.Waiting))), Name: p.Name,
			Mailbox: p.Mailbox, Dropped: p.Dropped}
	}
	return out, nil
}

// handler is cluster.ProcessHandler over a proc.Node.
type handler struct{ n *proc.Node }

var _ cluster.ProcessHandler = handler{}

// spawnErrors map the runtime's refusals to the protocol's.
var spawnErrors = []struct{ proc, cluster error }{
	{proc.ErrRemoteSpawnOff, cluster.ErrSpawnRefused},
	{proc.ErrTooMany, cluster.ErrSpawnTooMany},
	{proc.ErrNoPIDs, cluster.ErrSpawnNoPIDs},
	{proc.ErrUnknownProgram, cluster.ErrUnknownProgram},
	{proc.ErrBadProgram, cluster.ErrBadProgram},
	{proc.ErrBadEntry, cluster.ErrBadEntry},
	{proc.ErrClosed, cluster.ErrSpawnClosing},
	{proc.ErrProgramTotal, cluster.ErrSpawnNoMemory},
}

func (h handler) Spawn(from string, req *cluster.SpawnRequest) (int32, func(), error) {
	pid, start, err := h.n.RemoteSpawn(from, &proc.SpawnOrder{Name: req.Name, Parent: req.Parent, Hash: req.Hash,
		Image: req.Program, Entry: req.Entry, Regs: req.Regs, FRegs: req.FRegs, SinkNode: req.SinkNode,
		Sink: req.Sink, Report: req.Report})
	if err != nil {
		return 0, nil, spawnRefusal(err)
	}
	return pid, start, nil
}

// spawnRefusal is the protocol's refusal for the runtime's err.
func spawnRefusal(err error) error {
	for _, e := range spawnErrors {
		if errors.Is(err, e.proc) {
			return e.cluster
		}
	}
	return cluster.ErrBadProgram // the VM refused what it was given
}

func (h handler) Send(from string, fromPID, to, value int32) {
	h.n.RemoteSend(from, fromPID, to, value)
}

func (h handler) Exit(from string, e *cluster.ExitNotice) {
	n := &proc.ExitNotice{From: e.From, To: e.To, Status: e.Status, Parent: e.Parent, Fault: e.Fault}
	for _, ev := range e.Events {
		pe := vm.Event{Kind: vm.EventKind(ev.Kind), At: ev.At, Code: ev.Code}
		if ev.Fault != "" {
			pe.Err = errors.New(ev.Fault)
		}
		n.Events = append(n.Events, pe)
	}
	h.n.RemoteExit(from, n)
}

func (h handler) Monitor(from string, watcher, target int32) {
	h.n.RemoteMonitor(from, watcher, target)
}

func (h handler) Kill(pid int32) bool { return h.n.RemoteKill(pid) }

func (h handler) Processes() []cluster.ProcessInfo {
	list := h.n.Processes()
	out := make([]cluster.ProcessInfo, len(list))
	for i, p := range list {
		out[i] = cluster.ProcessInfo{PID: p.PID, State: uint8(p.State), Name: p.Name, Mailbox: p.Mailbox, Dropped: p.Dropped}
	}
	return out
}

func (h handler) Output(from string, sink, fromPID int32, data []byte) {
	h.n.RemoteOutput(from, sink, fromPID, data)
}

func (h handler) MemberLost(alias string, left bool) { h.n.MemberLost(alias, left) }
