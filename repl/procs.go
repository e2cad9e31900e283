package repl

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/proc"
)

// The process commands (README "Processes"). A process is written ALIAS:PID
// outside programs; this node's processes are the ones it can reach.

var processCommands = []command{
	{name: "spawn_on", args: "ALIAS PATH", help: "run a file as a new process on member ALIAS, report when it ends", run: (*REPL).cmdSpawnOn},
	{name: "processes", help: "every process on every member: ALIAS:PID STATE PROGRAM, its mailbox length and dropped count", run: (*REPL).cmdProcesses},
	{name: "kill", args: "ALIAS:PID", help: "interrupt that process, on any member (exit status 2)", run: (*REPL).cmdKill},
	{name: "send", args: "ALIAS:PID VALUE", help: "send VALUE to that process, on any member, from this REPL's VM (RECV in a line sees replies)", run: (*REPL).cmdSend},
}

// cmdProcesses lists this node's processes, then every other member's, as
// each answered within answerTimeout; one that did not is said so.
func (r *REPL) cmdProcesses(ctx context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	lists := append([]memberList{{alias: r.cfg.Procs.Alias(), procs: r.cfg.Procs.Processes()}}, r.listEveryMember(ctx)...)
	for _, l := range lists {
		if l.err != nil {
			fmt.Fprintf(r.out, "%s: %s\n", l.alias, strings.TrimPrefix(l.err.Error(), l.alias+": "))
			continue
		}
		for _, p := range l.procs {
			fmt.Fprintf(r.out, "%s:%d %s %s mailbox %d dropped %d\n", l.alias, p.PID, p.State, escape.String(p.Name), p.Mailbox, p.Dropped)
		}
	}
	return nil
}

// processArg parses ALIAS:PID; local says ALIAS is this node.
func (r *REPL) processArg(s string) (alias string, pid int32, local bool, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 1 {
		return "", 0, false, fmt.Errorf("%q is not ALIAS:PID", escape.Clip(s))
	}
	alias, num := s[:i], s[i+1:]
	n, err := strconv.ParseInt(num, 10, 32)
	if err != nil || n <= 0 || num[0] == '+' { // a pid takes no sign
		return "", 0, false, fmt.Errorf("%q: the pid must be a whole number from 1 to %d", escape.Clip(s), math.MaxInt32)
	}
	return alias, int32(n), alias == r.cfg.Procs.Alias(), nil
}

// processName is ALIAS:PID as a message names it: the alias clipped as
// any word from outside is, the pid whole, so that a long alias (a UUID
// is 36 characters) still leaves the pid readable.
func processName(alias string, pid int32) string {
	return escape.Clip(alias) + ":" + strconv.Itoa(int(pid))
}

func (r *REPL) cmdKill(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: !kill ALIAS:PID")
	}
	alias, pid, local, err := r.processArg(args[0])
	if err != nil {
		return err
	}
	if local && pid == r.proc.PID() {
		return fmt.Errorf("%s is this session's own process, which runs only the lines you enter (Ctrl-C interrupts one that runs on)", processName(alias, pid))
	}
	found := false
	if local {
		var p *proc.Process
		if p, found = r.cfg.Procs.Lookup(pid); found {
			p.Kill()
		}
	} else {
		ctx, cancel := context.WithTimeoutCause(ctx, answerTimeout, fmt.Errorf("no answer within %v", answerTimeout))
		defer cancel()
		if found, err = r.cfg.Procs.KillOn(ctx, alias, pid); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("no process %s", processName(alias, pid))
	}
	return nil
}

func (r *REPL) cmdSend(_ context.Context, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: !send ALIAS:PID VALUE")
	}
	alias, pid, local, err := r.processArg(args[0])
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(args[1], "#"), 0, 32)
	if err != nil {
		return fmt.Errorf("%q is not an int32 value", escape.Clip(args[1]))
	}
	switch {
	case local && !r.cfg.Procs.Send(r.proc.PID(), pid, int32(v)):
		return fmt.Errorf("no process %s", processName(alias, pid))
	case !local && !r.cfg.Procs.SendOn(alias, r.proc.PID(), pid, int32(v)):
		if r.isMember(alias) { // SEND never blocks: the connection's queue was full
			return fmt.Errorf("message to %s dropped: the queue to %s is full", processName(alias, pid), escape.Clip(alias))
		}
		return fmt.Errorf("%s: %w", escape.Clip(alias), proc.ErrNoMember) // as !kill and !processes say it
	}
	return nil
}

// isMember reports whether alias is a member this node is connected to.
func (r *REPL) isMember(alias string) bool {
	if r.cfg.Cluster == nil {
		return false
	}
	return slices.ContainsFunc(r.cfg.Cluster.Members(), func(m cluster.Member) bool { return m.Alias == alias && !m.Self })
}

func (r *REPL) cmdFloatRegisters(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	var b strings.Builder
	for i, f := range r.vm.FloatRegisters() {
		fmt.Fprintf(&b, "$%d = %s\n", i, strconv.FormatFloat(f, 'g', -1, 64))
	}
	_, err := r.out.WriteString(b.String())
	return err
}
