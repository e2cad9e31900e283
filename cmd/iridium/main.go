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
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/iridium-go/iridium/assembler"
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
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))

	if o.file != "" {
		ctx, stop := interruptibleAfter(signalGrace)
		defer stop()
		return runFile(ctx, o, stdout, stderr)
	}
	return runNode(o, logger, stdin, stdout, stderr)
}

// runFile assembles or loads FILE and runs it, assembles it to bytecode
// (-o) or disassembles it (-d).
func runFile(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(o.file)
	if err != nil {
		fmt.Fprintf(stderr, "iridium: %v\n", err)
		return exitFault
	}
	var prog *vm.Program
	if vm.IsBytecode(data) {
		if prog, err = vm.ParseBytecode(data); err != nil {
			fmt.Fprintf(stderr, "iridium: %s: %v\n", o.file, err)
			return exitFault
		}
	} else if prog, err = assembler.Assemble(string(data)); err != nil {
		fmt.Fprintf(stderr, "%s:\n%v\n", o.file, err)
		return exitUsage
	}

	switch {
	case o.disassemble:
		io.WriteString(stdout, assembler.Disassemble(prog))
		return exitOK
	case o.assembleTo != "":
		bin, err := prog.MarshalBinary()
		if err == nil {
			err = os.WriteFile(o.assembleTo, bin, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "iridium: %v\n", err)
			return exitFault
		}
		return exitOK
	}

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	cfg := vm.DefaultConfig()
	cfg.Output = out
	m, err := vm.New(cfg)
	if err == nil {
		err = m.Load(prog)
	}
	if err == nil {
		_, err = m.RunContext(ctx)
	}
	if err != nil {
		out.Flush()
		fmt.Fprintf(stderr, "iridium: %s: %v\n", o.file, err)
		return exitFault
	}
	return exitOK
}

// signalGrace is how long a file run goes before it catches SIGINT and
// SIGTERM. Catching them (signal.Notify) starts two OS threads, which costs
// about half a millisecond, 5% of an empty program's whole run on our 2-core
// machine (bench/compare.sh, start-up row). A program that ends sooner than
// anyone can press Ctrl-C never pays it; until then the signals end the
// process the default way, which is what an interrupt asks for anyway.
const signalGrace = 10 * time.Millisecond

// interruptibleAfter returns a context that is cancelled by SIGINT or
// SIGTERM arriving after grace has passed, and the function that stops
// listening (and the timer, if it has not fired).
func interruptibleAfter(grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex // orders the timer's Notify against stop's Stop
	stopped := false
	sigs := make(chan os.Signal, 1)
	timer := time.AfterFunc(grace, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		go func() { // ends on a signal, or when stop cancels ctx
			select {
			case <-sigs:
				cancel()
			case <-ctx.Done():
			}
		}()
	})
	return ctx, func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		timer.Stop()
		signal.Stop(sigs)
		cancel()
	}
}

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
