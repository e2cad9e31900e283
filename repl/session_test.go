package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/vm"
)

// scriptOn runs lines through a scripted REPL made from cfg, whose In, Out
// and Err it fills in, and returns what it printed. With oneStream, output
// and errors share one stream, as at a terminal or with 2>&1.
func scriptOn(t *testing.T, cfg Config, oneStream bool, lines ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg.In = strings.NewReader(strings.Join(lines, "\n") + "\n")
	cfg.Out, cfg.Err = &out, &errOut
	if oneStream {
		cfg.Err = &out
	}
	if cfg.Procs == nil {
		cfg.Procs = testProcs(t, 1)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String()
}

// The REPL's rule (README "The REPL"): a line a program left open is ended before the REPL
// prints anything of its own; a script's own lines may build one line.
func TestOpenLineIsEnded(t *testing.T) {
	spin := writeProgram(t, spinSrc)
	tests := []struct {
		name      string
		lines     []string
		oneStream bool
		want      string // stdout, or its start if prefix
		prefix    bool
	}{
		{name: "before a command's output",
			lines: []string{"load $5 #42", "prti $5", "!history"},
			want:  "42\nload $5 #42\nprti $5\n!history\n"},
		{name: "before an error",
			lines: []string{"load $5 #42", "prti $5", "frob"}, oneStream: true,
			want: "42\nerror: 3:1: unknown mnemonic \"frob\"\n"},
		{name: "before a background program's report",
			lines: []string{"!spawn " + spin, "load $5 #42", "prti $5", "!quit"},
			want:  "spawned #1: " + spin + " as test:2\n42\n#1 " + spin + " ended: exit code 2 (interrupted at pc", prefix: true},
		{name: "at the end of the input",
			lines: []string{"load $5 #42", "prti $5"},
			want:  "42\n"},
		{name: "but not between program lines",
			lines: []string{"load $5 #42", "prti $5", "prti $5"},
			want:  "4242\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := scriptOn(t, Config{}, tc.oneStream, tc.lines...)
			got := out
			if tc.prefix && len(got) > len(tc.want) {
				got = got[:len(tc.want)]
			}
			if got != tc.want {
				t.Errorf("stdout %q, want %q (stderr %q)", out, tc.want, errOut)
			}
		})
	}
}

func TestPathOnTheNextLine(t *testing.T) {
	quick := writeProgram(t, quickSrc)
	tests := []struct {
		name    string
		lines   []string
		want    string // in stdout
		wantErr string // all of stderr
		notOut  string
	}{
		{name: "!spawn", lines: []string{"!spawn", quick},
			want: "spawned #1: " + quick + " as test:2\n#1 " + quick + " ended: exit code 0\nquick\n"},
		{name: "!load_file", lines: []string{"!load_file", quick}, want: "quick\n"},
		{name: "a command is refused, not run", lines: []string{"!spawn", "!registers"},
			wantErr: "error: !registers is a command, not a path: not run (a file so named is ./!registers)\n", notOut: "$0"},
		{name: "a blank line", lines: []string{"!load_file", "  "}, wantErr: "error: no path given\n"},
		{name: "the end of the input", lines: []string{"!load_file"}, wantErr: "error: no path given\n"},
		{name: "!help says so", lines: []string{"!help"}, want: "(no PATH: asks at a path: prompt)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := scriptOn(t, Config{}, false, tc.lines...)
			if !strings.Contains(out, tc.want) {
				t.Errorf("stdout lacks %q:\n%s", tc.want, out)
			}
			if tc.notOut != "" && strings.Contains(out, tc.notOut) {
				t.Errorf("stdout has %q:\n%s", tc.notOut, out)
			}
			if errOut != tc.wantErr {
				t.Errorf("stderr %q, want %q", errOut, tc.wantErr)
			}
		})
	}
}

// A scripted line over the limit is an error like any failing line: it is
// named, skipped, and the script goes on.
func TestLongLineIsSkipped(t *testing.T) {
	long := "load $3 #3 ; " + strings.Repeat("x", 2<<20)
	out, errOut := scriptOn(t, Config{}, false, "load $1 #1", long, "load $2 #2", "!registers")
	if want := "error: line 2 is longer than the limit of 1048576 bytes (1 MiB); skipped\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if !strings.Contains(out, "$1 = 1\n$2 = 2\n$3 = 0\n") {
		t.Errorf("the lines around the long one did not run, or it did:\n%s", out)
	}
}

