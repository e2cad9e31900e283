package repl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/iridium-go/iridium/vm"
)

// spawner runs !spawn programs in the background, at most Threads at once.
// It owns their goroutines: wait blocks until every one has ended.
type spawner struct {
	slots chan struct{} // a token per running program
	wg    sync.WaitGroup
	mu    sync.Mutex
	next  int
	live  map[int]*vm.VM
}

func newSpawner(threads int) spawner {
	return spawner{slots: make(chan struct{}, threads), live: map[int]*vm.VM{}}
}

func (r *REPL) cmdSpawn(ctx context.Context, args []string) error {
	path, err := r.pathArg(args)
	if err != nil {
		return err
	}
	prog, _, err := readProgram(path)
	if err != nil {
		return err
	}
	// The program's own output is kept and printed with its result, so
	// that it does not tear through whatever the REPL prints meanwhile.
	var output bytes.Buffer
	m, err := r.cfg.NewVM(&output)
	if err != nil {
		return err
	}
	if err := m.Load(prog); err != nil {
		return err
	}
	s := &r.spawns
	s.mu.Lock()
	s.next++
	id := s.next
	s.live[id] = m
	s.mu.Unlock()
	fmt.Fprintf(r.out, "spawned #%d: %s\n", id, path)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.slots <- struct{}{} // wait for a free thread
		code, err := m.RunContext(ctx)
		<-s.slots
		s.mu.Lock()
		delete(s.live, id)
		s.mu.Unlock()
		report(r.out, id, path, code, err, output.Bytes(), m.Events())
	}()
	return nil
}

// report prints a background program's output, result and events in one
// write.
func report(w io.Writer, id int, path string, code int, err error, output []byte, events []vm.Event) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#%d %s ended: exit code %d", id, path, code)
	if err != nil {
		fmt.Fprintf(&b, " (%v)", err)
	}
	b.WriteByte('\n')
	if len(output) > 0 {
		b.Write(output)
		if output[len(output)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	for _, e := range events {
		fmt.Fprintf(&b, "#%d event: %s\n", id, formatEvent(e))
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

// abortAll interrupts every background program.
func (s *spawner) abortAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.live {
		m.Abort()
	}
}

// wait blocks until every background program has ended and been reported.
func (s *spawner) wait() { s.wg.Wait() }
