// Command iridium runs Iridium programs, the Iridium REPL, and Iridium
// cluster nodes.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
	"golang.org/x/term"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFault = 1 // a VM fault, a refused bytecode file, a failed node
	exitUsage = 2 // a bad flag, or assembly errors
)

func main() {
	limitCores = func(n int) { runtime.GOMAXPROCS(min(n, runtime.GOMAXPROCS(0))) }
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// limitCores caps the threads that run Go code at n. main sets it; tests
// that call run in their own process leave it nil.
var limitCores func(n int)

// cores is how many threads running Go code a process of these options
// needs: one per program that may run at once, the node's networking
// sharing them. A daemon runs --threads programs; the REPL and a file run
// one more in the foreground (remote sessions' programs share them too).
// More would only cost: with threads to spare, the Go scheduler wakes
// another whenever a heartbeat makes a goroutine runnable (README,
// "Design decisions").
func cores(o *options) int {
	if o.daemon {
		return o.threads
	}
	return o.threads + 1
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case err != nil: // the help could not be written
		return exitFault
	}
	if n, err := strconv.Atoi(getenv("GOMAXPROCS")); limitCores != nil && (err != nil || n < 1) {
		limitCores(cores(o)) // the runtime ignores a GOMAXPROCS that is not a count too
	}
	if o.file != "" {
		return runFile(catchSignals(stderr), o, stdout, stderr)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	return runNode(o, logger, stdin, stdout, stderr)
}

// caughtSignals is a file run's hold on SIGINT and SIGTERM.
type caughtSignals struct {
	ctx   context.Context // cancelled by the first SIGINT or SIGTERM, which is its cause
	ready chan struct{}   // closed once both are caught
}

// catchSignals starts catching SIGINT and SIGTERM, so that one stops the
// program at its next taken jump and runFile flushes everything it
// printed. Catching them takes two new OS threads and round trips between
// them, a good part of a millisecond on a small machine (README,
// "Performance"), so it happens in the background while the file is read,
// assembled and run; only a read that may wait (/dev/stdin, a FIFO) waits
// for it first. Nothing may be written before ready is closed (see
// afterCaught): until then a signal ends the process the default way, and
// there is nothing it could lose.
//
// The signals stay caught until the process exits, so that one arriving
// during the final flush cannot cut the output short; but a second one, or
// a run still going exitGrace after the first, ends the process at once
// (exitIfStuck).
func catchSignals(stderr io.Writer) caughtSignals {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := caughtSignals{ctx: ctx, ready: make(chan struct{})}
	go func() { // lives as long as the process
		sigs := make(chan os.Signal, 2) // the first signal and a second one (exitIfStuck)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		close(c.ready)
		first, name := <-sigs, "SIGTERM"
		if first == os.Interrupt {
			name = "SIGINT"
		}
		cancel(errors.New(name)) // the fault reads "interrupted: SIGINT at pc ..."
		exitIfStuck(sigs, first, exitFault, stderr, nil)
	}()
	return c
}

// afterCaught is w, with its first Write held back until the signals are
// caught.
func (c caughtSignals) afterCaught(w io.Writer) io.Writer {
	return &gatedWriter{w: w, ready: c.ready}
}

// gatedWriter holds Writes back until ready is closed.
type gatedWriter struct {
	w     io.Writer
	ready <-chan struct{}
	open  atomic.Bool // ready is closed: the common case costs no channel operation
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if !g.open.Load() {
		<-g.ready
		g.open.Store(true)
	}
	return g.w.Write(p)
}

// runFile assembles or loads FILE and runs it, assembles it to bytecode
// (-o) or disassembles it (-d).
func runFile(sigs caughtSignals, o *options, stdout, stderr io.Writer) int {
	if o.assembleTo != "" && samePath(o.file, o.assembleTo) {
		errorf(stderr, "iridium: --output %s is FILE itself: it would overwrite the program\n", o.assembleTo)
		return exitUsage
	}
	if fi, err := os.Stat(o.file); err == nil && !fi.Mode().IsRegular() {
		// /dev/stdin, a FIFO: the read may wait for as long as the writer
		// likes, and a Ctrl-C meanwhile must find the signals caught.
		<-sigs.ready
	}
	data, err := assembler.ReadFileContext(sigs.ctx, o.file, false) // /dev/stdin and FIFOs welcome here
	if err != nil && sigs.ctx.Err() == nil {
		errorf(stderr, "iridium: %v\n", err)
		return exitFault
	}
	// A listing shows the program as it is, words the VM refuses
	// included; a run and -o need a program the VM accepts, which Load
	// checks at the source's lines.
	load := assembler.LoadContext
	switch {
	case o.disassemble && vm.IsBytecode(data):
		load = func(_ context.Context, data []byte) (*vm.Program, []assembler.Symbol, error) {
			p, err := vm.ParseBytecodeUnverified(data)
			return p, nil, err
		}
	case o.disassemble:
		load = func(ctx context.Context, data []byte) (*vm.Program, []assembler.Symbol, error) {
			return assembler.AssembleFileContext(ctx, string(data))
		}
	}
	prog, syms, err := load(sigs.ctx, data) // syms: an assembly file's labels, for -d
	switch {
	case sigs.ctx.Err() != nil: // while FILE was read or assembled
		errorf(stderr, "iridium: %s: interrupted: %v\n", o.file, context.Cause(sigs.ctx))
		return exitFault
	case len(assembler.Errors(err)) > 0:
		// A binary file gets one error here too, at its first NUL byte.
		errorf(stderr, "%s:\n%v\n", o.file, err)
		return exitUsage
	case err != nil:
		errorf(stderr, "iridium: %s: %v\n", o.file, err)
		return exitFault
	}

	switch {
	case o.disassemble:
		<-sigs.ready
		if err := assembler.WriteDisassembly(stdout, prog, syms); err != nil {
			errorf(stderr, "iridium: %v\n", err)
			return exitFault
		}
		return exitOK
	case o.assembleTo != "":
		bin, err := prog.MarshalBinary()
		if err == nil {
			<-sigs.ready
			err = writeWhole(o.assembleTo, bin, stdout)
		}
		if err != nil {
			errorf(stderr, "iridium: --output: %v\n", err)
			return exitFault
		}
		return exitOK
	}

	return runProgram(sigs, o, prog, stdout, stderr)
}

// runProgram runs prog, FILE's program, as the first process of a node of
// its own, and returns the run's exit status.
func runProgram(sigs caughtSignals, o *options, prog *vm.Program, stdout, stderr io.Writer) int {
	// The processes it spawns run on --threads workers and share its output.
	// When it ends, the run ends: the others are stopped. A fault in
	// another process is reported, naming it, and changes no exit status.
	out := &lockedWriter{w: bufio.NewWriter(stdout)}
	defer out.Flush()
	// Each VM collects what it prints too (vm.Config.OutputBuffer): the
	// output is buffered below, so this holds nothing back that would
	// show, and a program printing short pieces does not pay the locks on
	// the way down for each.
	cfg := vm.DefaultConfig()
	cfg.OutputBuffer = fileOutputBuffer
	procs, err := proc.New(proc.Config{
		Alias:        fileNodeAlias,
		Threads:      o.threads,
		VMConfig:     cfg,
		MaxProcesses: o.maxProcesses,
		HeapTotal:    int64(o.maxHeapMiB) << 20,
		OwnOutput:    true, // the workers serve this program alone
		OnFault: func(name string, pid int32, err error) {
			out.endLine(stdout, stderr)
			errorf(stderr, "iridium: process %s:%d (%s): %v\n", fileNodeAlias, pid, name, err)
		},
	})
	if err != nil {
		errorf(stderr, "iridium: %v\n", err)
		return exitFault
	}
	defer procs.Close()
	// The first process's own end is reported below, once: OnFault is for
	// the others.
	first, err := procs.Foreground(proc.Spec{Name: o.file, OnExit: func(int, error) {}}, sigs.afterCaught(out))
	if err == nil {
		err = first.VM().Load(prog)
	}
	if err == nil {
		_, err = first.RunContext(sigs.ctx)
		first.End(proc.StatusOf(err), err)
	}
	procs.Close()
	// What is still buffered is part of the output: if it cannot be
	// written, the run failed, as a VM fault on output does mid-run.
	if ferr := out.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("%w: %v", vm.ErrOutput, ferr)
	}
	if err != nil {
		out.endLine(stdout, stderr)
		errorf(stderr, "iridium: %s: %v\n", o.file, err)
		return exitFault
	}
	return exitOK
}