// Every line of an error of several lines is marked, and each assembly
// error names the file, line and column.
func TestErrorOfSeveralLines(t *testing.T) {
	bad := writeProgram(t, "load $0 #1\nfrob\nadd $1 $2\nload $99 #1\n")
	_, errOut := scriptOn(t, Config{}, false, "!load_file "+bad)
	want := "error: " + bad + ":2:1: unknown mnemonic \"frob\"\n" +
		"error: " + bad + ":3:1: ADD takes 3 operands, got 2\n" +
		"error: " + bad + ":4:6: register $99 out of range (0..31)\n"
	if errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
}

// fakeCluster is a cluster manager that listens once started; its Join
// waits until its context ends.
type fakeCluster struct {
	mu        sync.Mutex
	listening bool
	startErr  error
	joining   chan struct{} // receives when Join starts waiting
	others    []string      // members listed besides this node
}

func (f *fakeCluster) Start() (net.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.listening = true
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2254}, nil
}

func (f *fakeCluster) Listening() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listening
}

func (f *fakeCluster) Join(ctx context.Context, addr string) error {
	if _, err := f.Start(); err != nil { // as a real join does
		return err
	}
	if f.joining == nil {
		return fmt.Errorf("cluster: join %s: nobody there", addr)
	}
	f.joining <- struct{}{}
	<-ctx.Done()
	return fmt.Errorf("cluster: join %s: %w", addr, ctx.Err())
}

func (f *fakeCluster) Members() []cluster.Member {
	out := []cluster.Member{{Alias: "me", IP: "127.0.0.1", Port: 2254, Self: true}}
	for i, alias := range f.others {
		out = append(out, cluster.Member{Alias: alias, IP: "127.0.0.1", Port: 2255 + i})
	}
	return out
}

func (f *fakeCluster) Leave() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listening = false
	return nil
}

func TestClusterCommandsOutsideACluster(t *testing.T) {
	tests := []struct {
		name     string
		startErr error
		lines    []string
		want     string
	}{
		{name: "members before starting", lines: []string{"!cluster_members"},
			want: notInCluster + "\n"},
		{name: "leaving before starting", lines: []string{"!leave_cluster"},
			want: notInCluster + "\n"},
		{name: "members of a started node", lines: []string{"!start_cluster", "!cluster_members"},
			want: "cluster listening on 127.0.0.1:2254\nme 127.0.0.1:2254 (self)\n"},
		{name: "leaving, then members", lines: []string{"!start_cluster", "!leave_cluster", "!cluster_members", "!leave_cluster"},
			want: "cluster listening on 127.0.0.1:2254\nleft the cluster\n" + notInCluster + "\n" + notInCluster + "\n"},
		{name: "joining an address with a bad port", lines: []string{"!join_cluster 127.0.0.1 notaport", "!join_cluster 127.0.0.1:0", "!cluster_members"},
			want: "error: !join_cluster 127.0.0.1 notaport: port \"notaport\" is not a number from 1 to 65535\n" +
				"error: !join_cluster 127.0.0.1:0: port \"0\" is not a number from 1 to 65535\n" + notInCluster + "\n"},
		{name: "members after a failed start", startErr: errors.New("address in use"),
			lines: []string{"!start_cluster", "!cluster_members"},
			want:  "error: address in use\n" + notInCluster + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := scriptOn(t, Config{Cluster: &fakeCluster{startErr: tc.startErr}}, true, tc.lines...)
			if out != tc.want {
				t.Errorf("printed %q, want %q", out, tc.want)
			}
		})
	}
}

// session is a REPL whose Run goes on in the background, fed through a
// pipe.
type session struct {
	t    *testing.T
	r    *REPL
	feed *io.PipeWriter
	out  *testutil.Buffer // output and errors
	done chan error       // Run's result
}

func startSession(t *testing.T, ctx context.Context, cfg Config) *session {
	t.Helper()
	in, feed := io.Pipe()
	s := &session{t: t, feed: feed, out: &testutil.Buffer{}, done: make(chan error, 1)}
	cfg.In, cfg.Out, cfg.Err = in, s.out, s.out
	if cfg.Procs == nil {
		cfg.Procs = testProcs(t, 1)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.r = r
	go func() { s.done <- r.Run(ctx) }()
	t.Cleanup(func() { feed.Close(); s.ended() })
	return s
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.feed, line+"\n"); err != nil {
		s.t.Fatalf("sending %q: %v", line, err)
	}
}

