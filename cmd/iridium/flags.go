package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/remote"
	"github.com/iridium-go/iridium/vm"
)

// options are the parsed command line (README.md, "Command line").
type options struct {
	file string // FILE; "" starts the REPL (or daemon)

	assembleTo  string // -o: write FILE as bytecode here instead of running it
	disassemble bool   // -d: print FILE's disassembly instead of running it

	clusterPort int    // -P
	clusterHost string // -H
	alias       string
	dataDir     string
	cookie      string
	cookieFrom  string // "--cookie" or "IRIDIUM_COOKIE" if either gave the cookie, else ""
	threads     int

	remote         bool   // -r
	remotePort     int    // -p
	remoteHost     string // --bind-host
	maxSSHSessions int    // --max-ssh-sessions: SSH connections open at once

	daemon bool
	join   string // HOST:PORT, daemon mode only

	remoteSpawn  bool // --remote-spawn: other members may start processes here
	maxProcesses int  // --max-processes: processes alive at once on this node
	maxHeapMiB   int  // --max-heap: MiB of heap of all the node's processes together

	logLevel slog.Level
}

const usageText = `Usage: iridium [flags] [FILE]

Runs FILE (Iridium assembly, or bytecode recognised by its magic) and exits;
without FILE, starts the REPL.

File flags:
  -o, --output OUT               assemble FILE to the bytecode file OUT instead of running it
  -d, --disassemble              print FILE as assembly instead of running it

Node flags:
  -P, --server-bind-port PORT    cluster port to listen on and announce (default 2254; 0 picks a free one)
  -H, --server-bind-host HOST    cluster listen address (default 127.0.0.1)
      --node-alias NAME          the node's name in the cluster (default: saved in the data directory, else a new UUID)
      --data-root-dir DIR        where the alias, cookie and REPL history live (default %s)
      --cookie SECRET            the cluster secret (default $IRIDIUM_COOKIE, else DIR/cookie, created if missing)
  -t, --threads N                how many !spawn programs may run at once (default 1)
      --remote-spawn=false       refuse the processes other members ask this node to start
      --max-processes N          processes alive at once on this node, or in a FILE run (default %d); past it spawns are refused
      --max-heap MIB             heap and stack of all processes together on this node, or in a FILE run, and the programs
                                 other members start here, in MiB (default %d: a quarter of the memory); past it ALOC, or a
                                 PUSH or CALL that grows a stack, faults, and another member's spawn is refused
  -r, --enable-remote-access     serve the REPL over SSH
  -p, --bind-port PORT           SSH port for remote access (default 2244)
      --bind-host HOST           SSH listen address for remote access (default 127.0.0.1)
      --max-ssh-sessions N       SSH connections open at once, logged in or not (default 64);
                                 one more closes the oldest not logged in
      --daemon-mode              no REPL: serve the cluster until SIGINT, SIGTERM or SIGHUP
      --join HOST:PORT           with --daemon-mode: join the cluster of the node at HOST:PORT
  -h, --help                     print this help

Environment:
  IRIDIUM_COOKIE                 the cluster secret, if --cookie is not given
  IRIDIUM_LOG                    log level on stderr: debug, info, warn (default) or error
`

// defaultMaxProcesses bounds the processes alive at once on a node, as
// Erlang's default process limit does (2^18).
const defaultMaxProcesses = 262_144

// defaultMaxHeapMiB bounds the heap of all of a node's processes
// together: a quarter of the memory the machine (or the node's container)
// has, as the JVM's default maximum heap is; 1 GiB where that cannot be
// read; never less than one process's whole heap (64 MiB).
func defaultMaxHeapMiB() int {
	mib := int(memory() / 4 >> 20)
	if mib == 0 {
		mib = 1024
	}
	return max(mib, vm.DefaultHeapLimit>>20)
}

// maxThreads bounds --threads: each thread is a worker goroutine made at
// start, and more than a machine's cores run nothing sooner.
const maxThreads = 4096

// maxHeapMiB is the largest --max-heap whose bytes an int64 holds.
const maxHeapMiB = math.MaxInt64 >> 20

