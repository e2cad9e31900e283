package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWorkloadsAgreeWithLua runs every workload on the iridium binary and
// its twin on lua5.4, and wants the same output, byte for byte. It is the
// check compare.sh makes before it times anything, made on every test run:
// the workloads are sixteen real programs that exercise most of the
// dispatch loop's superinstructions, and Lua computes their answers
// independently of the VM.
func TestWorkloadsAgreeWithLua(t *testing.T) {
	lua, err := exec.LookPath("lua5.4")
	if err != nil {
		missing(t, "lua5.4 is not installed (apt-get install lua5.4; .ci/run installs it)")
	}
	files, err := filepath.Glob("*.iasm")
	if err != nil || len(files) < 16 {
		t.Fatalf("want the sixteen workloads, found %d (%v)", len(files), err)
	}
	iridium := buildIridium(t)
	for _, f := range files {
		name := strings.TrimSuffix(f, ".iasm")
		t.Run(name, func(t *testing.T) {
			want := output(t, lua, name+".lua")
			if got := output(t, iridium, f); got != want {
				t.Errorf("iridium %s printed\n%s\nlua5.4 %s.lua printed\n%s", f, clip(got), name, clip(want))
			}
		})
	}
}

// buildIridium builds the command as a user does (no race detector: the
// workloads run for seconds) and returns the binary's path.
func buildIridium(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iridium")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/iridium")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// output runs prog with arg in this directory, bounded by a minute, and
// returns its standard output; a failed run fails the test.
func output(t *testing.T, prog, arg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, arg)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), arg, err, stderr.String())
	}
	return stdout.String()
}

// clip shortens print's four million lines for a failure message.
func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

// missing fails the test in CI (CI set), which installs what the tests
// need, and skips it, loudly, elsewhere.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip("SKIPPED LOUDLY: " + why)
}
