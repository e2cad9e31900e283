package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/proc"
	"github.com/iridium-go/iridium/repl"
	"github.com/iridium-go/iridium/vm"
)

// A client that stops reading stops only what prints to it. With one
// worker, a session's SPAWNed child prints to its client for ever and the
// client reads nothing after the first bytes; another client's program,
// whose child needs that worker, still runs and ends. The child used to
// wait in its write on the worker, and the other program waited for good.
func TestSilentClientHoldsNoWorker(t *testing.T) {
	procs, err := proc.New(proc.Config{Alias: "test", Threads: 1, VMConfig: vm.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(procs.Close)
	cfg := testConfig(t)
	cfg.REPL = repl.Config{Procs: procs}
	s := listen(t, cfg)
	dir := t.TempDir()
	program := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// 64 KiB a print: the client's SSH window (2 MiB) is full after 32,
	// long before the child's slice of the worker ends.
	printer := program("printer.iasm", `
.data
line: .asciiz '`+strings.Repeat("x", 64<<10-1)+`\n'
.code
	load $0 #0
	load $2 @child
	spawn $0 $2 $3
	hlt
child:
	prts @line
	djmp @child
`)
	other := program("other.iasm", `
.data
ok: .asciiz 'ok\n'
.code
	load $0 #0
	load $2 @child
	spawn $0 $2 $3
	recv $4 $5
	hlt
child:
	prts @ok
	hlt
`)

	silent, err := loggedInClient(t, s).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	stdin, err := silent.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := silent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := silent.Shell(); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("!load_file " + printer + "\n")); err != nil {
		t.Fatal(err)
	}
	// The child prints: read its first bytes, then nothing more.
	first := &testutil.Buffer{}
	go func() {
		buf := make([]byte, 64)
		n, _ := stdout.Read(buf)
		first.Write(buf[:n])
	}()
	testutil.WaitFor(t, first, "xxx", bound)

	out, _ := runScript(t, loggedInClient(t, s), "!load_file "+other+"\n")
	if !strings.Contains(out, "ok\n") {
		t.Errorf("the other session printed %q, want its child's ok", out)
	}
}
