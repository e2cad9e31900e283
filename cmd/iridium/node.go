package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/iridium-go/iridium/repl"
	"github.com/iridium-go/iridium/vm"
)

func runNode(o *options, logger *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	id, err := loadIdentity(o)
	if err != nil {
		fmt.Fprintf(stderr, "iridium: %v\n", err)
		return exitFault
	}
	_ = id
	newVM := func(out io.Writer) (*vm.VM, error) {
		cfg := vm.DefaultConfig()
		cfg.Output = out
		return vm.New(cfg)
	}
	cfg := repl.Config{NewVM: newVM, Threads: o.threads}
	cfg.In, cfg.Out, cfg.Err = stdin, stdout, stderr
	cfg.Interactive = isTerminal(stdin) && isTerminal(stdout)
	cfg.HistoryFile = filepath.Join(o.dataDir, historyFile)
	r, err := repl.New(cfg)
	if err != nil {
		return exitFault
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			if s == os.Interrupt && r.Interrupt() {
				continue
			}
			os.Exit(1)
		}
	}()
	r.Run(ctx)
	return 0
}
