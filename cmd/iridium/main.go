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
	"syscall"

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
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
