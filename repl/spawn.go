package repl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/iridium-go/iridium/vm"
)

// spawner runs !spawn programs in the background, at most max at once, in
// the order they were spawned. It owns their goroutines: wait blocks until
// every queued program has run and been reported.
type spawner struct {
	max      int
	ctx      context.Context // cancelled by abortAll: running programs stop, queued ones do not start
	abortAll context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	queue   []*spawned // waiting for a free thread, oldest first
	workers int        // goroutines running programs
	next    int        // the last program number given out
}

// spawned is one background program.
type spawned struct {
	id     int
	path   string
	vm     *vm.VM
	output bytes.Buffer
}

func newSpawner(threads int) *spawner {
	ctx, cancel := context.WithCancel(context.Background())
	return &spawner{max: threads, ctx: ctx, abortAll: cancel}
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
	id := r.spawns.submit(job, r.out)
	fmt.Fprintf(r.out, "spawned #%d: %s\n", id, path)
	return nil
}

// submit queues job and starts a worker if a thread is free.
func (s *spawner) submit(job *spawned, out io.Writer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	job.id = s.next
	s.queue = append(s.queue, job)
	if s.workers < s.max {
		s.workers++
		s.wg.Add(1)
		go s.work(out)
	}
	return job.id
}

// work runs queued programs until the queue is empty.
func (s *spawner) work(out io.Writer) {
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
		report(out, job, code, err)
	}
}

// report prints a background program's output, result and events in one
// write.
func report(w io.Writer, job *spawned, code int, err error) {
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
	w.Write(b.Bytes())
}

func formatEvent(e vm.Event) string {
	s := e.At.Format("15:04:05.000000") + " " + e.Kind.String()
	switch e.Kind {
	case vm.EventGracefulStop:
		s += fmt.Sprintf(" (code %d)", e.Code)
	case vm.EventCrash:
		s += fmt.Sprintf(" (%v)", e.Err)
	}
	return s
}

// wait blocks until every background program has ended and been reported.
func (s *spawner) wait() { s.wg.Wait() }
