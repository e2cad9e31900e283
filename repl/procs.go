package repl

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The process commands (README "Processes"). A process is written ALIAS:PID
// outside programs; this node's processes are the ones it can reach.

var processCommands = []command{
	{name: "processes", help: "every process: ALIAS:PID STATE PROGRAM, its mailbox length and dropped count", run: (*REPL).cmdProcesses},
	{name: "kill", args: "ALIAS:PID", help: "interrupt that process (exit status 2)", run: (*REPL).cmdKill},
	{name: "send", args: "ALIAS:PID VALUE", help: "send VALUE to that process from this REPL's VM (RECV in a line sees replies)", run: (*REPL).cmdSend},
}

func (r *REPL) cmdProcesses(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	alias := r.cfg.Procs.Alias()
	for _, p := range r.cfg.Procs.Processes() {
		fmt.Fprintf(r.out, "%s:%d %s %s mailbox %d dropped %d\n", alias, p.PID, p.State, p.Name, p.Mailbox, p.Dropped)
	}
	return nil
}

// processArg parses ALIAS:PID naming a process of this node.
func (r *REPL) processArg(s string) (int32, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return 0, fmt.Errorf("%q is not ALIAS:PID", s)
	}
	alias, num := s[:i], s[i+1:]
	pid, err := strconv.ParseInt(num, 10, 32)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%q: the pid must be a whole number from 1 to %d", s, math.MaxInt32)
	}
	if alias != r.cfg.Procs.Alias() {
		return 0, fmt.Errorf("%s: only this node's processes (%s:PID) can be reached", s, r.cfg.Procs.Alias())
	}
	return int32(pid), nil
}

func (r *REPL) cmdKill(_ context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: !kill ALIAS:PID")
	}
	pid, err := r.processArg(args[0])
	if err != nil {
		return err
	}
	p, ok := r.cfg.Procs.Lookup(pid)
	if !ok {
		return fmt.Errorf("no process %s", args[0])
	}
	p.Kill()
	return nil
}

func (r *REPL) cmdSend(_ context.Context, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: !send ALIAS:PID VALUE")
	}
	pid, err := r.processArg(args[0])
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(args[1], "#"), 0, 32)
	if err != nil {
		return fmt.Errorf("%q is not an int32 value", args[1])
	}
	if !r.cfg.Procs.Send(r.proc.PID(), pid, int32(v)) {
		return fmt.Errorf("no process %s", args[0])
	}
	return nil
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
