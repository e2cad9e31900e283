package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the iridium binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iridium-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "iridium")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// iridium runs the binary with args and stdin, bounded by a deadline, in a
// clean environment whose data directory is private to the test.
func iridium(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("iridium %v did not finish within the deadline", args)
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("iridium %v: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const helloSrc = `.data
greeting: .asciiz 'Hello, world!\n'
.code
    prts @greeting
    hlt
`

func TestRunFile(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		wantCode   int
		wantStdout string
		wantStderr []string // substrings
	}{
		{name: "hello", src: helloSrc, wantStdout: "Hello, world!\n"},
		{name: "prti", src: "load $0 #41\ninc $0\nprti $0\n", wantStdout: "42"},
		{name: "runs off the end", src: "load $0 #1\n", wantStdout: ""},
		{name: "a first label named as the bytecode magic is assembly", src: "EPIE: load $0 #7\nprti $0\n", wantStdout: "7"},
		{name: "fault", src: "load $0 #1\nload $1 #0\ndiv $0 $1 $2\n", wantCode: 1,
			wantStderr: []string{"division by zero", "pc 0x0008", "DIV"}},
		{name: "every assembly error", src: "load $0 #1\nfrob $1\nadd $1 $2\ndjmp @nowhere\n", wantCode: 2,
			wantStderr: []string{"2:1:", "3:1:", "4:6:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.name+".iasm", tc.src)
			r := iridium(t, "", nil, path)
			if r.code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, tc.wantCode, r.stderr)
			}
			if r.stdout != tc.wantStdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.wantStdout)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not mention %q:\n%s", want, r.stderr)
				}
			}
			if tc.wantCode == 0 && r.stderr != "" {
				t.Errorf("unexpected stderr:\n%s", r.stderr)
			}
		})
	}
}

// A fault's message starts a line of its own where the output's last line
// is still open and both go to the same place (a terminal, or 2>&1), and
// adds no line where they go apart or the line is ended.
func TestFaultStartsALine(t *testing.T) {
	const fault = "load $2 #0\ndiv $1 $2 $3\n"
	tests := []struct {
		name, src      string
		together       bool
		stdout, stderr string // together: stdout is everything
	}{
		{"open line, together", "load $1 #7\nprti $1\n" + fault, true,
			"7\niridium: FILE: division by zero at pc 0x000c (DIV)\n", ""},
		{"ended line, together", ".data\nnl: .asciiz '\\n'\n.code\nload $1 #7\nprti $1\nprts @nl\n" + fault, true,
			"7\niridium: FILE: division by zero at pc 0x0010 (DIV)\n", ""},
		{"open line, apart", "load $1 #7\nprti $1\n" + fault, false,
			"7", "iridium: FILE: division by zero at pc 0x000c (DIV)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "prog.iasm", tc.src)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, path)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if tc.together {
				cmd.Stderr = &stdout // one pipe for both
			}
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitFault {
				t.Fatalf("run: %v, want exit status %d", err, exitFault)
			}
			wantOut := strings.ReplaceAll(tc.stdout, "FILE", path)
			wantErr := strings.ReplaceAll(tc.stderr, "FILE", path)
			if stdout.String() != wantOut || stderr.String() != wantErr {
				t.Errorf("stdout %q, stderr %q\nwant   %q and %q", stdout.String(), stderr.String(), wantOut, wantErr)
			}
		})
	}
}

func TestAssembleToBytecodeAndBack(t *testing.T) {
	src := writeFile(t, "hello.iasm", helloSrc)
	bin := filepath.Join(t.TempDir(), "hello.iebc")
	if r := iridium(t, "", nil, "-o", bin, src); r.code != 0 || r.stdout != "" {
		t.Fatalf("assembling: code %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if r := iridium(t, "", nil, bin); r.code != 0 || r.stdout != "Hello, world!\n" {
		t.Fatalf("running bytecode: code %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	dis := iridium(t, "", nil, "--disassemble", bin)
	if dis.code != 0 {
		t.Fatalf("disassembling: code %d, stderr %s", dis.code, dis.stderr)
	}
	// The disassembly is a program too, and assembles to the same file.
	again := filepath.Join(t.TempDir(), "again.iebc")
	if r := iridium(t, "", nil, "-o", again, writeFile(t, "dis.iasm", dis.stdout)); r.code != 0 {
		t.Fatalf("re-assembling the disassembly: code %d, stderr %s", r.code, r.stderr)
	}
	a, _ := os.ReadFile(bin)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Errorf("disassemble/assemble changed the bytecode:\n%x\n%x", a, b)
	}
}

func TestBadBytecodeIsRefused(t *testing.T) {
	header := make([]byte, 68)
	copy(header, "EPIE")
	header[4] = 1
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"too short", []byte("EPIE"), "truncated"},
		{"wrong version", append([]byte("EPIE\x02"), make([]byte, 63)...), "version"},
		{"unknown opcode", append(append([]byte{}, header...), 99, 0, 0, 0), "unknown opcode"},
		{"code not whole instructions", append(append([]byte{}, header...), 5, 0), "multiple of 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.iebc")
			os.WriteFile(path, tc.data, 0o644)
			r := iridium(t, "", nil, path)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("code %d (want 1), stderr %q (want %q)", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		want     string // substring of stdout (code 0) or stderr
	}{
		{"help", []string{"-h"}, nil, 0, "Usage: iridium"},
		{"long help", []string{"--help"}, nil, 0, "--server-bind-port"},
		{"unknown flag", []string{"--frobnicate"}, nil, 2, "unknown flag --frobnicate"},
		{"port not a number", []string{"-P", "abc"}, nil, 2, "server-bind-port"},
		{"port out of range", []string{"--server-bind-port", "70000"}, nil, 2, "0 to 65535"},
		{"threads zero", []string{"-t", "0"}, nil, 2, "--threads must be 1 to 4096, got 0"},
		{"max processes zero", []string{"--max-processes", "0"}, nil, 2, "--max-processes must be at least 1"},
		{"max heap zero", []string{"--max-heap", "0"}, nil, 2, "--max-heap must be 1 to 8796093022207 (MiB), got 0"},
		{"max heap past int64 bytes", []string{"--max-heap", "17592186044416"}, nil, 2, "--max-heap must be 1 to 8796093022207 (MiB), got 17592186044416"},
		{"help names the heap total", []string{"-h"}, nil, 0, "--max-heap MIB"},
		{"remote spawn not a boolean", []string{"--remote-spawn=maybe"}, nil, 2, "remote-spawn"},
		{"help names the process flags", []string{"-h"}, nil, 0, "--remote-spawn=false"},
		{"bad host", []string{"-H", "not a host"}, nil, 2, "not an IP address or host name"},
		{"join without daemon", []string{"--join", "127.0.0.1:2254"}, nil, 2, "--join needs --daemon-mode"},
		{"join bad address", []string{"--daemon-mode", "--join", "nowhere"}, nil, 2, "--join"},
		{"join bad host", []string{"--daemon-mode", "--join", "999.1.1.1:2254"}, nil, 2, `--join "999.1.1.1:2254": "999.1.1.1" is not an IP address or host name`},
		{"two files", []string{"a.iasm", "b.iasm"}, nil, 2, "at most one FILE"},
		{"a flag after FILE", []string{"a.iasm", "-t", "2"}, nil, 2, "flags go before FILE: -t came after a.iasm"},
		{"a FILE named like a flag after --", []string{"--", "a.iasm", "-x"}, nil, 2, "expected at most one FILE, got 2: a.iasm -x"},
		{"a FILE named -", []string{"a.iasm", "-"}, nil, 2, "expected at most one FILE, got 2: a.iasm -"},
		{"a -- after the flag after FILE", []string{"a.iasm", "-v", "--"}, nil, 2, "flags go before FILE: -v came after a.iasm"},
		{"a -- as a flag's value", []string{"--cookie", "--", "a.iasm", "-o", "x"}, nil, 2, "flags go before FILE: -o came after a.iasm"},
		{"threads past the bound", []string{"-t", "1000000000"}, nil, 2, "--threads must be 1 to 4096, got 1000000000"},
		{"port past int", []string{"-P", "99999999999999999999"}, nil, 2, `invalid value "99999999999999999999" for -P/--server-bind-port: out of range`},
		{"port in hex", []string{"-P", "0x50"}, nil, 2, `invalid value "0x50" for -P/--server-bind-port: want a number`},
		{"empty file name", []string{""}, nil, 2, "FILE is empty"},
		{"output without file", []string{"-o", "x.iebc"}, nil, 2, "need a FILE"},
		{"bad log level", nil, []string{"IRIDIUM_LOG=loud"}, 2, "IRIDIUM_LOG"},
		{"cookie of white space", []string{"--cookie", " \t "}, nil, 2, "--cookie is empty or only white space: a cookie must have some text"},
		{"cookie empty", []string{"--cookie", ""}, []string{"IRIDIUM_COOKIE=secret"}, 2, "--cookie is empty or only white space"},
		{"cookie empty with a file", []string{"--cookie", "", "prog.iasm"}, nil, 2, "--cookie is empty or only white space"},
		{"IRIDIUM_COOKIE of white space", nil, []string{"IRIDIUM_COOKIE=\n  "}, 2, "IRIDIUM_COOKIE is empty or only white space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data-root-dir", t.TempDir()}, tc.args...)
			r := iridium(t, "", tc.env, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, tc.wantCode, r.stderr)
			}
			got := r.stderr
			if tc.wantCode == 0 {
				got = r.stdout
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, got)
			}
		})
	}
}

func TestScriptedREPL(t *testing.T) {
	data := t.TempDir()
	script := "load $0 #400\nload $1 #-7\nadd $0 $1 $2\n!registers\nfrob\n!symbols\n"
	r := iridium(t, script, nil, "--data-root-dir", data)
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr: %s", r.code, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	// Scripted input: no banner, no prompt, only what the commands print.
	if len(lines) != 33 || lines[32] != "" {
		t.Fatalf("want the 32 register lines and nothing else, got:\n%s", r.stdout)
	}
	for i, want := range map[int]string{0: "$0 = 400", 1: "$1 = -7", 2: "$2 = 393", 31: "$31 = 0"} {
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i, lines[i], want)
		}
	}
	// The error names the script's line (the 5th) and the column.
	if want := "error: 5:1: unknown mnemonic \"frob\"\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

func TestDataDirectory(t *testing.T) {
	data := filepath.Join(t.TempDir(), "new", "dir")
	if r := iridium(t, "", nil, "--data-root-dir", data); r.code != 0 {
		t.Fatalf("exit code %d; stderr: %s", r.code, r.stderr)
	}
	alias, err := os.ReadFile(filepath.Join(data, "alias"))
	if err != nil || len(strings.TrimSpace(string(alias))) != 36 {
		t.Fatalf("alias file: %q, %v; want a UUID", alias, err)
	}
	info, err := os.Stat(filepath.Join(data, "cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cookie file mode %#o, want 0600", info.Mode().Perm())
	}
	// The alias is kept across runs.
	iridium(t, "", nil, "--data-root-dir", data)
	again, _ := os.ReadFile(filepath.Join(data, "alias"))
	if !bytes.Equal(alias, again) {
		t.Errorf("alias changed from %q to %q", alias, again)
	}
	// A cookie file others can read is refused, as ssh refuses such keys.
	os.Chmod(filepath.Join(data, "cookie"), 0o644)
	r := iridium(t, "", nil, "--data-root-dir", data)
	if r.code != 1 || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("world-readable cookie: code %d, stderr %q", r.code, r.stderr)
	}
}

// The examples in the README do what it says they do.
func TestExamples(t *testing.T) {
	root := filepath.Join("..", "..", "examples")
	for _, tc := range []struct{ file, stdout string }{
		{"hello.iasm", "Hello, world!\n"},
		{"fib.iasm", "6765\n"},
		{"count.iasm", "31\n"},
		{"call.iasm", "500\n"},
		{"pingpong.iasm", "10 round trips\npong ended with status 0\n"},
		{"split.iasm", "sum of squares 1..1000 = 333833500\n"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := iridium(t, "", nil, filepath.Join(root, tc.file))
			if r.code != 0 || r.stdout != tc.stdout || r.stderr != "" {
				t.Errorf("code %d, stdout %q (want %q), stderr %q", r.code, r.stdout, tc.stdout, r.stderr)
			}
		})
	}
	// The worked examples leave their results in registers.
	script := "!load_file " + filepath.Join(root, "count.iasm") + "\n!registers\n" +
		"!load_file " + filepath.Join(root, "call.iasm") + "\n!registers\n"
	r := iridium(t, script, nil, "--data-root-dir", t.TempDir())
	if !strings.Contains(r.stdout, "$1 = 31\n") || !strings.Contains(r.stdout, "$0 = 500\n") {
		t.Errorf("registers after the worked examples:\n%s\nstderr: %s", r.stdout, r.stderr)
	}
}

// TestFileRunInterrupted: SIGINT or SIGTERM stops a running program; the
// run exits with status 1, says it was interrupted and keeps the output
// printed so far. The test first waits until the process has used some
// CPU time, so that the signal comes while the program spins.
func TestFileRunInterrupted(t *testing.T) {
	src := writeFile(t, "spin.iasm", `.data
msg: .asciiz 'before\n'
.code
    prts @msg
spin: djmp @spin
`)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, src)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for cpuTime(t, cmd.Process.Pid) < 200*time.Millisecond {
				if ctx.Err() != nil {
					t.Fatal("the program never got going")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitFault {
				t.Fatalf("after %v: %v (stderr %q), want exit status %d", sig, err, stderr.String(), exitFault)
			}
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr %q does not say the run was interrupted", stderr.String())
			}
			if stdout.String() != "before\n" {
				t.Errorf("stdout %q, want the output printed before the signal", stdout.String())
			}
		})
	}
}

// A FILE whose read waits (a pipe nobody writes to) is given up on the
// first SIGINT, as a run is.
func TestFileReadInterrupted(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pipe, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "/dev/stdin")
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stderr = r, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// Reading: it opened /dev/stdin, a descriptor of its own on the pipe.
	reading := func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid))
		for _, fd := range fds {
			n, _ := strconv.Atoi(fd.Name())
			link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", cmd.Process.Pid, fd.Name()))
			if n > 2 && link == pipe {
				return true
			}
		}
		return false
	}
	for !reading() {
		if ctx.Err() != nil {
			t.Fatal("iridium never opened /dev/stdin")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) || exit.ExitCode() != exitFault || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("after SIGINT: %v, stderr %q; want status %d and \"interrupted\"", err, stderr.String(), exitFault)
	}
}

// cpuTime is the user plus system CPU time process pid has used so far,
// from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) may hold spaces; count from after it.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestOutputThatCannotBeWritten: output lost to a full disk fails the run
// with one line on stderr and status 1, whether the buffer filled while
// the program ran or was written out at its end; so does a REPL script
// whose commands' output cannot be written (it goes on to its end).
func TestOutputThatCannotBeWritten(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("this test needs Linux's /dev/full: %v", err)
	}
	defer full.Close()
	tests := []struct{ name, src, script string }{
		{"written at the end", helloSrc, ""},
		{"written while running", "load $0 #0\nloop: prti $0\ninc $0\ndjmp @loop\n", ""},
		{"a REPL script's command output", "", "load $1 #7\n!registers\n!history\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, writeFile(t, "out.iasm", tc.src))
			if tc.script != "" {
				cmd = exec.CommandContext(ctx, binary)
				cmd.Stdin = strings.NewReader(tc.script)
			}
			cmd.Env = []string{"HOME=" + t.TempDir()}
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = full, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("run: %v, want exit status 1; stderr %q", err, stderr.String())
			}
			line, rest, _ := strings.Cut(stderr.String(), "\n")
			if !strings.Contains(line, "writing the output failed") || !strings.Contains(line, "no space left on device") || rest != "" {
				t.Errorf("stderr %q, want one line saying the output could not be written", stderr.String())
			}
		})
	}
}
