package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/dist"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/remote"
	"github.com/iridium-go/iridium/repl"
	"github.com/iridium-go/iridium/vm"
)

// runNode runs a node: its cluster manager, remote access if asked for,
// and the REPL, or with --daemon-mode only the cluster.
func runNode(o *options, logger *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	id, err := loadIdentity(o)
	if err != nil {
		return nodeFailed(stderr, err)
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
		return nodeFailed(stderr, err)
	}
	defer mgr.Shutdown()

	// The node's processes: every REPL's default VM, every !spawn program
	// and every process they start. Closed (every process stopped) before
	// the manager shuts down.
	procs, err := proc.New(proc.Config{
		Alias:         id.alias,
		Threads:       o.threads,
		VMConfig:      vm.DefaultConfig(),
		MaxProcesses:  o.maxProcesses,
		HeapTotal:     int64(o.maxHeapMiB) << 20,
		NoRemoteSpawn: !o.remoteSpawn,
	})
	if err != nil {
		return nodeFailed(stderr, err)
	}
	defer procs.Close()
	// Its processes reach the other members' through the manager, which
	// hands it theirs (SPAWN, SEND, exit notices across the cluster).
	dist.Connect(procs, mgr)
	// Every REPL on this node, local or remote, starts from this.
	template := repl.Config{Procs: procs, Cluster: mgr}

	if o.remote {
		srv, err := listenRemote(o, &id, template, logger, stderr)
		if err != nil {
			return nodeFailed(stderr, err)
		}
		defer srv.Close()
	}

	if o.daemon {
		return runDaemon(o, mgr, stdout, stderr)
	}

	return runREPL(o, template, stdin, stdout, stderr)
}

// listenRemote starts the node's SSH server (--enable-remote-access),
// whose sessions each run a REPL made from template.
func listenRemote(o *options, id *identity, template repl.Config, logger *slog.Logger, stderr io.Writer) (*remote.Server, error) {
	srv, err := remote.Listen(remote.Config{
		Addr:               net.JoinHostPort(o.remoteHost, strconv.Itoa(o.remotePort)),
		HostKey:            id.hostKey,
		AuthorizedKeysFile: filepath.Join(o.dataDir, authorizedKeysFile),
		Cookie:             id.cookie,
		MaxConnections:     o.maxSSHSessions,
		REPL:               template,
		Logger:             logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("remote access", "addr", srv.Addr().String())
	if o.remotePort == 0 { // the system picked it: nobody knows it yet
		errorf(stderr, "iridium: remote access listening on %s\n", srv.Addr())
	}
	return srv, nil
}

// nodeFailed reports err, which ends the node, and returns its exit
// status.
func nodeFailed(stderr io.Writer, err error) int {
	errorf(stderr, "iridium: %v\n", err)
	return exitFault
}

// runREPL runs the node's own REPL on stdin until its input ends, it
// quits or a signal ends the node; it returns the exit status.
func runREPL(o *options, template repl.Config, stdin io.Reader, stdout, stderr io.Writer) int {
	// The REPL reads stdin through in, which a signal can close.
	in := newClosableInput(stdin)
	cfg := template
	cfg.In, cfg.Out, cfg.Err = in, stdout, stderr
	cfg.Interactive = isTerminal(stdin) && isTerminal(stdout)
	restoreTerminal := func() {}
	if cfg.Interactive {
		restoreTerminal = keepEOFKey(int(stdin.(*os.File).Fd()))
	}
	defer restoreTerminal()
	cfg.HistoryFile = filepath.Join(o.dataDir, historyFile)
	cfg.LeaveOnQuit = true
	r, err := repl.New(cfg)
	if err != nil {
		return nodeFailed(stderr, err)
	}

	// SIGINT interrupts the running program; at a terminal prompt readline
	// reads Ctrl-C as a key, not a signal. A signal with no program to
	// interrupt (SIGTERM, SIGHUP when the terminal goes, or SIGINT in a
	// script between programs; not SIGINT at a terminal) ends the node: ctx is cancelled, which
	// interrupts whatever the REPL runs, and its input is closed, which
	// ends a read in progress. Run then returns
	// as at the end of a script, having left the cluster, and runNode's
	// deferred cleanup runs: remote sessions end, the manager shuts down.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := make(chan syscall.Signal, 1) // the signal that ended the node
	sigs := make(chan os.Signal, 2)       // the first signal and a second one (exitIfStuck)
	signal.Notify(sigs, stopSignals()...)
	defer signal.Stop(sigs)
	go func() { // ends with ctx, which is cancelled when runREPL returns
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				// At a terminal a Ctrl-C with nothing to interrupt (a
				// command printing, say) is not a request to leave:
				// that is Ctrl-D, or Ctrl-C twice at the prompt.
				if s == os.Interrupt && cfg.Interactive {
					r.InterruptAtTerminal()
					continue
				}
				if s == os.Interrupt && r.Interrupt() {
					continue
				}
				ended <- s.(syscall.Signal)
				cancel()
				in.Close()
				exitIfStuck(sigs, s, 128+int(s.(syscall.Signal)), stderr, restoreTerminal)
				return
			}
		}
	}()

	err = r.Run(ctx)
	select {
	case s := <-ended:
		return 128 + int(s)
	default:
	}
	if err != nil {
		return nodeFailed(stderr, err)
	}
	return exitOK
}

// closableInput is standard input that Close can end while a read of it
// is in progress. A read of a terminal or a pipe blocks in the kernel, and
// closing the file does not wake it, so the file is read on a goroutine of
// its own, through a pipe that Close closes. That goroutine stays blocked
// in its read until the process exits.
type closableInput struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newClosableInput(src io.Reader) *closableInput {
	r, w := io.Pipe()
	go func() {
		_, err := io.Copy(w, src)
		w.CloseWithError(err) // nil at the end of src: readers get io.EOF
	}()
	return &closableInput{r: r, w: w}
}

func (in *closableInput) Read(p []byte) (int, error) { return in.r.Read(p) }

// Close ends the input: a read in progress and every later one return
// io.EOF, as at the end of a script.
func (in *closableInput) Close() error { return in.w.CloseWithError(io.EOF) }