// fileOutputBuffer is the output buffer of each VM of a file run.
const fileOutputBuffer = 4096

// fileNodeAlias names the processes of `iridium FILE`, which runs outside
// any cluster.
const fileNodeAlias = "local"

// lockedWriter is the buffered output that the processes of a file run
// share: they write from different workers.
type lockedWriter struct {
	mu       sync.Mutex
	w        *bufio.Writer
	openLine bool // the last byte written was not a newline
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p) > 0 {
		l.openLine = p[len(p)-1] != '\n'
	}
	return l.w.Write(p)
}

// endLine ends the output's open line on stderr when both go to the same
// place (a terminal, most often), so that a message starts a line of its
// own instead of finishing the program's. It flushes first.
func (l *lockedWriter) endLine(stdout, stderr io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	if l.openLine && sameOpenFile(stdout, stderr) {
		io.WriteString(stderr, "\n")
		l.openLine = false
	}
}

// samePath reports whether the paths a and b name one existing file.
func samePath(a, b string) bool {
	sa, err := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err == nil && err2 == nil && os.SameFile(sa, sb)
}

// sameOpenFile reports whether a and b are open files of one file: stdout
// and stderr on one terminal, or after 2>&1.
func sameOpenFile(a, b io.Writer) bool {
	fa, ok := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok || !ok2 {
		return false
	}
	sa, err := fa.Stat()
	sb, err2 := fb.Stat()
	return err == nil && err2 == nil && os.SameFile(sa, sb)
}