func (s *session) waitFor(want string) {
	s.t.Helper()
	testutil.WaitFor(s.t, s.out, want, 10*time.Second)
}

// ended waits for Run to return, and fails the test if it does not.
func (s *session) ended() error {
	s.t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the next caller
		return err
	case <-time.After(10 * time.Second):
		s.t.Fatalf("Run did not return; the session printed:\n%s", s.out.String())
		return nil
	}
}

// However a session ends, nothing on the way out waits for a program that
// does not end: !quit and cancelling the session's context interrupt them
// all, and Run returns.
func TestSessionEndStopsPrograms(t *testing.T) {
	spin := writeProgram(t, spinSrc)
	tests := []struct {
		name string
		// end ends the session: an endless !spawn program runs, and the
		// REPL waits for input; cancel cancels its context.
		end func(s *session, cancel context.CancelFunc)
	}{
		{"!quit", func(s *session, _ context.CancelFunc) { s.send("!quit") }},
		{"cancelled while reading input", func(_ *session, cancel context.CancelFunc) { cancel() }},
		{"cancelled while a program runs", func(s *session, cancel context.CancelFunc) {
			s.send("again: prti $0")
			s.send("djmp @again")
			s.waitFor("00")
			cancel()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := startSession(t, ctx, Config{})
			s.send("!spawn " + spin)
			s.waitFor("spawned #1")
			tc.end(s, cancel)
			if err := s.ended(); err != nil {
				t.Errorf("Run: %v", err)
			}
			out := s.out.String()
			if !strings.Contains(out, "#1 "+spin+" ended: exit code 2 (interrupted at pc") {
				t.Errorf("the background program was not reported interrupted:\n%s", out)
			}
			if strings.Contains(out, "context") {
				t.Errorf("the session speaks of contexts:\n%s", out)
			}
		})
	}
}

// Interrupt stops a !join_cluster as it stops a program, and the
// cancellation reads as what happened.
func TestJoinIsInterrupted(t *testing.T) {
	tests := []struct {
		name string
		stop func(r *REPL, cancel context.CancelCauseFunc) // while the join waits
		want string
	}{
		{"Interrupt", func(r *REPL, _ context.CancelCauseFunc) {
			if !r.Interrupt() {
				t.Error("Interrupt found nothing to interrupt")
			}
		}, "error: !join_cluster 10.1.2.3:2254: interrupted\n"},
		{"the session ends", func(_ *REPL, cancel context.CancelCauseFunc) { cancel(nil) },
			"error: !join_cluster 10.1.2.3:2254: interrupted: the session is ending\n"},
		{"the session ends, with a cause", func(_ *REPL, cancel context.CancelCauseFunc) { cancel(errors.New("client gone")) },
			"error: !join_cluster 10.1.2.3:2254: client gone\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			fake := &fakeCluster{joining: make(chan struct{}, 1)}
			s := startSession(t, ctx, Config{Cluster: fake})
			s.send("!join_cluster 10.1.2.3 2254")
			<-fake.joining
			tc.stop(s.r, cancel)
			s.waitFor(tc.want)
			s.feed.Close()
			s.ended()
		})
	}
}

// The sessions of one node share its cluster manager: a !leave_cluster in
// one while another's !join_cluster waits for its contact tells the joining
// session, in one short line with one prefix, that the node left.
func TestLeaveWhileAnotherSessionJoins(t *testing.T) {
	// A contact that takes the connection and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	cfg := cluster.DefaultLocalConfig()
	cfg.Alias, cfg.Cookie = "n", []byte("k")
	cfg.HandshakeTimeout = 10 * time.Second // the join waits until the leave
	mgr, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Shutdown() })
	joiner := startSession(t, context.Background(), Config{Cluster: mgr})
	leaver := startSession(t, context.Background(), Config{Cluster: mgr})

	addr := ln.Addr().String()
	joiner.send("!join_cluster " + addr)
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the join never reached its contact")
	}
	leaver.send("!leave_cluster")
	leaver.waitFor("left the cluster\n")
	want := "error: cluster: join " + addr + ": left the cluster while joining\n"
	joiner.waitFor(want)
	if got := joiner.out.String(); got != want {
		t.Errorf("the joining session printed %q, want %q", got, want)
	}
	joiner.send("!cluster_members")
	joiner.waitFor(notInCluster + "\n")
}

