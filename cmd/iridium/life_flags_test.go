package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Remote access is for the REPL: -p, the SSH port, without -r does
// nothing, which the node says (people mean -P, the cluster port) before
// going on. With -r, a port the system picks (-p 0) is said, as nobody
// could know it otherwise.
func TestRemoteFlagsWithoutRemoteAccess(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // on stderr, a regular expression; "" for nothing
	}{
		{[]string{"-p", "2300"}, regexp.QuoteMeta("iridium: warning: -p (--bind-port) is the SSH port, used only with -r; the cluster port is -P\n")},
		{[]string{"--bind-port=2300"}, regexp.QuoteMeta("iridium: warning: --bind-port (-p) is the SSH port, used only with -r; the cluster port is --server-bind-port (-P)\n")},
		{[]string{"--bind-host", "127.0.0.2", "--max-ssh-sessions", "3"}, regexp.QuoteMeta("iridium: warning: --bind-host is the SSH address, used only with -r; the cluster address is --server-bind-host (-H)\n" +
			"iridium: warning: --max-ssh-sessions is used only with -r\n")},
		{[]string{"-P", "2300"}, ""},
		{[]string{"-r", "-p", "0"}, `iridium: remote access listening on 127\.0\.0\.1:\d+\n`},
		{[]string{"-r", "-p", "0", "--bind-host", "localhost"}, `iridium: remote access listening on (127\.0\.0\.1|\[::1\]):\d+\n`},
	} {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			args := append([]string{"--data-root-dir", t.TempDir()}, tc.args...)
			r := iridium(t, "!registers\n", nil, args...)
			if r.code != 0 || !regexp.MustCompile("^"+tc.want+"$").MatchString(r.stderr) {
				t.Errorf("code %d, stderr %q; want 0 and %q", r.code, r.stderr, tc.want)
			}
			if len(r.stdout) == 0 {
				t.Error("the REPL did not go on")
			}
		})
	}
}

