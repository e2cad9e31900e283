package repl

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/vm"
)

// TestProcessCommands: !processes lists the REPL's own VM and a !spawn
// job; !send reaches the job, whose answer a RECV in a REPL line takes;
// !kill ends it with status 2. Unknown members are named alike by all.
func TestProcessCommands(t *testing.T) {
	echo := writeProgram(t, "loop: recv $1 $2\n send $2 $1\n djmp @loop\n")
	s := startSession(t, context.Background(), Config{})
	s.send("!spawn " + echo)
	s.waitFor("spawned #1: " + echo + " as test:2\n")
	s.poll("!processes", "test:1 waiting repl mailbox 0 dropped 0\ntest:2 waiting "+echo+" mailbox 0 dropped 0\n")
	s.send("!send test:2 #42")
	s.send("recv $5 $6")
	s.send("!registers")
	s.waitFor("$5 = 42\n$6 = 2\n")
	s.send("!send test:2 nope")
	s.waitFor(`error: "nope" is not an int32 value`)
	s.send("!send other:2 1")
	s.waitFor("error: other: not a connected member\n")
	s.send("!kill other:2")
	s.waitFor("error: other: not a connected member\n")
	s.send("!spawn_on other " + echo)
	s.waitFor("error: other: not a connected member\n")
	s.send("!spawn_on test " + echo) // this node's own alias works too
	s.waitFor("spawned test:3\n")
	s.send("!kill test:3")
	s.waitFor("test:3 " + echo + " ended: exit code 2 (interrupted at pc 0x0000 (RECV))")
	s.send("!spawn " + echo) // !spawn_on took no number of !spawn's
	s.waitFor("spawned #2: " + echo + " as test:4\n")
	s.send("!kill test:4")
	s.waitFor("#2 " + echo + " ended: exit code 2 (interrupted at pc 0x0000 (RECV))")
	s.send("!kill test:2")
	s.waitFor("#1 " + echo + " ended: exit code 2 (interrupted at pc 0x0000 (RECV))")
	s.send("!kill test:2")
	s.waitFor("error: no process test:2")
	// The REPL's own process between lines: nothing to interrupt, and a
	// message to it waits in its mailbox, listed as waiting.
	s.send("!kill test:1")
	s.waitFor("error: test:1 is this session's own process")
	s.send("!send test:1 #7")
	s.poll("!processes", "test:1 waiting repl mailbox 1 dropped 0\n")
	s.send("!quit")
	if err := s.ended(); err != nil {
		t.Fatal(err)
	}
}

// TestRecvInALineIsInterrupted: a REPL line waiting in RECV for ever is
// stopped by Interrupt (Ctrl-C), and the REPL goes on.
func TestRecvInALineIsInterrupted(t *testing.T) {
	s := startSession(t, context.Background(), Config{})
	s.send("nop")
	s.send("recv $1 $2")
	deadline := 0
	for !s.r.Interrupt() {
		deadline++
		if deadline > 1e7 {
			t.Fatal("the line never ran")
		}
	}
	s.waitFor("error: interrupted at pc 0x0004 (RECV)\n")
	s.send("load $3 #7")
	s.send("!registers")
	s.waitFor("$3 = 7\n")
}

