package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/iridium-go/iridium/vm"
)

// spawner runs !spawn programs in the background, at most max at once, in
// the order they were spawned. It owns their goroutines: wait blocks until
// every queued program has run and been reported. Once abortAll has been
// called, running programs stop, queued ones do not start, and no more are
// taken.
type spawner struct {
	max    int
	con    *console // where reports go
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool       // abortAll was called
	queue   []*spawned // waiting for a free thread, oldest first
	workers int        // goroutines running programs
}

// spawned is one background program.
type spawned struct {
	id     int
	path   string
	vm     *vm.VM
	output bytes.Buffer
}

// errClosing refuses a !spawn while the session ends.
var errClosing = errors.New("not run: the session is ending")

func newSpawner(threads int, con *console) *spawner {
	ctx, cancel := context.WithCancel(context.Background())
	return &spawner{max: threads, con: con, ctx: ctx, cancel: cancel}
}

func (r *REPL) cmdSpawn(ctx context.Context, args []string) error {
	path, prog, _, err := r.programArg(args)
	if err != nil {
		return err
	}
	job := &spawned{path: path}
	// The program's own output is kept and printed with its result, so
	// that it does not tear through whatever the REPL prints meanwhile.
	if job.vm, err = r.cfg.NewVM(&job.output); err != nil {
		return err
	}
	if err := job.vm.Load(prog); err != nil {
		return err
	}
	r.spawned++
	job.id = r.spawned
	// Announced before it can end and report.
	fmt.Fprintf(r.out, "spawned #%d: %s\n", job.id, path)
	r.flush()
	return r.spawns.submit(job)
}

// submit queues job and starts a worker if a thread is free.
func (s *spawner) submit(job *spawned) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosing
	}
	s.queue = append(s.queue, job)
	if s.workers < s.max {
		s.workers++
		s.wg.Add(1)
		go s.work()
	}
	return nil
}

// work runs queued programs until the queue is empty.
func (s *spawner) work() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.workers--
			s.mu.Unlock()
			return
		}
		job := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()

		// A cancelled context stops the program before its first
		// instruction, so programs queued behind an abort never start.
		code, err := job.vm.RunContext(s.ctx)
		s.con.report(report(job, code, plainInterrupt(err)))
	}
}

// abortAll interrupts the running programs and every queued one, and
// refuses new ones.
func (s *spawner) abortAll() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
}

// report is a background program's output, result and events, shown in
// one piece.
func report(job *spawned, code int, err error) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#%d %s ended: exit code %d", job.id, job.path, code)
	if err != nil {
		fmt.Fprintf(&b, " (%v)", err)
	}
	b.WriteByte('\n')
	if output := job.output.Bytes(); len(output) > 0 {
		b.Write(output)
		if output[len(output)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	for _, e := range job.vm.Events() {
		fmt.Fprintf(&b, "#%d event: %s\n", job.id, formatEvent(e))
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

// wait blocks until every background program has ended and been reported.
func (s *spawner) wait() { s.wg.Wait() }
