package repl

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// maxErrorLine bounds one line the REPL writes to its error stream: an
// error is one short line whatever the input (README: a message quotes at
// most 40 characters of what it names, then how long it was).
const maxErrorLine = 300

// executeSeeds are the seed corpus of FuzzExecute
// (testdata/fuzz/FuzzExecute, written by TestWriteSeedCorpus).
func executeSeeds() []string {
	return []string{
		"!help\n!registers\n!float_registers\n!symbols\n!program\n!history",
		"load $1 #10\nx: dec $1\nload $2 #0\nneq $1 $2\ndjmpe @x\n!registers",
		"!nonsense\n!help me\n!kill a:b\n!kill here:0\n!send test:1 xyz\n!send test:99 #5",
		"!load_file\n!registers\n!load_file /nonexistent\n!spawn\n\n!spawn_on a b",
		"!join_cluster h p\n!cluster_members\n!start_cluster\n!processes",
		"frob $1\nload $40 #1\nload $1 #99999999999\n'unterminated\nprts @nowhere",
		"!\x1b[31mred\n!kill \u202eevil:1\nload \x00",
		"!" + strings.Repeat("x", 100),
		"!clear_program\n!clear_registers\nhlt\n!quit\n!registers",
		"recv $1 $2", // waits until the session ends
	}
}

// FuzzExecute feeds scripted lines (commands and assembly, as stdin or an
// SSH session gives them) to a REPL without a cluster: nothing panics or
// hangs, the session ends at its input's end, and every line of its error
// stream holds no raw control byte (package escape) and is short, but for
// a path, which it names whole.
func FuzzExecute(f *testing.F) {
	for _, s := range executeSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		if strings.Count(script, "\n") > 50 {
			return
		}
		var out, errOut bytes.Buffer
		cfg := vm.DefaultConfig()
		cfg.Budget = 10_000
		cfg.HeapLimit = 1 << 16
		n, err := proc.New(proc.Config{Alias: "test", Threads: 1, VMConfig: cfg})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		r, err := New(Config{In: strings.NewReader(script + "\n"), Out: &out, Err: &errOut, Procs: n})
		if err != nil {
			t.Fatal(err)
		}
		// Within the fuzz worker's 10 s for one input, past which it
		// panics ("deadlocked!") and the input is recorded as a crasher: a
		// RECV (or RECVT) waits until the session ends.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		select {
		case <-done:
		case <-time.After(8 * time.Second):
			t.Fatal("the session did not end")
		}
		// A path is named whole (as a shell names it), escaped: at most 4
		// bytes for each of its bytes.
		allow, asked := 0, false
		for _, line := range strings.Split(script, "\n") {
			fields := strings.Fields(line)
			switch {
			case asked:
				allow = max(allow, 4*len(line))
			case len(fields) > 1 && slices.Contains([]string{"!load_file", "!spawn", "!spawn_on"}, strings.ToLower(fields[0])):
				allow = max(allow, 4*len(line))
			}
			asked = len(fields) == 1 && slices.Contains([]string{"!load_file", "!spawn"}, strings.ToLower(fields[0]))
		}
		for _, line := range strings.Split(errOut.String(), "\n") {
			if len(line) > maxErrorLine+allow {
				t.Fatalf("error line of %d bytes: %.200q...", len(line), line)
			}
			testutil.PlainLine(t, line)
		}
	})
}

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzExecute from
// executeSeeds when REPL_WRITE_CORPUS is set; otherwise it checks the
// files are there.
func TestWriteSeedCorpus(t *testing.T) {
	var seeds []testutil.Seed
	for _, s := range executeSeeds() {
		seeds = append(seeds, testutil.Seed{Target: "FuzzExecute", Args: []string{"string(" + strconv.Quote(s) + ")"}})
	}
	testutil.SeedCorpus(t, "REPL_WRITE_CORPUS", seeds)
}
