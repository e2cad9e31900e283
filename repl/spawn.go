package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// jobs are the session's !spawn and !spawn_on programs: processes of this
// node or another member, each reported when it ends. The REPL keeps them
// to wait for them at the end of a script and to stop them when the
// session ends otherwise. Once stopAll has been called, running and queued
// jobs are killed and no more are taken.
type jobs struct {
	mu     sync.Mutex
	closed bool
	live   map[*job]func() // each live job's kill
	wg     sync.WaitGroup  // one count per job not yet reported
	output outputBudget    // what the jobs' buffers may keep together
}

func newJobs() *jobs {
	return &jobs{live: make(map[*job]func()), output: outputBudget{left: maxSessionOutput}}
}

// newJob is a job for the program at path, its output kept within the
// session's budget.
func (j *jobs) newJob(path string) *job {
	return &job{path: path, output: lockedBuffer{budget: &j.output}}
}

// job is one !spawn or !spawn_on program.
type job struct {
	label  string // what its report lines start with: "#N" (!spawn), "ALIAS:PID" (!spawn_on)
	path   string
	pid    int32
	output lockedBuffer // its output and its children's, written by the workers
}

// errClosing refuses a !spawn while the session ends.
var errClosing = errors.New("not run: the session is ending")

// errSpawnTooMany refuses a new process (a !spawn, a !spawn_on naming
// this node, a session's own) past --max-processes, in the words
// !spawn_on uses for another member.
var errSpawnTooMany = errors.New("not run: this node runs its maximum of processes (--max-processes)")

// errSpawnNoPIDs refuses a new process on a node that has given every pid.
var errSpawnNoPIDs = errors.New("not run: this node has given every pid up to 2147483647 and gives none twice (restart it)")

// noProcess is err, the runtime's refusal of a new process, in the
// words of the flag or the limit that caused it.
func noProcess(err error) error {
	switch {
	case errors.Is(err, proc.ErrTooMany):
		return errSpawnTooMany
	case errors.Is(err, proc.ErrNoPIDs):
		return errSpawnNoPIDs
	}
	return err
}

func (r *REPL) cmdSpawn(ctx context.Context, args []string) error {
	path, prog, _, err := r.programArg(ctx, args)
	if err != nil {
		return err
	}
	return r.spawnHere(path, prog, func(jb *job) {
		r.spawned++
		jb.label = fmt.Sprintf("#%d", r.spawned)
		fmt.Fprintf(r.out, "spawned %s: %s as %s:%d\n", jb.label, escape.String(path), r.cfg.Procs.Alias(), jb.pid)
	})
}

// spawnHere runs prog as a job on this node; announce labels it and prints
// that it started, before its report can.
func (r *REPL) spawnHere(path string, prog *vm.Program, announce func(*job)) error {
	j := r.jobs
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errClosing
	}
	jb := j.newJob(path)
	announced := make(chan struct{})
	var p *proc.Process
	var err error
	// Its exit notice goes to this REPL, which prints the report, never
	// to the default VM's mailbox; the program's output is kept and
	// printed with it, so that it does not tear through whatever the REPL
	// prints meanwhile.
	p, err = r.cfg.Procs.Start(proc.Spec{Name: path, Parent: r.proc.PID(), OnExit: func(status int, err error) {
		// OnExit runs on the node's worker, which must not wait for this
		// session (its client may never read): the report is made and
		// written by a goroutine of the job's own, counted in j.wg, which
		// Run waits for, once the job was announced (p is set then).
		go func() {
			defer j.wg.Done()
			<-announced
			j.mu.Lock()
			delete(j.live, jb)
			j.mu.Unlock()
			rep := report(jb, status, err, p.VM().Events()) // it ended: nobody runs its VM any more
			jb.output.release()
			r.con.report(rep)
		}()
	}}, prog, &jb.output)
	if err != nil {
		j.mu.Unlock()
		return noProcess(err)
	}
	jb.pid = p.PID()
	j.live[jb] = p.Kill
	j.wg.Add(1)
	// Not under j.mu: printing waits for the client, and stopAll must not.
	j.mu.Unlock()
	announce(jb)
	r.flush()
	close(announced)
	return nil
}