// errUsage marks a command-line mistake (exit status 2); the message has
// been printed already.
var errUsage = errors.New("usage")

// parseFlags parses args. On -h it prints the usage to stdout and returns
// flag.ErrHelp, or the write's error if the usage could not be written; on
// a mistake it prints the problem and a hint to stderr and returns
// errUsage.
func parseFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("iridium", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // we print our own messages
	defaultData := defaultDataDir(getenv)

	str := func(p *string, value string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, value, "")
		}
	}
	num := func(p *int, value int, names ...string) {
		*p = value
		for _, n := range names {
			fs.Var(decimal{p}, n, "")
		}
	}
	boolean := func(p *bool, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, "")
		}
	}
	str(&o.assembleTo, "", "o", "output")
	boolean(&o.disassemble, "d", "disassemble")
	num(&o.clusterPort, 2254, "P", "server-bind-port")
	str(&o.clusterHost, "127.0.0.1", "H", "server-bind-host")
	str(&o.alias, "", "node-alias")
	str(&o.dataDir, defaultData, "data-root-dir")
	str(&o.cookie, getenv("IRIDIUM_COOKIE"), "cookie")
	num(&o.threads, 1, "t", "threads")
	boolean(&o.remote, "r", "enable-remote-access")
	num(&o.remotePort, 2244, "p", "bind-port")
	str(&o.remoteHost, "127.0.0.1", "bind-host")
	num(&o.maxSSHSessions, remote.DefaultMaxConnections, "max-ssh-sessions")
	boolean(&o.daemon, "daemon-mode")
	str(&o.join, "", "join")
	fs.BoolVar(&o.remoteSpawn, "remote-spawn", true, "")
	num(&o.maxProcesses, defaultMaxProcesses, "max-processes")
	defaultHeap := defaultMaxHeapMiB()
	num(&o.maxHeapMiB, defaultHeap, "max-heap")

	fail := func(format string, a ...any) (*options, error) {
		errorf(stderr, "iridium: "+format+"\n", a...)
		fmt.Fprintln(stderr, "Run 'iridium --help' for usage.")
		return nil, errUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if _, err := fmt.Fprintf(stdout, usageText, defaultData, defaultMaxProcesses, defaultHeap); err != nil {
				errorf(stderr, "iridium: %v\n", err)
				return nil, err
			}
			return nil, flag.ErrHelp
		}
		return fail("%s", cleanFlagError(err, args, fs.Args()))
	}
	if o.cookie != "" {
		o.cookieFrom = "IRIDIUM_COOKIE"
	}
	emptyAlias, emptyOutput := false, false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "cookie":
			o.cookieFrom = "--cookie" // given, even empty: it is refused then
		case "node-alias":
			emptyAlias = o.alias == ""
		case "o", "output":
			emptyOutput = o.assembleTo == ""
		}
	})
	if emptyAlias {
		return fail("--node-alias must not be empty (leave it out for the saved alias, or a new one)")
	}
	// -o "$OUT" with OUT unset would otherwise run the program it was to
	// write.
	if emptyOutput {
		return fail("--output must not be empty: name the bytecode file to write (leave it out to run FILE)")
	}
	// A cookie that is empty or only white space is a mistake (an unset
	// variable expanded, a paste gone wrong), not a secret.
	if o.cookieFrom != "" && strings.TrimSpace(o.cookie) == "" {
		return fail("%s is empty or only white space: a cookie must have some text", o.cookieFrom)
	}
	switch fs.NArg() {
	case 0:
	case 1:
		if o.file = fs.Arg(0); o.file == "" {
			return fail("FILE is empty: name a program file, or give none to start the REPL")
		}
	default:
		// After a "--" that ended the flags every argument is a FILE, and
		// "-" is one too.
		ended := endedByDashes(fs, args)
		for _, a := range fs.Args()[1:] {
			if len(a) > 1 && a[0] == '-' && !ended {
				return fail("flags go before FILE: %s came after %s", escape.Clip(a), escape.Clip(fs.Arg(0)))
			}
		}
		return fail("expected at most one FILE, got %d: %s", fs.NArg(), escape.Clip(strings.Join(fs.Args(), " ")))
	}

	if err := o.validate(); err != nil {
		return fail("%v", err)
	}
	level, err := parseLogLevel(getenv("IRIDIUM_LOG"))
	if err != nil {
		return fail("%v", err)
	}
	o.logLevel = level
	if !o.remote && o.file == "" {
		// The SSH flags are easily taken for the cluster's: -p for -P.
		fs.Visit(func(f *flag.Flag) {
			if warning, ok := remoteOnly[f.Name]; ok {
				errorf(stderr, "iridium: warning: %s\n", warning)
			}
		})
	}
	return o, nil
}

