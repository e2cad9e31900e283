package cluster

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

func BenchmarkZZDebugConverge(b *testing.B) {
	f, _ := os.Create("/tmp/conv.log")
	defer f.Close()
	lg := slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for b.Loop() {
		nodes := benchMesh(b, 100, nil, func() Config {
			cfg := DefaultConfig()
			cfg.Port = 0
			cfg.Logger = lg
			return cfg
		}, nil)
		start := time.Now()
		joinFirst(b, nodes, time.Minute)
		b.Logf("converged in %v", time.Since(start))
		shutdownAll(nodes)
	}
}

func joinFirst(b *testing.B, nodes []*Manager, timeout time.Duration) {
	var wg sync.WaitGroup
	for i := 1; i < len(nodes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := nodes[i].Join(ctx, addrOf(b, nodes[0])); err != nil {
				b.Errorf("%s joins: %v", nodes[i].Alias(), err)
			}
		}()
	}
	wg.Wait()
	eventually(b, timeout, func() bool {
		for _, m := range nodes {
			if len(m.MemberAliases()) != len(nodes) {
				return false
			}
		}
		return true
	}, func() string { return "" })
}
