package main

import (
	"bytes"
	"errors"
	"flag"
	"strconv"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/internal/testutil"
)

// parseFlagsSeeds are the seed corpus of FuzzParseFlags (command line,
// environment), in testdata/fuzz/FuzzParseFlags, written by
// TestWriteFlagsSeedCorpus.
func parseFlagsSeeds() [][2]string {
	env := "secret\x00warn\x00/tmp/x\x00/root"
	var seeds [][2]string
	for _, s := range []string{
		"-P\x000\x00--node-alias\x00n1\x00prog.iasm",
		"--cookie\x00\x00-t\x000",
		"--threads=99999999999999999999\x00--max-heap\x00-1",
		"-H\x00\x1b[31m\x00--join\x00h:p\x00--daemon-mode",
		"--bogus\x00-r\x00-p\x0070000\x00--bind-host\x00::1",
		"--help",
		"a\x00b\x00--\x00-P\x001",
		"--node-alias\x00" + strings.Repeat("a", 300),
	} {
		seeds = append(seeds, [2]string{s, env})
	}
	return append(seeds, [2]string{"", "\x00bogus\x00\x00"})
}

// TestWriteFlagsSeedCorpus rewrites testdata/fuzz/FuzzParseFlags when
// MAIN_WRITE_CORPUS is set; otherwise it checks the files are there.
func TestWriteFlagsSeedCorpus(t *testing.T) {
	var seeds []testutil.Seed
	for _, s := range parseFlagsSeeds() {
		seeds = append(seeds, testutil.Seed{Target: "FuzzParseFlags", Args: []string{"string(" + strconv.Quote(s[0]) + ")", "string(" + strconv.Quote(s[1]) + ")"}})
	}
	testutil.SeedCorpus(t, "MAIN_WRITE_CORPUS", seeds)
}

// FuzzParseFlags: any command line and environment (IRIDIUM_COOKIE,
// IRIDIUM_LOG, XDG_DATA_HOME, HOME) parses without a panic into options,
// the help, or a usage error that says what is wrong on stderr, in lines
// with no raw control byte (errorf escapes them) and no longer than a
// short message plus the arguments it quotes.
func FuzzParseFlags(f *testing.F) {
	for _, s := range parseFlagsSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, cmdline, environ string) {
		var args []string
		if cmdline != "" {
			args = strings.Split(cmdline, "\x00")
		}
		env := strings.SplitN(environ, "\x00", 4)
		for len(env) < 4 {
			env = append(env, "")
		}
		getenv := func(k string) string {
			switch k {
			case "IRIDIUM_COOKIE":
				return env[0]
			case "IRIDIUM_LOG":
				return env[1]
			case "XDG_DATA_HOME":
				return env[2]
			case "HOME":
				return env[3]
			}
			return ""
		}
		var stdout, stderr bytes.Buffer
		o, err := parseFlags(args, getenv, &stdout, &stderr)
		switch {
		case err == nil:
			if o == nil {
				t.Fatal("no options and no error")
			}
		case errors.Is(err, flag.ErrHelp):
			if stdout.Len() == 0 {
				t.Fatal("help printed nothing")
			}
			return
		case errors.Is(err, errUsage):
			if stderr.Len() == 0 {
				t.Fatalf("usage error with nothing on stderr")
			}
		default:
			t.Fatalf("parseFlags: %v", err)
		}
		// A message may quote an argument whole (the flag package's
		// words), escaped: at most 4 bytes for each byte of it.
		longest := 0
		for _, a := range append(args, env...) {
			longest = max(longest, len(a))
		}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if len(line) > 300+4*longest {
				t.Fatalf("stderr line of %d bytes: %.200q...", len(line), line)
			}
			testutil.PlainLine(t, line)
		}
	})
}