// stuckWriter is a client that reads nothing: every write waits until the
// test lets go. writing receives when the first write begins.
type stuckWriter struct{ release, writing chan struct{} }

func (w stuckWriter) Write(p []byte) (int, error) {
	select {
	case w.writing <- struct{}{}:
	default:
	}
	<-w.release
	return 0, io.ErrClosedPipe
}

// TestClientThatReadsNothingHoldsNoWorker: a session whose client reads
// nothing (an SSH client that stopped) must not hold the node's worker
// with its job's report, or no other session's job would run again.
func TestClientThatReadsNothingHoldsNoWorker(t *testing.T) {
	procs := testProcs(t, 1) // one worker for the whole node
	quick := writeProgram(t, "load $1 #1\n")
	stuck := stuckWriter{make(chan struct{}), make(chan struct{}, 1)}
	a, err := New(Config{Procs: procs, In: strings.NewReader("!spawn " + quick + "\n"), Out: stuck, Err: stuck})
	if err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { aDone <- a.Run(context.Background()) }()
	defer func() {
		close(stuck.release)
		<-aDone
	}()

	// a announces its job once the job is queued: b's job, on the same
	// node, is queued after it, and still runs and is reported, though
	// a's report waits for a client that never reads.
	select {
	case <-stuck.writing:
	case <-time.After(10 * time.Second):
		t.Fatal("a did not spawn")
	}
	var out bytes.Buffer
	b, err := New(Config{Procs: procs, In: strings.NewReader("!spawn " + quick + "\n"), Out: &out, Err: &out})
	if err != nil {
		t.Fatal(err)
	}
	bDone := make(chan error, 1)
	go func() { bDone <- b.Run(context.Background()) }()
	select {
	case <-bDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the other session's job was not reported: the worker is held")
	}
	if !strings.Contains(out.String(), "#1 "+quick+" ended: exit code 0") {
		t.Errorf("the other session printed %q", out.String())
	}
}

// TestJobOutputIsBounded: a job's report keeps the first MiB of its
// output and says how much more there was; a program that prints forever
// does not take the node's memory.
func TestJobOutputIsBounded(t *testing.T) {
	loud := writeProgram(t, `.data
s: .asciiz '0123456789abcdef'
.code
    load $2 #0
    load $1 #2
    lui $1 #18928       ; 150,000 lines of 16 bytes: 2,400,000 bytes
loop:
    prts @s
    dec $1
    gt $1 $2
    djmpe @loop
`)
	out, _ := script(t, "!spawn "+loud)
	const dropped = 150000*16 - 1<<20
	if want := fmt.Sprintf("#1: %d bytes more of output dropped (a report keeps the first 1024 KiB, and a session's running jobs 16 MiB together)\n", dropped); !strings.Contains(out, "0123456789abcdef\n"+want) {
		t.Errorf("the report ends %q, want the output, then %q", out[max(0, len(out)-300):], want)
	}
	if n := strings.Count(out, "0123456789abcdef"); n != 1<<20/16 {
		t.Errorf("the report holds %d lines of output, want %d", n, 1<<20/16)
	}
}