// stopAll kills every job, running or queued, and refuses new ones.
func (j *jobs) stopAll() {
	j.mu.Lock()
	j.closed = true
	live := make([]func(), 0, len(j.live))
	for _, kill := range j.live {
		live = append(live, kill)
	}
	j.mu.Unlock()
	// At once: a kill on another member waits for its answer.
	var wg sync.WaitGroup
	for _, kill := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kill()
		}()
	}
	wg.Wait()
}

// wait blocks until every job has ended and been reported.
func (j *jobs) wait() { j.wg.Wait() }

// report is a background program's output, exit status (proc.StatusOK
// and the others) and events, shown in one piece.
func report(jb *job, status int, err error, events []vm.Event) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s ended: exit code %d", jb.label, escape.String(jb.path), status)
	if err != nil { // a fault's text may come from another member: escaped
		b.WriteString(" (")
		b.WriteString(escape.String(plainInterrupt(err).Error()))
		b.WriteByte(')')
	}
	b.WriteByte('\n')
	output, dropped := jb.output.Bytes()
	if len(output) > 0 {
		b.Write(output)
		if output[len(output)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	if dropped > 0 {
		fmt.Fprintf(&b, "%s: %d bytes more of output dropped (a report keeps the first %d KiB, and a session's running jobs %d MiB together)\n",
			jb.label, dropped, maxJobOutput>>10, maxSessionOutput>>20)
	}
	for _, e := range events {
		fmt.Fprintf(&b, "%s event: ", jb.label)
		b.WriteString(escape.String(formatEvent(e)))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func formatEvent(e vm.Event) string {
	s := e.At.Format("15:04:05.000000") + " " + e.Kind.String()
	switch e.Kind {
	case vm.EventGracefulStop:
		s += fmt.Sprintf(" (code %d)", e.Code)
	case vm.EventCrash:
		s += fmt.Sprintf(" (%v)", plainInterrupt(e.Err))
	}
	return s
}

// maxJobOutput bounds the output a job's report keeps: a program that
// prints forever must not take the node's memory.
const maxJobOutput = 1 << 20

// maxSessionOutput bounds the output a session's running jobs keep
// together: hundreds of jobs may run at once, each keeping up to
// maxJobOutput until its report.
const maxSessionOutput = 16 << 20

// outputBudget is what is left of maxSessionOutput for a session's jobs.
type outputBudget struct {
	mu   sync.Mutex
	left int
}

// take grants up to n bytes of the budget.
func (o *outputBudget) take(n int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n = min(n, o.left)
	o.left -= n
	return n
}

func (o *outputBudget) give(n int) {
	o.mu.Lock()
	o.left += n
	o.mu.Unlock()
}

// lockedBuffer is a bytes.Buffer that several processes (a job and the
// processes it spawned, on different workers) may write at once. It keeps
// the first maxJobOutput bytes, as far as its budget grants them, and
// counts the rest.
type lockedBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	dropped  int64
	budget   *outputBudget
	released bool // the report is made: what comes later is only counted
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Once anything was dropped, everything after is: what a report
	// shows is always the output's beginning, never a part of it with a
	// hole where the session's budget ran out and came back.
	keep := 0
	if !b.released && b.dropped == 0 {
		keep = b.budget.take(min(len(p), maxJobOutput-b.buf.Len()))
	}
	b.buf.Write(p[:keep])
	b.dropped += int64(len(p) - keep)
	return len(p), nil
}

// release gives what the buffer kept back to the budget, once the report
// has copied it, and frees it.
func (b *lockedBuffer) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.released {
		b.budget.give(b.buf.Len())
		b.buf, b.released = bytes.Buffer{}, true
	}
}

// Bytes is what was kept, and how many bytes more were written; call it
// once the writers are done.
func (b *lockedBuffer) Bytes() ([]byte, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes(), b.dropped
}
