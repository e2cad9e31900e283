package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkClusterConverge forms N-node clusters in one process: every node
// but the first joins at the same moment, through node i/2 (which may itself
// still be joining), and the clock stops when every node lists every other.
func BenchmarkClusterConverge(b *testing.B) {
	for _, n := range []int{10, 30, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				nodes := make([]*Manager, n)
				addrs := make([]string, n)
				for i := range nodes {
					cfg := DefaultLocalConfig()
					cfg.Alias = fmt.Sprintf("node%03d", i)
					cfg.Cookie = testCookie
					cfg.HandshakeTimeout = 10 * time.Second
					cfg.HeartbeatInterval = time.Second
					cfg.HeartbeatTimeout = 15 * time.Second
					m, err := New(cfg)
					if err != nil {
						b.Fatal(err)
					}
					a, err := m.Start()
					if err != nil {
						b.Fatal(err)
					}
					nodes[i], addrs[i] = m, a.String()
				}
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for i := 1; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						if err := nodes[i].Join(ctx, addrs[i/2]); err != nil {
							b.Errorf("%s joins %s: %v", nodes[i].Alias(), nodes[i/2].Alias(), err)
						}
					}()
				}
				wg.Wait()
				eventually(b, time.Minute, func() bool {
					for _, m := range nodes {
						if len(m.MemberAliases()) != n {
							return false
						}
					}
					return true
				}, describe(nodes))
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/cluster")
				b.StopTimer()
				var sw sync.WaitGroup
				for _, m := range nodes {
					sw.Add(1)
					go func() { defer sw.Done(); m.Shutdown() }()
				}
				sw.Wait()
				b.StartTimer()
			}
		})
	}
}