// validate checks the values of the flags and how they go together.
func (o *options) validate() error {
	if err := checkPort("--server-bind-port", o.clusterPort); err != nil {
		return err
	}
	if err := checkPort("--bind-port", o.remotePort); err != nil {
		return err
	}
	if o.threads < 1 || o.threads > maxThreads {
		return fmt.Errorf("--threads must be 1 to %d, got %d", maxThreads, o.threads)
	}
	if o.maxProcesses < 1 {
		return fmt.Errorf("--max-processes must be at least 1, got %d", o.maxProcesses)
	}
	if o.maxHeapMiB < 1 || o.maxHeapMiB > maxHeapMiB {
		return fmt.Errorf("--max-heap must be 1 to %d (MiB), got %d", maxHeapMiB, o.maxHeapMiB)
	}
	if o.maxSSHSessions < 1 {
		return fmt.Errorf("--max-ssh-sessions must be at least 1, got %d", o.maxSSHSessions)
	}
	for _, h := range []struct{ flag, host string }{{"--server-bind-host", o.clusterHost}, {"--bind-host", o.remoteHost}} {
		if net.ParseIP(h.host) == nil && !validHostname(h.host) {
			return fmt.Errorf("%s %q is not an IP address or host name", h.flag, h.host)
		}
	}
	if o.alias != "" {
		if err := cluster.CheckAlias(o.alias); err != nil {
			return fmt.Errorf("--node-alias: %v", err)
		}
	}
	if o.dataDir == "" {
		return errors.New("--data-root-dir must not be empty")
	}
	if o.join != "" {
		if !o.daemon {
			return errors.New("--join needs --daemon-mode (in the REPL, use !join_cluster)")
		}
		if err := checkJoinAddress(o.join); err != nil {
			return fmt.Errorf("--join %q: %v", o.join, err)
		}
	}
	if o.file == "" && o.assembleTo != "" {
		return errors.New("--output: need a FILE to assemble")
	}
	if o.file == "" && o.disassemble {
		return errors.New("--disassemble: need a FILE to disassemble")
	}
	if o.file != "" && o.daemon {
		return errors.New("--daemon-mode takes no FILE")
	}
	if o.assembleTo != "" && o.disassemble {
		return errors.New("--output and --disassemble exclude each other")
	}
	return nil
}

// endedByDashes reports whether a "--" ended fs's flags in args, rather
// than the first argument that is not a flag, or than standing as a flag's
// value (--cookie --).
func endedByDashes(fs *flag.FlagSet, args []string) bool {
	i := len(args) - fs.NArg() - 1 // the argument before the first left
	if i < 0 || args[i] != "--" {
		return false
	}
	if i == 0 {
		return true
	}
	prev := args[i-1] // "--" is its value if prev is a flag that takes one
	f := fs.Lookup(strings.TrimLeft(prev, "-"))
	if f == nil || !strings.HasPrefix(prev, "-") || strings.Contains(prev, "=") {
		return true
	}
	b, isBool := f.Value.(interface{ IsBoolFlag() bool })
	return isBool && b.IsBoolFlag()
}

// remoteOnly warns about each flag that does nothing without -r.
var remoteOnly = map[string]string{
	"p":                "-p (--bind-port) is the SSH port, used only with -r; the cluster port is -P",
	"bind-port":        "--bind-port (-p) is the SSH port, used only with -r; the cluster port is --server-bind-port (-P)",
	"bind-host":        "--bind-host is the SSH address, used only with -r; the cluster address is --server-bind-host (-H)",
	"max-ssh-sessions": "--max-ssh-sessions is used only with -r",
}