// The jobs of a session keep maxSessionOutput of output together, each
// up to maxJobOutput: a job past the budget keeps what is left of it and
// counts the rest, and a report gives its share back for the jobs after.
func TestJobsShareAnOutputBudget(t *testing.T) {
	j := newJobs()
	full := make([]byte, maxJobOutput+100)
	var first []*job
	for range maxSessionOutput / maxJobOutput {
		jb := j.newJob("p")
		jb.output.Write(full)
		first = append(first, jb)
	}
	late := j.newJob("late")
	late.output.Write([]byte("lost"))
	if kept, dropped := late.output.Bytes(); len(kept) != 0 || dropped != 4 {
		t.Fatalf("past the budget: kept %d bytes, dropped %d; want 0 and 4", len(kept), dropped)
	}
	for _, jb := range first {
		if kept, dropped := jb.output.Bytes(); len(kept) != maxJobOutput || dropped != 100 {
			t.Fatalf("within the budget: kept %d, dropped %d; want %d and 100", len(kept), dropped, maxJobOutput)
		}
	}
	first[0].output.release()
	first[0].output.Write([]byte("after its report")) // counted, not kept
	// The budget is back, but not for late, which dropped output already:
	// a report keeps the output's beginning, not a part with a hole.
	late.output.Write([]byte("later"))
	if kept, dropped := late.output.Bytes(); len(kept) != 0 || dropped != 4+5 {
		t.Errorf("after its first drop: kept %q, dropped %d; want nothing and 9", kept, dropped)
	}
	fresh := j.newJob("fresh")
	fresh.output.Write(full)
	if kept, _ := fresh.output.Bytes(); len(kept) != maxJobOutput {
		t.Errorf("after a report: kept %d bytes, want %d", len(kept), maxJobOutput)
	}
	if kept, dropped := first[0].output.Bytes(); len(kept) != 0 || dropped != 100+16 {
		t.Errorf("released buffer: kept %d, dropped %d; want 0 and 116", len(kept), dropped)
	}
	if j.output.left != 0 {
		t.Errorf("budget left %d, want 0", j.output.left)
	}
}

// Two scripts on one node, each ending with a program that waits in RECV:
// neither waits for the other's session, which sends nothing any more
// either. Both end, their programs stopped.
func TestScriptsEndTogether(t *testing.T) {
	procs := testProcs(t, 1)
	prog := writeProgram(t, "recv $1 $2\n")
	outs := make([]string, 2)
	done := make(chan int, 2)
	for i := range outs {
		go func() {
			outs[i], _ = scriptOn(t, Config{Procs: procs}, true, "!spawn "+prog)
			done <- i
		}()
	}
	for range outs {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("a script did not end")
		}
	}
	for i, out := range outs {
		if !strings.Contains(out, prog+" ended: exit code 2 (interrupted at pc 0x0000 (RECV))\n") {
			t.Errorf("session %d printed %q", i, out)
		}
	}
}

// fullWriter takes the first room bytes, then fails every write, as a
// full disk does.
type fullWriter struct {
	buf  bytes.Buffer
	room int
}

var errFull = errors.New("no space left on device")

func (w *fullWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.room-w.buf.Len())
	w.buf.Write(p[:n])
	if n < len(p) {
		return n, errFull
	}
	return n, nil
}

// TestLostOutputFailsTheSession: output that cannot be written, the
// REPL's own or a program's, is not lost in silence: the script goes on,
// and the session ends with an error (the exit status of `iridium <
// script > /dev/full` is 1).
func TestLostOutputFailsTheSession(t *testing.T) {
	tests := []struct {
		name    string
		room    int
		lines   []string
		wantOut string
		wantErr string // on the error stream, besides the later line's error
	}{
		{"command output", 0, []string{"load $3 #7", "!registers"}, "", ""},
		{"a program's print", 0, []string{"load $3 #7", "prti $3"}, "", "error: writing the output failed"},
		{"the end of an open line", 1, []string{"load $3 #42", "prti $3"}, "4", "error: writing the output failed"},
		{"a background program's report", 0, []string{"!spawn " + writeProgram(t, "load $0 #1\nhlt\n")}, "", ""},
		{"what fits is written", 8, []string{"load $3 #12345", "prti $3", "!registers"}, "12345\n$0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			out := &fullWriter{room: tc.room}
			lines := append(tc.lines, "bogus")
			r, err := New(Config{In: strings.NewReader(strings.Join(lines, "\n") + "\n"), Out: out, Err: &errOut,
				Procs: testProcs(t, 1)})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Run(context.Background())
			if !errors.Is(err, vm.ErrOutput) || !errors.Is(err, errFull) {
				t.Errorf("Run = %v, want the lost output's error", err)
			}
			if got := out.buf.String(); got != tc.wantOut {
				t.Errorf("output %q, want %q", got, tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) || !strings.Contains(errOut.String(), `unknown mnemonic "bogus"`) {
				t.Errorf("errors %q, want %q and the error of the line after", errOut.String(), tc.wantErr)
			}
		})
	}
	// The same lines with room for everything: no error.
	out := &fullWriter{room: 1 << 20}
	r, err := New(Config{In: strings.NewReader("load $3 #7\nprti $3\n!registers\n"), Out: out, Err: io.Discard, Procs: testProcs(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Errorf("Run with room = %v, want nil", err)
	}
}
