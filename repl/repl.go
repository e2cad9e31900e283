// Package repl is Iridium's interactive shell: lines starting with '!' are
// commands, every other line is assembly that is appended to the default
// VM's program and run at once.
//
// The same loop serves a terminal (chzyer/readline: prompt, history, tab
// completion), a pipe or file (plain line reading, no banner, no prompt) and
// remote users; it only ever sees the streams in Config.
package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/chzyer/readline"
	"github.com/iridium-go/iridium/assembler"
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

	// NewVM makes a VM with the node's settings (output aside); required.
	NewVM func(out io.Writer) (*vm.VM, error)
	// Threads bounds how many !spawn programs run at once; default 1.
	Threads int
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
	out     *lockedWriter
	errw    *lockedWriter
	vm      *vm.VM
	session *assembler.Session
	history []string
	lines   lineReader // where !load_file without a path reads its path from

	running sync.Mutex // held while a program runs on the default VM
	spawns  *spawner
	quit    bool

	closeOnce sync.Once
}

// New makes a REPL with a fresh default VM.
func New(cfg Config) (*REPL, error) {
	if cfg.In == nil || cfg.Out == nil || cfg.Err == nil {
		return nil, errors.New("repl: In, Out and Err are required")
	}
	if cfg.NewVM == nil {
		return nil, errors.New("repl: NewVM is required")
	}
	if cfg.Threads < 1 {
		cfg.Threads = 1
	}
	if cfg.Prompt == "" {
		cfg.Prompt = ">>> "
	}
	r := &REPL{
		cfg:     cfg,
		out:     &lockedWriter{w: cfg.Out},
		errw:    &lockedWriter{w: cfg.Err},
		session: assembler.NewSession(),
	}
	m, err := cfg.NewVM(r.out)
	if err != nil {
		return nil, err
	}
	r.vm = m
	r.spawns = newSpawner(cfg.Threads)
	return r, nil
}

// VM is the REPL's default VM.
func (r *REPL) VM() *vm.VM { return r.vm }

// Interrupt stops the program running on the default VM, if any, and
// reports whether there was one. It is safe to call from a signal handler
// goroutine.
func (r *REPL) Interrupt() bool {
	if r.running.TryLock() {
		r.running.Unlock()
		return false
	}
	r.vm.Abort()
	return true
}

// lineReader yields input lines without their line ending; io.EOF ends
// input. ErrInterrupt (Ctrl-C at the prompt) is passed through.
type lineReader interface {
	ReadLine() (string, error)
}

// Run reads and executes lines until EOF, !quit or ctx is done. It returns
// nil in all those cases; an error only if the input itself fails.
func (r *REPL) Run(ctx context.Context) error {
	var lr lineReader
	if r.cfg.Interactive {
		rl, err := r.newReadline()
		if err != nil {
			return err
		}
		defer rl.Close()
		lr = rl
		fmt.Fprintln(r.out, "Welcome to Iridium! Type !help for the commands, !quit or Ctrl-D to leave.")
	} else {
		sc := bufio.NewScanner(r.cfg.In)
		sc.Buffer(nil, maxLine)
		lr = &plainReader{sc: sc}
	}
	r.lines = lr

	lastInterrupt := false
	for !r.quit && ctx.Err() == nil {
		line, err := lr.ReadLine()
		if errors.Is(err, readline.ErrInterrupt) {
			// Ctrl-C at an empty prompt twice in a row leaves.
			if line == "" && lastInterrupt {
				break
			}
			lastInterrupt = line == ""
			continue
		}
		lastInterrupt = false
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r.Execute(ctx, line)
	}
	// Background programs finish before the REPL returns: at EOF they run
	// to their end (a script's !spawn prints its result), after !quit
	// they are interrupted.
	if r.quit || ctx.Err() != nil {
		r.Close()
	}
	r.spawns.wait()
	if r.cfg.Cluster != nil && r.cfg.LeaveOnQuit {
		r.cfg.Cluster.Leave()
	}
	return nil
}

// Execute runs one input line: a command, assembly, or nothing for a blank
// line. Errors are written to the error stream.
func (r *REPL) Execute(ctx context.Context, line string) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return
	}
	r.history = append(r.history, line)
	var err error
	if strings.HasPrefix(trimmed, "!") {
		err = r.runCommand(ctx, trimmed)
	} else {
		err = r.runAssembly(ctx, line)
	}
	if err != nil {
		fmt.Fprintf(r.errw, "error: %v\n", err)
	}
}

// runAssembly assembles line after the program so far, appends it to the
// default VM and runs it from its first instruction. An assembly error
// leaves the session and the VM as they were.
func (r *REPL) runAssembly(ctx context.Context, line string) error {
	before := r.session.Symbols()
	chunk, err := r.session.Assemble(line)
	if err != nil {
		return err
	}
	if err := r.vm.Append(chunk); err != nil {
		// The session already counts this chunk; put it back in step
		// with the VM.
		r.session.Reset(r.vm.Program(), before)
		return err
	}
	if len(chunk.Code) == 0 {
		return nil
	}
	return r.runDefault(ctx)
}

// runDefault runs the default VM from its current pc.
func (r *REPL) runDefault(ctx context.Context) error {
	r.running.Lock()
	defer r.running.Unlock()
	_, err := r.vm.RunContext(ctx)
	return err
}

// maxLine bounds one line of scripted input (bufio.Scanner's default, 64
// KiB, is short for a generated program on one line).
const maxLine = 1 << 20

// plainReader reads lines from a pipe or file.
type plainReader struct{ sc *bufio.Scanner }

func (p *plainReader) ReadLine() (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// lockedWriter serialises writes from the REPL loop and from background
// programs, so their lines never interleave mid-line.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Close interrupts every running program and waits for background
// programs; a node in a cluster leaves it. Run calls it on its way out; a
// host that must stop while Run is blocked on input calls it directly.
func (r *REPL) Close() {
	r.closeOnce.Do(func() {
		r.vm.Abort()
		r.spawns.abortAll()
		r.spawns.wait()
	})
}