// cleanFlagError rewrites the flag package's messages to name flags the
// way the user typed them: the package writes -name for --name too. args
// are the arguments parsed and rest those the package had not reached when
// it stopped.
func cleanFlagError(err error, args, rest []string) string {
	msg := err.Error()
	// The package stops just past the argument at fault: the last one it
	// took, or the one before when the flag took that one as its value.
	at := len(args) - len(rest) - 1
	typed := func(name string) string {
		dashes := "-"
		if at >= 0 && strings.HasPrefix(args[at], "--") {
			dashes = "--"
		}
		if long, ok := longNames[name]; ok {
			return dashes + name + "/--" + long
		}
		return dashes + name
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag " + typed(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag needs an argument: " + typed(name)
	}
	// invalid boolean value "maybe" for -remote-spawn: parse error
	var value, name string
	if n, _ := fmt.Sscanf(msg, "invalid boolean value %q for -%s", &value, &name); n == 2 {
		name = strings.TrimSuffix(name, ":")
		return fmt.Sprintf("invalid value %q for %s: want true or false", value, typed(name))
	}
	// invalid value "abc" for flag -P: parse error
	if n, _ := fmt.Sscanf(msg, "invalid value %q for flag -%s", &value, &name); n == 2 {
		name = strings.TrimSuffix(name, ":")
		if at > 0 && strings.TrimLeft(args[at], "-") != name+"="+value {
			at-- // -P abc, not -P=abc
		}
		want := "want a number"
		if strings.HasSuffix(msg, ": "+errOutOfRange.Error()) {
			want = "out of range"
		}
		return fmt.Sprintf("invalid value %q for %s: %s", value, typed(name), want)
	}
	return msg
}

// decimal is an int flag read in base 10: the flag package's own reads
// 0101 as octal (port 65) and 0x50 as hex, which nobody means on a
// command line, and leading zeros are decimal here.
type decimal struct{ p *int }

var errOutOfRange = errors.New("out of range")

func (d decimal) String() string {
	if d.p == nil {
		return "0"
	}
	return strconv.Itoa(*d.p)
}

func (d decimal) Set(s string) error {
	v, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) {
		return errOutOfRange
	}
	if err != nil {
		return errors.New("not a number")
	}
	*d.p = v
	return nil
}

// longNames maps the short flags to their long names, for error messages.
var longNames = map[string]string{
	"o": "output", "d": "disassemble", "P": "server-bind-port", "H": "server-bind-host",
	"t": "threads", "r": "enable-remote-access", "p": "bind-port",
}

func checkPort(flag string, port int) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("%s must be a port from 0 to 65535, got %d", flag, port)
	}
	return nil
}

// validHostname reports whether h is a host name (RFC 1123): dot-separated
// labels of letters, digits and hyphens. The last label is not all digits
// (RFC 3696, section 2), so what looks like an IPv4 address and is not one
// (999.1.1.1, 1.2.3, 1.2.3.4.5) is neither.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// checkJoinAddress checks --join's HOST:PORT: a member's address
// (cluster.SplitHostPort) whose host is given, and is an IP address or a
// host name.
func checkJoinAddress(addr string) error {
	host, _, err := cluster.SplitHostPort(addr)
	switch {
	case err != nil:
		return err
	case host == "":
		return errors.New("missing host")
	case net.ParseIP(host) == nil && !validHostname(host):
		return fmt.Errorf("%q is not an IP address or host name", escape.Clip(host))
	}
	return nil
}

func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "warn", "warning":
		return slog.LevelWarn, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("IRIDIUM_LOG=%q: want debug, info, warn or error", s)
}

// defaultDataDir follows the XDG base directory convention:
// $XDG_DATA_HOME/iridium, else ~/.local/share/iridium.
func defaultDataDir(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "iridium")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "iridium")
	}
	return ".iridium"
}
