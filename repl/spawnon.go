package repl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// answerTimeout bounds how long a command waits for another member's
// answer: a member that does not answer in time is said to, not waited on.
const answerTimeout = 2 * time.Second

// cmdSpawnOn runs a file as a new process on member ALIAS: the program is
// assembled here, travels to the member (once: it keeps it by its hash)
// and runs there; its output comes back into its report.
func (r *REPL) cmdSpawnOn(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return errors.New("usage: !spawn_on ALIAS PATH")
	}
	alias := args[0]
	path, prog, _, err := r.programArg(ctx, args[1:])
	if err != nil {
		return err
	}
	if alias == r.cfg.Procs.Alias() {
		return r.spawnHere(path, prog, func(jb *job) {
			jb.label = fmt.Sprintf("%s:%d", alias, jb.pid)
			fmt.Fprintf(r.out, "spawned %s\n", jb.label)
		})
	}
	j := r.jobs
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errClosing
	}
	jb := j.newJob(path) // labelled once it started
	j.wg.Add(1)
	j.mu.Unlock()
	// The report is printed on a goroutine of the job's (counted in
	// j.wg): the end is heard on the member's connection, whose reader
	// must not wait for the console, and it waits until the job was
	// announced.
	announced, abandoned := make(chan struct{}), make(chan struct{})
	pid, err := r.cfg.Procs.StartOn(ctx, alias, proc.Spec{Name: path, Parent: r.proc.PID()}, prog, &jb.output,
		func(status int, fault string, events []vm.Event) {
			go func() {
				select {
				case <-announced:
				case <-abandoned: // it started after the command gave up on it
					jb.output.release()
					return
				}
				defer j.wg.Done()
				j.mu.Lock()
				delete(j.live, jb)
				j.mu.Unlock()
				var err error
				if fault != "" {
					err = errors.New(fault)
				}
				rep := report(jb, status, err, events)
				jb.output.release()
				r.con.report(rep)
			}()
		})
	if err != nil {
		close(abandoned)
		j.wg.Done()
		return err
	}
	jb.pid = pid
	j.mu.Lock()
	jb.label = fmt.Sprintf("%s:%d", alias, pid)
	j.live[jb] = func() {
		ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
		defer cancel()
		r.cfg.Procs.KillOn(ctx, alias, pid)
	}
	j.mu.Unlock()
	fmt.Fprintf(r.out, "spawned %s\n", jb.label)
	r.flush()
	close(announced)
	return nil
}

// memberList is one member's processes, or why there are none to show.
type memberList struct {
	alias string
	procs []proc.Info
	err   error
}

// listEveryMember lists the processes of every other member at once, each
// within answerTimeout.
func (r *REPL) listEveryMember(ctx context.Context) []memberList {
	others := r.cfg.Procs.Members()
	lists := make([]memberList, len(others))
	ctx, cancel := context.WithTimeoutCause(ctx, answerTimeout, fmt.Errorf("no answer within %v", answerTimeout))
	defer cancel()
	var wg sync.WaitGroup
	for i, alias := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs, err := r.cfg.Procs.ProcessesOn(ctx, alias)
			lists[i] = memberList{alias: alias, procs: procs, err: err}
		}()
	}
	wg.Wait()
	return lists
}
