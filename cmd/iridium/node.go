package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/remote"
	"github.com/iridium-go/iridium/repl"
	"github.com/iridium-go/iridium/vm"
)

// runNode runs a node: its cluster manager, remote access if asked for,
// and the REPL, or with --daemon-mode only the cluster.
func runNode(o *options, logger *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "iridium: %v\n", err)
		return exitFault
	}
	id, err := loadIdentity(o)
	if err != nil {
		return fail(err)
	}
	logger.Debug("node identity", "alias", id.alias, "data", o.dataDir)

	ccfg := cluster.DefaultConfig()
	ccfg.Alias = id.alias
	ccfg.Host = o.clusterHost
	ccfg.Port = o.clusterPort
	ccfg.Cookie = id.cookie
	ccfg.Certificate = &id.cert
	ccfg.Logger = logger
	mgr, err := cluster.New(ccfg)
	if err != nil {
		return fail(err)
	}
	defer mgr.Shutdown()

	// Every VM of the node holds the node's one cluster manager.
	newVM := func(out io.Writer) (*vm.VM, error) {
		cfg := vm.DefaultConfig()
		cfg.Output = out
		cfg.Cluster = mgr
		return vm.New(cfg)
	}
	// Every REPL on this node, local or remote, starts from this.
	template := repl.Config{NewVM: newVM, Threads: o.threads, Cluster: mgr}

	if o.remote {
		srv, err := remote.Listen(remote.Config{
			Addr:               net.JoinHostPort(o.remoteHost, strconv.Itoa(o.remotePort)),
			HostKeyFile:        filepath.Join(o.dataDir, hostKeyFile),
			AuthorizedKeysFile: filepath.Join(o.dataDir, authorizedKeysFile),
			Cookie:             id.cookie,
			MaxConnections:     o.maxSSHSessions,
			REPL:               template,
			Logger:             logger,
		})
		if err != nil {
			return fail(err)
		}
		defer srv.Close()
		logger.Info("remote access", "addr", srv.Addr().String())
	}

	if o.daemon {
		return runDaemon(o, mgr, stdout, stderr)
	}

	cfg := template
	cfg.In, cfg.Out, cfg.Err = stdin, stdout, stderr
	cfg.Interactive = isTerminal(stdin) && isTerminal(stdout)
	cfg.HistoryFile = filepath.Join(o.dataDir, historyFile)
	cfg.LeaveOnQuit = true
	r, err := repl.New(cfg)
	if err != nil {
		return fail(err)
	}

	// Ctrl-C interrupts the running program. At a terminal prompt,
	// readline sees Ctrl-C as a key, not a signal. A signal with no
	// program to interrupt (SIGTERM, or Ctrl-C in a script between
	// programs) ends the node: the REPL may be blocked reading its input,
	// which no context can unblock, so the process leaves the cluster and
	// exits from here.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s == os.Interrupt && r.Interrupt() {
					continue
				}
				r.Close()
				mgr.Leave()
				mgr.Shutdown()
				os.Exit(128 + int(s.(syscall.Signal)))
			}
		}
	}()

	if err := r.Run(ctx); err != nil {
		return fail(err)
	}
	return exitOK
}