// TestFloatRegistersAndHelp: !float_registers shows the float registers in
// the shortest form that reads back; !help instructions lists opcodes 53-64
// with the others.
func TestFloatRegistersAndHelp(t *testing.T) {
	out, errs := script(t, "load $1 #3", "load $2 #4", "itof $1 $1", "itof $2 $2", "divf64 $1 $2 $3", "!float_registers", "!help instructions", "!help")
	if errs != "" {
		t.Fatalf("errors: %s", errs)
	}
	for _, want := range []string{"$1 = 3\n", "$3 = 0.75\n", "$31 = 0\n",
		"53   SELF $a", "56   SPAWN $a $b $c", "64   REM $a", "!processes", "!kill ALIAS:PID", "!send ALIAS:PID VALUE", "!float_registers", "!help instructions"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// poll sends cmd until the output has want, within 10 s: for a state that
// comes in its own time (a process parking in RECV).
func (s *session) poll(cmd, want string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		from := len(s.out.String())
		s.send(cmd)
		s.send("!help") // its output marks the end of cmd's
		for !strings.Contains(s.out.String()[from:], "anything else") {
			if time.Now().After(deadline) {
				s.t.Fatalf("%s did not end within 10s:\n%s", cmd, s.out.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		if strings.Contains(s.out.String()[from:], want) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q within 10s in:\n%s", want, s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A program's name is printed with control and format characters escaped,
// wherever it shows (it may come from another member): a name cannot
// drive the terminal or reorder what it shows.
func TestProgramNamesEscaped(t *testing.T) {
	dir := t.TempDir()
	name := "a\x1b[2Jb\u202ec.iasm"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("recv $1 $2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shown := filepath.Join(dir, `a\x1b[2Jb\u202ec.iasm`)
	s := startSession(t, context.Background(), Config{})
	s.send("!spawn " + path)
	s.waitFor("spawned #1: " + shown + " as test:2\n")
	s.poll("!processes", "test:2 waiting "+shown+" mailbox 0 dropped 0\n")
	s.send("!kill test:2")
	s.waitFor("#1 " + shown + " ended: exit code 2")
	if strings.Contains(s.out.String(), "\x1b") || strings.Contains(s.out.String(), "\u202e") {
		t.Errorf("raw control or format character in the output:\n%q", s.out.String())
	}
	s.send("!quit")
	if err := s.ended(); err != nil {
		t.Fatal(err)
	}
}

// !send to a member whose connection took no more messages (SEND never
// blocks: its queue was full) says the message was dropped, not that the
// member is unknown. Here the cluster lists "other" while the process
// runtime reaches no member at all, which refuses every message alike.
func TestSendDroppedByAMember(t *testing.T) {
	s := startSession(t, context.Background(), Config{Cluster: &fakeCluster{others: []string{"other"}}})
	s.send("!send other:2 #1")
	s.waitFor("error: message to other:2 dropped: the queue to other is full\n")
	s.send("!send stranger:2 #1")
	s.waitFor("error: stranger: not a connected member\n")
	s.send("!quit")
	if err := s.ended(); err != nil {
		t.Fatal(err)
	}
}

// TestSpawnPastMaxProcesses: a !spawn or !spawn_on this node past
// --max-processes says so in the words of the flag, not the runtime's
// "proc: too many processes", and the session goes on.
func TestSpawnPastMaxProcesses(t *testing.T) {
	n, err := proc.New(proc.Config{Alias: "test", Threads: 1, VMConfig: vm.DefaultConfig(), MaxProcesses: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	hlt := writeProgram(t, "hlt\n")
	s := startSession(t, context.Background(), Config{Procs: n}) // its own VM is the one process
	for _, cmd := range []string{"!spawn " + hlt, "!spawn_on test " + hlt} {
		s.send(cmd)
		s.waitFor("error: not run: this node runs its maximum of processes (--max-processes)\n")
	}
	s.send("load $1 #3")
	s.send("!registers")
	s.waitFor("$1 = 3\n")
	if strings.Contains(s.out.String(), "proc:") {
		t.Fatalf("the session printed:\n%s", s.out.String())
	}
	// A second session (an SSH client's) cannot have a process either.
	_, err = New(Config{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Procs: n})
	if want := "not run: this node runs its maximum of processes (--max-processes)"; err == nil || err.Error() != want {
		t.Errorf("a second session: %v, want %q", err, want)
	}
}

// TestProcessArguments: ALIAS:PID is read as !processes writes it: the
// pid a whole number from 1 to 2^31-1 with no sign, the alias everything
// before the last colon (an alias may hold colons).
func TestProcessArguments(t *testing.T) {
	const pidErr = `": the pid must be a whole number from 1 to 2147483647` + "\n"
	tests := []struct{ line, want string }{
		{"!kill test:+1", `error: "test:+1` + pidErr},
		{"!kill test:-1", `error: "test:-1` + pidErr},
		{"!kill test:0", `error: "test:0` + pidErr},
		{"!kill test:2147483648", `error: "test:2147483648` + pidErr},
		{"!kill test:", `error: "test:` + pidErr},
		{"!kill :1", `error: ":1" is not ALIAS:PID` + "\n"},
		{"!kill a:b:3", "error: a:b: not a connected member\n"},
		{"!send test:+1 #1", `error: "test:+1` + pidErr},
		{"!kill test:99", "error: no process test:99\n"},
	}
	for _, tc := range tests {
		if _, stderr := script(t, tc.line); stderr != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.line, stderr, tc.want)
		}
	}
}
