package bench

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFollow runs follow.awk, cluster.sh's reader of `tail -F` over the
// nodes' logs, on streams as tail writes them: it must find the first
// stamp with which every log listed the count, also when tail cut that
// line in two to switch files.
func TestFollow(t *testing.T) {
	const (
		s1 = "2026-11-30T16:01:34.100000000Z"
		s2 = "2026-11-30T16:01:35.000000000Z"
		s3 = "2026-11-30T16:01:36.500000000Z"
	)
	tests := []struct {
		name   string
		want   string // "2" or "3" logs
		stream string
		out    string
	}{
		{"whole lines", "2",
			"==> n1.log <==\n" + s1 + " members 1\n  n1 x (self)\n" + s2 + " members 2\n  n1 x (self)\n  n2 y\n" +
				"\n==> n2.log <==\n" + s1 + " members 2\n  n1 x\n  n2 y (self)\n",
			s2},
		{"the first time counts, not the last", "2",
			"==> n1.log <==\n" + s1 + " members 2\n  a\n" + s3 + " members 2\n  a\n" +
				"\n==> n2.log <==\n" + s2 + " members 2\n  a\n",
			s2},
		{"a line cut by a switch of files", "2",
			"==> n1.log <==\n" + s3 + " memb" +
				"\n==> n2.log <==\n" + s1 + " members 2\n  a\n" +
				"\n==> n1.log <==\ners 2\n  a\n",
			s3},
		{"a cut piece that reads as another count", "2",
			"==> n1.log <==\n" + s1 + " members 2" +
				"\n==> n2.log <==\n" + s2 + " members 2\n  a\n" +
				"\n==> n1.log <==\n0\n  a\n",
			""},
		{"a log that never lists the count", "3",
			"==> n1.log <==\n" + s1 + " members 2\n  a\n" +
				"\n==> n2.log <==\n" + s2 + " members 2\n  a\n" +
				"\n==> n3.log <==\n" + s3 + " members 1\n  a\n",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("awk", "-v", "want="+tt.want, "-v", "suffix= members 2", "-f", "follow.awk")
			cmd.Stdin = strings.NewReader(tt.stream)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("awk: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != tt.out {
				t.Errorf("got %q, want %q", got, tt.out)
			}
		})
	}
}