// Flush writes out what is buffered.
func (l *lockedWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// errorf prints a message on stderr (or another writer for people),
// escaped line by line (package escape): a path, or source text an error
// quotes back, may hold an ESC or a right-to-left override, which must not
// drive the terminal or reorder what it shows.
func errorf(w io.Writer, format string, a ...any) {
	io.WriteString(w, escape.Lines(fmt.Sprintf(format, a...)))
}

// writeWhole writes data as the file at path whole or not at all: to a
// temporary file beside it, renamed over it once written, so that a write
// that fails (a full disk) leaves the file that was there as it was. The
// file keeps what it was: its mode, owner and group, and a file one may
// not write is refused as a write in place would refuse it. /dev/stdout
// (however it is named) is the stream stdout, written without reopening
// it; what renaming would change is written in place: what is not a
// regular file (/dev/null, a FIFO), what a symbolic link through /proc
// names (/dev/stderr, an open file), a file with other hard links or of
// another owner, a symbolic link that leads nowhere, a file in a directory
// where no other file may be made.
func writeWhole(path string, data []byte, stdout io.Writer) error {
	switch proc := procName(path); {
	case isOwnStdout(proc):
		_, err := stdout.Write(data)
		return err
	case proc != "":
		return os.WriteFile(path, data, 0o644)
	}
	target := path
	if l, err := os.Lstat(path); err == nil && l.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return os.WriteFile(path, data, 0o644)
		}
	}
	perm, owner := os.FileMode(0o644), (*syscall.Stat_t)(nil)
	if fi, err := os.Stat(target); err == nil {
		st, _ := fi.Sys().(*syscall.Stat_t)
		euid := os.Geteuid()
		if !fi.Mode().IsRegular() || st == nil || st.Nlink > 1 || euid != 0 && int(st.Uid) != euid {
			return os.WriteFile(path, data, 0o644) // another's file stays theirs
		}
		w, err := os.OpenFile(target, os.O_WRONLY, 0) // may it be written?
		if err != nil {
			return err
		}
		w.Close()
		perm, owner = fi.Mode().Perm(), st
	}
	tmp := tempName(filepath.Dir(target), ".iridium-")
	err := writeNew(tmp, data, perm) // a new file: the umask applies, as to os.WriteFile
	if errors.Is(err, fs.ErrPermission) {
		return os.WriteFile(path, data, 0o644)
	}
	if err == nil && owner != nil {
		err = os.Chmod(tmp, perm) // the mode it had, whatever the umask
		uid := -1                 // only root gives a file away
		if os.Geteuid() == 0 {
			uid = int(owner.Uid)
		}
		os.Chown(tmp, uid, int(owner.Gid)) // its group too, where that may be given
	}
	if err == nil {
		err = os.Rename(tmp, target)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return namedAs(err, tmp, path)
}

// namedAs is err with the temporary file's name tmp, which the user never
// typed, replaced by path.
func namedAs(err error, tmp, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == tmp {
		return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", path, le.Err)
	}
	return err
}

// isOwnStdout reports whether proc, a name under /proc, is this process's
// file descriptor 1 (/proc/self resolves to /proc/PID).
func isOwnStdout(proc string) bool {
	pid := "/proc/" + strconv.Itoa(os.Getpid()) + "/"
	switch {
	case proc == "/proc/self/fd/1", proc == "/proc/thread-self/fd/1":
		return true
	case strings.HasPrefix(proc, pid) && strings.HasSuffix(proc, "/fd/1"): // also /proc/PID/task/TID/fd/1
		return true
	}
	return false
}

// procName is the name under /proc that path is, or leads to through
// symbolic links (/dev/stdout, /dev/fd/1 and a link to either lead to
// /proc/self/fd/1): an open file of some process, not a file to replace.
// It is "" for a path that leads elsewhere.
func procName(path string) string {
	p, err := filepath.Abs(path)
	for hops := 0; err == nil && hops < 40; hops++ {
		if dir, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil { // /dev/fd is a link to /proc/self/fd
			p = filepath.Join(dir, filepath.Base(p))
		}
		if strings.HasPrefix(p, "/proc/") {
			return p
		}
		var l os.FileInfo
		if l, err = os.Lstat(p); err != nil || l.Mode()&fs.ModeSymlink == 0 {
			return ""
		}
		var to string
		if to, err = os.Readlink(p); err == nil {
			if !filepath.IsAbs(to) {
				to = filepath.Join(filepath.Dir(p), to)
			}
			p = filepath.Clean(to)
		}
	}
	return ""
}
