package repl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// testProcs is a process runtime for one test's REPLs, closed when the
// test ends.
func testProcs(t testing.TB, threads int) *proc.Node {
	t.Helper()
	n, err := proc.New(proc.Config{Alias: "test", Threads: threads, VMConfig: vm.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// script runs lines through a non-interactive REPL and returns what it
// wrote to its output and error streams.
func script(t *testing.T, lines ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	r, err := New(Config{
		In:    strings.NewReader(strings.Join(lines, "\n") + "\n"),
		Out:   &out,
		Err:   &errOut,
		Procs: testProcs(t, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String()
}

func writeProgram(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prog.iasm")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCommands(t *testing.T) {
	prog := writeProgram(t, ".data\nmsg: .asciiz 'from file\\n'\n.code\nload $7 #77\nprts @msg\n")
	faulty := writeProgram(t, "load $1 #0\ndiv $0 $1 $2\n")
	broken := writeProgram(t, strings.Repeat("frob\n", 30))
	tests := []struct {
		name       string
		lines      []string
		wantOut    []string // substrings of stdout, in order
		notOut     []string
		wantErr    []string // substrings of stderr
		exactOut   *string
		exactLines int // if > 0, stdout has exactly this many lines
	}{
		{name: "help lists every command", lines: []string{"!help"},
			wantOut: []string{"!help", "!quit", "!history", "!program", "!clear_program", "!registers",
				"!clear_registers", "!symbols", "!load_file [PATH]", "!spawn [PATH]"}},
		{name: "help instructions names an argument after it", lines: []string{"!help instructions x", "!help x instructions"},
			wantErr: []string{"error: unexpected argument \"x\"\nerror: unexpected argument \"x\"\n"}},
		{name: "registers", lines: []string{"load $0 #500", "load $31 #-1", "!registers"},
			wantOut: []string{"$0 = 500\n", "$1 = 0\n", "$31 = -1\n"}, exactLines: 32},
		{name: "clear registers", lines: []string{"load $3 #9", "!clear_registers", "!registers"},
			wantOut: []string{"$3 = 0\n"}},
		{name: "registers keep values between lines", lines: []string{"load $1 #2", "load $2 #3", "mul $1 $2 $3", "!registers"},
			wantOut: []string{"$3 = 6\n"}},
		{name: "labels carry over to later lines", lines: []string{"load $1 #0", "load $2 #5", "top: inc $1", "neq $1 $2", "djmpe @top", "!registers"},
			wantOut: []string{"$1 = 5\n"}},
		{name: "history", lines: []string{"load $0 #1", "!history"},
			wantOut: []string{"load $0 #1\n!history\n"}},
		{name: "program lists the code", lines: []string{"load $0 #1", "inc $0", "!program"},
			wantOut: []string{"load", "$0 #1", "0x0000", "inc", "$0", "0x0004"}},
		{name: "clear program", lines: []string{"here: load $0 #1", "!clear_program", "!program", "!symbols"},
			notOut: []string{"load", "here"}},
		{name: "symbols", lines: []string{"start: load $0 #1", "next: inc $0", "!symbols"},
			wantOut: []string{"next", "code", "4", "start"}},
		{name: "assembly error leaves the program as it was", lines: []string{"load $0 #1", "load $99 #1", "!program"},
			wantErr: []string{"error: 2:6: register $99 out of range"}, notOut: []string{"$99"}},
		{name: "a script's errors name its lines", lines: []string{"load $0 #1", "", "!registers", "add $0 $1", "!load_file", prog, "frob", "; a comment", "load $1 #2 #3"},
			wantErr: []string{"error: 4:1: ADD takes 3 operands, got 2\nerror: 7:1: unknown mnemonic \"frob\"\nerror: 9:1: LOAD takes 2 operands, got 3\n"}},
		{name: "a fault is reported and the script goes on", lines: []string{"load $1 #0", "div $0 $1 $2", "load $4 #4", "!registers"},
			wantErr: []string{"division by zero"}, wantOut: []string{"$4 = 4\n"}},
		{name: "unknown command", lines: []string{"!frob", "!registers"},
			wantErr: []string{"unknown command !frob"}, wantOut: []string{"$0 = 0"}},
		{name: "control characters in an error are escaped", lines: []string{"!frob\x00\x1b[2J"},
			wantErr: []string{`error: unknown command !frob\x00\x1b[2J;`}},
		{name: "format characters and bytes that are not UTF-8 are escaped", lines: []string{"!frob\u202eab\xff\u200bé"},
			wantErr: []string{`error: unknown command !frob\u202eab\xff\u200bé;`}},
		{name: "quit stops reading", lines: []string{"!quit", "!registers"}, exactOut: new(string)},
		{name: "load_file runs the file and keeps registers", lines: []string{"load $5 #55", "!load_file " + prog, "!registers"},
			wantOut: []string{"from file\n", "$5 = 55\n", "$7 = 77\n"}},
		{name: "load_file asks for the path", lines: []string{"!load_file", prog, "!symbols"},
			wantOut: []string{"from file\n", "msg", "data"}},
		{name: "load_file replaces the program", lines: []string{"old: load $0 #1", "!load_file " + prog, "!symbols", "!program"},
			notOut: []string{"old"}, wantOut: []string{"msg"}},
		{name: "load_file of a path with spaces says how", lines: []string{"!load_file my prog.iasm"},
			wantErr: []string{"error: expected one PATH, got 2 arguments (a path with spaces: the command alone, then the path on the next line)\n"}},
		{name: "load_file of a missing file", lines: []string{"!load_file /nonexistent/x.iasm"},
			wantErr: []string{"no such file"}},
		{name: "load_file shows the first 20 errors, as iridium FILE does", lines: []string{"!load_file " + broken},
			wantErr: []string{"error: " + broken + `:1:1: unknown mnemonic "frob"`, broken + `:20:1: unknown mnemonic "frob"` + "\nerror: ... and 10 more errors\n"}},
		{name: "spawn runs in the background and reports", lines: []string{"!spawn " + prog},
			wantOut: []string{"spawned #1", "#1 " + prog + " ended: exit code 0", "from file\n", "event: "}},
		{name: "a spawned program's fault is exit status 1", lines: []string{"!spawn " + faulty},
			wantOut: []string{"#1 " + faulty + " ended: exit code 1 (division by zero at pc 0x0004 (DIV))\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := script(t, tc.lines...)
			rest := out
			for _, want := range tc.wantOut {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order); stdout:\n%s\nstderr:\n%s", want, out, errOut)
				}
				rest = rest[i+len(want):]
			}
			for _, not := range tc.notOut {
				if strings.Contains(out, not) {
					t.Errorf("stdout has %q:\n%s", not, out)
				}
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if tc.wantErr == nil && errOut != "" {
				t.Errorf("unexpected stderr:\n%s", errOut)
			}
			if tc.exactOut != nil && out != *tc.exactOut {
				t.Errorf("stdout %q, want %q", out, *tc.exactOut)
			}
			if tc.exactLines > 0 && strings.Count(out, "\n") != tc.exactLines {
				t.Errorf("stdout has %d lines, want %d:\n%s", strings.Count(out, "\n"), tc.exactLines, out)
			}
		})
	}
}

func TestCompleter(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "fib.iasm"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "progs"), 0o755)
	tests := []struct {
		line string
		want []string
	}{
		{"!he", []string{"lp "}},
		{"!clear_", []string{"program ", "registers "}},
		{"!load_file " + dir + "/f", []string{"ib.iasm "}},
		{"!spawn " + dir + "/pr", []string{"ogs/"}},
		{"load $0", nil},
		{"!registers x", nil},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			got, _ := completer{}.Do([]rune(tc.line), len([]rune(tc.line)))
			var gotS []string
			for _, g := range got {
				gotS = append(gotS, string(g))
			}
			if strings.Join(gotS, "|") != strings.Join(tc.want, "|") {
				t.Errorf("completions %q, want %q", gotS, tc.want)
			}
		})
	}
}

// spinSrc loops forever; quickSrc prints and ends.
const (
	spinSrc  = "spin: djmp @spin\n"
	quickSrc = ".data\nmsg: .asciiz 'quick\\n'\n.code\nprts @msg\n"
)

func TestSpawnRespectsThreads(t *testing.T) {
	spin := writeProgram(t, spinSrc)
	quick := writeProgram(t, quickSrc)

	run := func(threads int) (*io.PipeWriter, *testutil.Buffer, chan struct{}) {
		in, feed := io.Pipe()
		out := &testutil.Buffer{}
		r, err := New(Config{In: in, Out: out, Err: out, Procs: testProcs(t, threads)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { r.Run(context.Background()); close(done) }()
		return feed, out, done
	}
	finish := func(feed *io.PipeWriter, done chan struct{}) {
		t.Helper()
		io.WriteString(feed, "!quit\n")
		feed.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the REPL did not end after !quit")
		}
	}

	// Two threads: the quick program ends while the endless one runs.
	feed, out, done := run(2)
	io.WriteString(feed, "!spawn "+spin+"\n!spawn "+quick+"\n")
	testutil.WaitFor(t, out, "#2 "+quick+" ended: exit code 0", 10*time.Second)
	if strings.Contains(out.String(), "#1 "+spin+" ended") {
		t.Fatal("the endless program ended by itself")
	}
	finish(feed, done)
	testutil.WaitFor(t, out, "#1 "+spin+" ended: exit code 2 (interrupted", 10*time.Second)

	// One thread: the endless program runs in slices, so it cannot keep
	// the quick one from its turn; !kill stops the endless one.
	feed, out, done = run(1)
	io.WriteString(feed, "!spawn "+spin+"\n!spawn "+quick+"\n")
	testutil.WaitFor(t, out, "#2 "+quick+" ended: exit code 0", 10*time.Second)
	io.WriteString(feed, "!kill test:2\n") // test:1 is the REPL's default VM
	testutil.WaitFor(t, out, "#1 "+spin+" ended: exit code 2 (interrupted", 10*time.Second)
	finish(feed, done)
}

// TestScriptEndWithBackgroundPrograms: at the end of a script the REPL
// waits for its background programs while any of them can go on (it
// runs, it waits for a child that runs, or its RECVT has a time limit),
// and stops them once all wait in RECV with nothing left to send to them.
func TestScriptEndWithBackgroundPrograms(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the report after its first line's "ended: "
	}{
		{"waiting in RECV for ever: stopped", "recv $1 $2\n",
			"exit code 2 (interrupted at pc 0x0000 (RECV))\n"},
		{"waiting for a child that computes: waited for", `
	load $1 #0
	load $2 @child
	spawn $1 $2 $3
	recv $4 $5            ; the child's sum
	prti $4
	hlt
child:
	load $6 #0
	load $7 #20000000
	load $8 #1
count:
	add $6 $8 $6
	lt $6 $7
	djmpe @count
	parent $9
	send $9 $6
`, "exit code 0\n20000000\n"},
		{"RECVT with a time limit: waited for", "load $3 #300\nrecvt $1 $2 $3\nload $9 #7\nprti $9\n",
			"exit code 0\n7\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog := writeProgram(t, tc.src)
			var out string
			done := make(chan struct{})
			go func() {
				defer close(done)
				out, _ = script(t, "!spawn "+prog)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the REPL did not end with its script")
			}
			if want := "#1 " + prog + " ended: " + tc.want; !strings.Contains(out, want) {
				t.Errorf("printed %q, want %q", out, want)
			}
		})
	}
}

// A report's fault and events may come from another member: what they
// hold is shown escaped, never sent to the terminal raw. The program's
// own output is its own business, and goes through as it is.
func TestReportEscapesFaults(t *testing.T) {
	jb := newJobs().newJob("p.iasm")
	jb.label = "bravo:2"
	jb.output.Write([]byte("\x1b[1mbold\x1b[0m\n"))
	got := string(report(jb, proc.StatusFault, errors.New("boom\x1b[2J\u202e"), nil))
	want := "bravo:2 p.iasm ended: exit code 1 (boom\\x1b[2J\\u202e)\n\x1b[1mbold\x1b[0m\n"
	if got != want {
		t.Errorf("report %q, want %q", got, want)
	}
}
