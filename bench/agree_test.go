package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/internal/testutil"
)

// TestWorkloadsAgreeWithLua runs every workload on the iridium binary and
// its twin on lua5.4, and wants the same output, byte for byte. It is the
// check compare.sh makes before it times anything, made on every test run:
// the workloads are twenty-nine real programs that exercise most of the
// dispatch loop's superinstructions, and Lua computes their answers
// independently of the VM.
func TestWorkloadsAgreeWithLua(t *testing.T) {
	lua, err := exec.LookPath("lua5.4")
	if err != nil {
		testutil.Missing(t, "lua5.4 is not installed (apt-get install lua5.4; .ci/run installs it)")
	}
	files, _ := filepath.Glob("*.iasm")
	twins, _ := filepath.Glob("*.lua")
	if len(files) < 29 || !slices.Equal(names(files), names(twins)) {
		t.Fatalf("want twenty-nine or more programs, each with its twin: %v and %v", files, twins)
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

// names are the file names without their extensions.
func names(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = strings.TrimSuffix(f, filepath.Ext(f))
	}
	return out
}

// buildIridium builds the command as the bench scripts do (no race
// detector: the workloads run for seconds) and returns the binary's path.
func buildIridium(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iridium")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/iridium")
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