// -o and -d without FILE each name themselves; an empty -o is refused
// rather than taken for no -o (which runs FILE).
func TestFileFlagsWithoutFile(t *testing.T) {
	hello := filepath.Join(t.TempDir(), "hello.iasm")
	if err := os.WriteFile(hello, []byte(".data\nh: .asciiz 'hello'\n.code\nprts @h\nhlt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const empty = "iridium: --output must not be empty: name the bytecode file to write (leave it out to run FILE)\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", filepath.Join(t.TempDir(), "x.iebc")}, "iridium: --output: need a FILE to assemble\n"},
		{[]string{"--disassemble"}, "iridium: --disassemble: need a FILE to disassemble\n"},
		{[]string{"-o", "", hello}, empty},
		{[]string{"--output=", hello}, empty},
	} {
		r := iridium(t, "", nil, tc.args...)
		if r.code != exitUsage || r.stderr != tc.want+"Run 'iridium --help' for usage.\n" {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

// refusedBeforeStart runs a REPL node with args: with want "", it must
// run; otherwise it must stop with status 2 and stderr want before
// anything starts (its data directory is made then).
func refusedBeforeStart(t *testing.T, want string, args ...string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	r := iridium(t, "!registers\n", nil, append([]string{"--data-root-dir", data, "--cookie", "c"}, args...)...)
	if want == "" {
		if r.code != 0 || r.stderr != "" {
			t.Errorf("code %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
		return
	}
	if r.code != exitUsage || r.stderr != want {
		t.Errorf("code %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, want)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the node started: its data directory is there (%v)", err)
	}
}

// An alias the cluster would refuse is a flag error, found before the node
// starts (its data directory is made then), not a failed node.
func TestNodeAliasFlag(t *testing.T) {
	const hint = "Run 'iridium --help' for usage.\n"
	for _, tc := range []struct {
		name  string
		alias string
		want  string // on stderr; "" for an alias that is taken
	}{
		{"empty", "", "iridium: --node-alias must not be empty (leave it out for the saved alias, or a new one)\n" + hint},
		{"too long", strings.Repeat("x", 256), "iridium: --node-alias: alias is 256 bytes, limit 255\n" + hint},
		{"control character", "a\x01b", "iridium: --node-alias: alias \"a\\x01b\" contains white space or a non-printing character (U+0001)\n" + hint},
		{"not UTF-8", "a\xffb", "iridium: --node-alias: alias is not valid UTF-8\n" + hint},
		{"no-break space", "a\u00a0b", "iridium: --node-alias: alias \"a\\u00a0b\" contains white space or a non-printing character (U+00A0)\n" + hint},
		{"ASCII white space", "a b", "iridium: --node-alias: alias \"a b\" contains white space or a non-printing character (U+0020)\n" + hint},
		{"bidi override", "evil\u202egnp.exe", "iridium: --node-alias: alias \"evil\\u202egnp.exe\" contains white space or a non-printing character (U+202E)\n" + hint},
		{"zero-width space", "b\u200b", "iridium: --node-alias: alias \"b\\u200b\" contains white space or a non-printing character (U+200B)\n" + hint},
		{"longest", strings.Repeat("x", 255), ""},
		{"not ASCII", "nœud-1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { refusedBeforeStart(t, tc.want, "--node-alias", tc.alias) })
	}
}

// A listen address is an IP address or a host name, checked when the flags
// are parsed: what looks like an IPv4 address and is not one is neither
// (the SSH listener failed on it with status 1, the cluster's only at
// !start_cluster). Host names are resolved later, when the node listens.
func TestBindHostFlags(t *testing.T) {
	const hint = "Run 'iridium --help' for usage.\n"
	for _, tc := range []struct {
		args []string
		want string // on stderr; "" for hosts that are taken
	}{
		{[]string{"-H", "999.1.1.1"}, `iridium: --server-bind-host "999.1.1.1" is not an IP address or host name` + "\n" + hint},
		{[]string{"-H", "1.2.3"}, `iridium: --server-bind-host "1.2.3" is not an IP address or host name` + "\n" + hint},
		{[]string{"--server-bind-host", "1.2.3.4.5"}, `iridium: --server-bind-host "1.2.3.4.5" is not an IP address or host name` + "\n" + hint},
		{[]string{"-H", "2130706433"}, `iridium: --server-bind-host "2130706433" is not an IP address or host name` + "\n" + hint},
		{[]string{"-H", ""}, `iridium: --server-bind-host "" is not an IP address or host name` + "\n" + hint},
		{[]string{"-r", "--bind-host", "999.1.1.1"}, `iridium: --bind-host "999.1.1.1" is not an IP address or host name` + "\n" + hint},
		{[]string{"-r", "--bind-host", "local host"}, `iridium: --bind-host "local host" is not an IP address or host name` + "\n" + hint},
		{[]string{"-r", "--bind-host", "localhost\x1b"}, `iridium: --bind-host "localhost\x1b" is not an IP address or host name` + "\n" + hint},
		{[]string{"-H", "localhost"}, ""},
		{[]string{"-H", "myhost.example"}, ""},
		{[]string{"-H", "3com.example"}, ""},
		{[]string{"-H", "::1"}, ""},
		// -r --bind-host localhost: in TestRemoteFlagsWithoutRemoteAccess.
	} {
		t.Run(fmt.Sprintf("%q", tc.args), func(t *testing.T) { refusedBeforeStart(t, tc.want, tc.args...) })
	}
}

// The flag package writes every flag with one dash; the messages name the
// flag as it was typed, --flag or -flag, and a short one with its long
// name too.
func TestFlagErrorsNameFlagsAsTyped(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // on stderr, before the hint
	}{
		{[]string{"--bogus"}, "unknown flag --bogus"},
		{[]string{"--bogus=1"}, "unknown flag --bogus"},
		{[]string{"-bogus"}, "unknown flag -bogus"},
		{[]string{"--remote-spawn=maybe"}, `invalid value "maybe" for --remote-spawn: want true or false`},
		{[]string{"-remote-spawn=maybe"}, `invalid value "maybe" for -remote-spawn: want true or false`},
		{[]string{"-r=maybe"}, `invalid value "maybe" for -r/--enable-remote-access: want true or false`},
		{[]string{"--threads", "x"}, `invalid value "x" for --threads: want a number`},
		{[]string{"--threads=x"}, `invalid value "x" for --threads: want a number`},
		{[]string{"-t", "x"}, `invalid value "x" for -t/--threads: want a number`},
		// The flag at fault is the one the package stopped at, whatever
		// the arguments before it look like.
		{[]string{"--cookie", "-threads", "--threads=x"}, `invalid value "x" for --threads: want a number`},
		{[]string{"-threads", "--threads=x"}, `invalid value "--threads=x" for -threads: want a number`},
		{[]string{"--cookie"}, "flag needs an argument: --cookie"},
		{[]string{"-o"}, "flag needs an argument: -o/--output"},
	} {
		t.Run(fmt.Sprintf("%q", tc.args), func(t *testing.T) {
			args := append([]string{"--data-root-dir", t.TempDir()}, tc.args...)
			r := iridium(t, "", nil, args...)
			want := "iridium: " + tc.want + "\nRun 'iridium --help' for usage.\n"
			if r.code != exitUsage || r.stderr != want {
				t.Errorf("code %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, want)
			}
		})
	}
}
