// Package repl is Iridium's interactive shell: lines starting with '!' are
// commands, every other line is assembly that is appended to the default
// VM's program and run at once.
//
// The same loop serves a terminal (chzyer/readline: prompt, history, tab
// completion), a pipe or file (plain line reading, no banner, no prompt) and
// remote users; it only ever sees the streams in Config.
package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chzyer/readline"
	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// Config is what a REPL needs from its host. In, Out and Err are required.
type Config struct {
	In  io.Reader
	Out io.Writer // command output and program output
	Err io.Writer // error messages

	// Interactive selects the readline front end (prompt, line editing,
	// history, completion); otherwise lines are read plainly and nothing
	// but command output is written.
	Interactive bool
	// Terminal hooks for readline when In/Out are not the process's own
	// terminal (an SSH channel, a test's pseudo-terminal). Nil means the
	// process's terminal.
	IsTerminal func() bool
	GetWidth   func() int
	MakeRaw    func() error
	ExitRaw    func() error
	// OnWidthChanged registers a callback for terminal resizes; nil
	// watches SIGWINCH.
	OnWidthChanged func(func())
	HistoryFile    string // "" keeps history in memory only
	Prompt         string // default ">>> "

	// Procs is the node's process runtime, shared by every REPL on the
	// node; required. The default VM is one of its processes, run by the
	// REPL, and every !spawn program another, run by its workers (at most
	// --threads at once).
	Procs *proc.Node
	// Cluster is the node's cluster manager; nil disables the cluster
	// commands. LeaveOnQuit makes !quit and the end of input leave the
	// cluster gracefully: set it for the node's own REPL, not for remote
	// sessions, which come and go while the node stays.
	Cluster     Cluster
	LeaveOnQuit bool
}

// REPL is one shell session on one default VM.
type REPL struct {
	cfg     Config
	con     *console
	out     *bytes.Buffer // the output of the command being run, shown when it ends
	proc    *proc.Process // the default VM's process
	vm      *vm.VM        // its VM: only the REPL's goroutine uses it
	session *assembler.Session
	history history
	lines   lineReader
	jobs    *jobs
	spawned int // the number of the last !spawn
	quit    bool

	mu       sync.Mutex
	stopLine context.CancelCauseFunc // cancels the run Interrupt would stop; nil if none
}

// New makes a REPL with a fresh default VM.
func New(cfg Config) (*REPL, error) {
	if cfg.In == nil || cfg.Out == nil || cfg.Err == nil {
		return nil, errors.New("repl: In, Out and Err are required")
	}
	if cfg.Procs == nil {
		return nil, errors.New("repl: Procs is required")
	}
	if cfg.Prompt == "" {
		cfg.Prompt = ">>> "
	}
	con := newConsole(cfg.Out, cfg.Err)
	p, err := cfg.Procs.Foreground(proc.Spec{Name: "repl"}, con.programOutput())
	if err != nil {
		return nil, noProcess(err)
	}
	return &REPL{
		cfg:     cfg,
		con:     con,
		out:     new(bytes.Buffer),
		proc:    p,
		vm:      p.VM(),
		session: assembler.NewSession(),
		jobs:    newJobs(),
	}, nil
}

// VM is the REPL's default VM.
func (r *REPL) VM() *vm.VM { return r.vm }

// errInterrupted is why Interrupt stops a run.
var errInterrupted = errors.New("interrupted")

// Interrupt stops what the current line runs, a program on the default VM
// or a !join_cluster, and reports whether there was one. It is safe to
// call from any goroutine (a signal handler, a remote session's input).
func (r *REPL) Interrupt() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopLine == nil {
		return false
	}
	r.stopLine(errInterrupted)
	return true
}

// InterruptAtTerminal is Interrupt for a Ctrl-C at a local terminal. While
// a line runs the terminal echoes it as ^C, so the REPL's next output (the
// fault of the program it interrupts) starts on a line of its own.
func (r *REPL) InterruptAtTerminal() bool {
	r.mu.Lock()
	running := r.stopLine != nil
	r.mu.Unlock()
	if running {
		r.con.echoed()
	}
	return r.Interrupt()
}

// interruptible runs f with a context that Interrupt cancels.
func (r *REPL) interruptible(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	r.mu.Lock()
	r.stopLine = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.stopLine = nil
		r.mu.Unlock()
		cancel(nil)
	}()
	return f(ctx)
}

