// Package bench holds the workloads that bench/compare.sh runs against Lua,
// and Go benchmarks of the same programs in one process, without process
// start-up, for benchstat comparisons of the VM:
//
//	go test -run '^$' -bench Workload -count 8 ./bench/ > new.txt
package bench

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/vm"
)

// BenchmarkWorkload runs each bench/*.iasm program to its end and reports
// the time per executed instruction and the allocations per run (the VM's
// own: its stack and heap are reused from run to run).
func BenchmarkWorkload(b *testing.B) {
	files, err := filepath.Glob("*.iasm")
	if err != nil || len(files) == 0 {
		b.Fatalf("no workloads: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		p, err := assembler.Assemble(string(src))
		if err != nil {
			b.Fatalf("%s: %v", f, err)
		}
		b.Run(strings.TrimSuffix(f, ".iasm"), func(b *testing.B) {
			m, err := vm.New(vm.Config{Output: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			var steps int64
			for b.Loop() {
				if err := m.Load(p); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Run(); err != nil {
					b.Fatal(err)
				}
				steps += m.Steps()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/inst")
		})
	}
}