// Run reads and executes lines until the input ends, !quit, or ctx is
// done, and returns once nothing of the session runs any more.
//
// Cancelling ctx ends the session promptly: it interrupts the program on
// the default VM, a !join_cluster and every !spawn program, and closes In
// if it is an io.Closer, which ends a read in progress (an io.Reader has no
// other way to stop one). Run does not close Out or Err: a write blocked on
// a stalled client ends only when the host closes them.
//
// How the session ends decides what happens to !spawn programs still
// running: at the end of a script's input Run waits for them and prints
// their reports, and stops them once they can never go on (waitJobs);
// !quit, leaving a terminal session (Ctrl-D, Ctrl-C twice) and cancelling
// ctx interrupt them. Run returns nil in all those cases; an
// error only if reading the input fails, or if output could not be
// written (wrapping vm.ErrOutput; the session went on without it, and a
// program's failed print was reported as its fault).
func (r *REPL) Run(ctx context.Context) error {
	if r.cfg.Interactive {
		rl, err := r.newReadline()
		if err != nil {
			return err
		}
		defer rl.Close()
		r.lines = rl
		r.con.setPrompt(readlinePrompt{rl.rl})
		r.con.print([]byte("Welcome to Iridium! Type !help for the commands, !quit or Ctrl-D to leave.\n"))
	} else {
		r.lines = newPlainReader(r.cfg.In)
	}

	// Runs on the default VM and joins take ctx; background programs and
	// a read in progress are stopped here.
	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		r.jobs.stopAll()
		if c, ok := r.cfg.In.(io.Closer); ok {
			c.Close()
		}
	})
	defer func() {
		if !stop() {
			<-stopped
		}
	}()

	err := r.loop(ctx)
	r.con.finish()
	if err != nil || r.quit || r.cfg.Interactive || ctx.Err() != nil {
		r.Close()
	}
	r.proc.Retire()
	r.waitJobs()
	r.proc.End(proc.StatusOK, nil)
	if r.cfg.Cluster != nil && r.cfg.LeaveOnQuit {
		r.cfg.Cluster.Leave()
	}
	if lost := r.con.lostOutput(); lost != nil && err == nil {
		err = fmt.Errorf("%w: %w", vm.ErrOutput, lost)
	}
	return err
}

// stuckPoll is how often waitJobs looks whether the node is stuck.
const stuckPoll = 50 * time.Millisecond

// waitJobs waits, at the end of a script, until every background program
// has ended and been reported. Programs that can never go on, because
// every process of the node waits in RECV with nothing left to send to
// them (proc.Node.Stuck), are stopped rather than waited for for ever:
// the script's end must end the REPL.
func (r *REPL) waitJobs() {
	done := make(chan struct{})
	go func() { // ends when the jobs have ended, which stopAll makes sure of
		defer close(done)
		r.jobs.wait()
	}()
	tick := time.NewTicker(stuckPoll)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if r.cfg.Procs.Stuck() {
				r.jobs.stopAll()
				<-done
				return
			}
		}
	}
}

// loop reads and executes lines until the input ends, !quit, or ctx is
// done. It returns an error only if reading the input fails.
func (r *REPL) loop(ctx context.Context) error {
	lastInterrupt := false
	for !r.quit && ctx.Err() == nil {
		line, err := r.readLine(askLine)
		var tooLong *lineTooLongError
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			// Ctrl-C at an empty prompt twice in a row leaves.
			if line == "" && lastInterrupt {
				return nil
			}
			lastInterrupt = line == ""
			continue
		case errors.As(err, &tooLong):
			// A failing line, like any other: the script goes on.
			r.con.printErr(errorText(err))
		case err == io.EOF:
			return nil
		case err != nil:
			if ctx.Err() != nil {
				return nil // Run closed the input
			}
			return err
		default:
			r.Execute(ctx, line)
		}
		lastInterrupt = false
	}
	return nil
}

// readLine reads the next line of input, at a terminal at the prompt for a.
func (r *REPL) readLine(a ask) (string, error) {
	done := r.con.prompting()
	defer done()
	return r.lines.ReadLine(a)
}

// Execute runs one input line: a command, assembly, or nothing for a blank
// line. What a command prints is shown when it ends, in one piece; errors
// go to the error stream.
func (r *REPL) Execute(ctx context.Context, line string) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return
	}
	r.history.add(line)
	var err error
	if strings.HasPrefix(trimmed, "!") {
		err = r.runCommand(ctx, trimmed)
	} else {
		err = r.runAssembly(ctx, line)
	}
	r.flush()
	if err != nil {
		r.con.printErr(errorText(err))
	}
}

// flush shows what the command has printed so far.
func (r *REPL) flush() {
	if r.out.Len() > 0 {
		r.con.print(r.out.Bytes())
		r.out.Reset()
	}
}

// errorText is err as the REPL shows it: every line of the message marked
// "error: ", so that a message of several lines (the assembler's, one per
// error) reads, and greps, as errors line by line. Control and format
// characters (what a user typed, quoted back: a NUL, an ESC, a
// right-to-left override) are written escaped, as \x00 or \u202e, and so
// are bytes that are not UTF-8, as \xff (package escape), so that a
// message shows them and never drives the terminal or reorders what it
// shows. A word of more than longWord characters is clipped
// (escape.Clip), whatever layer put it there: the commands quote at most
// 40 characters of what was typed, but an error from below them (a path a
// file could not be opened at, a host that could not be dialled, an alias
// no member has) repeats the word whole, up to the megabyte a script's
// line may hold.
func errorText(err error) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(err.Error(), "\n") {
		b.WriteString("error: ")
		b.Write(escape.Append(b.AvailableBuffer(), clipLongWords(line)))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// longWord is the longest word (a run without a space) an error line
// shows whole: longer than the paths and names of ordinary use.
const longWord = 256

// clipLongWords is line with each word of more than longWord characters
// clipped, the colon or comma that ends it kept ("open PATH: ...").
func clipLongWords(line string) string {
	if len(line) <= longWord {
		return line
	}
	words := strings.Split(line, " ")
	for i, w := range words {
		if utf8.RuneCountInString(w) > longWord {
			body := strings.TrimRight(w, ":,")
			words[i] = escape.Clip(body) + w[len(body):]
		}
	}
	return strings.Join(words, " ")
}

// runAssembly assembles line after the program so far, appends it to the
// default VM and runs it from its first instruction. An assembly error
// leaves the session and the VM as they were.
func (r *REPL) runAssembly(ctx context.Context, line string) error {
	chunk, err := r.session.AssembleAt(line, r.lineNumber())
	if err != nil {
		return err
	}
	if err := r.vm.Append(chunk); err != nil {
		// The session already counts this chunk; put it back in step
		// with the VM.
		r.session.Undo()
		return err
	}
	if len(chunk.Code) == 0 {
		return nil
	}
	return r.runDefault(ctx)
}

// lineNumber is the number of the line being run in a script, for its
// errors, and 1 at a terminal, where a line has no other to be told from.
func (r *REPL) lineNumber() int {
	if p, ok := r.lines.(*plainReader); ok {
		return p.lines
	}
	return 1
}

// runDefault runs the default VM from its current pc; a RECV waits for its
// message as long as it takes (Ctrl-C interrupts it).
func (r *REPL) runDefault(ctx context.Context) error {
	return r.interruptible(ctx, func(ctx context.Context) error {
		_, err := r.proc.RunContext(ctx)
		return plainInterrupt(err)
	})
}

// plainInterrupt drops a cause that says nothing from an interrupted run:
// "interrupted: context canceled at pc ..." tells a person no more than
// "interrupted at pc ...", and they know why (Ctrl-C, !quit). A cause the
// host gave when it ended the session is kept.
func plainInterrupt(err error) error {
	var f *vm.Fault
	if errors.As(err, &f) && errors.Is(f.Err, vm.ErrInterrupted) &&
		(errors.Is(f.Err, errInterrupted) || errors.Is(f.Err, context.Canceled) || errors.Is(f.Err, context.DeadlineExceeded)) {
		return &vm.Fault{PC: f.PC, Op: f.Op, Err: vm.ErrInterrupted}
	}
	return err
}

// Close interrupts every run of the session, the current line's and the
// background programs, and waits until the background programs have ended
// and been reported. Run calls it when the session ends other than by the
// end of a script; a host that must stop at once (a signal) may call it
// from another goroutine while Run is blocked on input.
func (r *REPL) Close() {
	r.Interrupt()
	r.jobs.stopAll()
	r.jobs.wait()
}
