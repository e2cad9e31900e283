package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// idleProfile names a file for the CPU profile of BenchmarkIdleMesh's idle
// windows alone (-cpuprofile would mix in the mesh's formation).
var (
	idleProfile = flag.String("idleprofile", "", "write the CPU profile of the idle windows of BenchmarkIdleMesh to `file`")
	idleHeap    = flag.String("idleheap", "", "write the heap profile of BenchmarkIdleMesh's formed mesh to `file`")
)

// meshSizes are the cluster sizes of the mesh benchmarks.
var meshSizes = []int{10, 30, 100, 200}

// benchTransport picks how n nodes in this process connect: loopback TCP
// when the process may open the descriptors a full mesh needs (two per
// connection, one per listener), else an in-memory network (memnet_test.go),
// which leaves the kernel out of the figures.
func benchTransport(n int) (name string, mn *memNet) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if need := uint64(n*(n-1) + n + 256); lim.Cur >= need {
		return "tcp", nil
	}
	return "pipe", newMemNet()
}

// benchMesh starts n nodes configured by cfg (alias and cookie set here),
// listening on mn or on loopback TCP when mn is nil; onDrop, if set, hears
// of every member any node drops.
func benchMesh(b *testing.B, n int, mn *memNet, cfg func() Config, onDrop func(alias, reason string)) []*Manager {
	b.Helper()
	nodes := make([]*Manager, n)
	for i := range nodes {
		c := cfg()
		c.Alias = fmt.Sprintf("node%03d", i)
		c.Cookie = testCookie
		m, err := New(c)
		if err != nil {
			b.Fatal(err)
		}
		if mn != nil {
			mn.use(m)
		}
		m.onDrop = onDrop
		if _, err := m.Start(); err != nil {
			b.Fatal(err)
		}
		nodes[i] = m
	}
	return nodes
}

// joinMesh joins every node but the first at the same moment, node i
// through node i/2 (which may itself still be joining), and waits until
// every node lists every other. Like a daemon, a node whose contact did
// not answer in time tries again, and one that got in leaves the members
// that did not answer in time to its redials.
func joinMesh(b *testing.B, nodes []*Manager, timeout time.Duration) {
	b.Helper()
	var wg sync.WaitGroup
	for i := 1; i < len(nodes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			for {
				err := nodes[i].Join(ctx, addrOf(b, nodes[i/2]))
				var je *JoinError
				if err == nil || !errors.As(err, &je) {
					return
				}
				if !IsTemporary(err) || ctx.Err() != nil {
					b.Errorf("%s joins %s: %v", nodes[i].Alias(), nodes[i/2].Alias(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := len(nodes)
	eventually(b, timeout, func() bool {
		for _, m := range nodes {
			if len(m.MemberAliases()) != n {
				return false
			}
		}
		return true
	}, func() string {
		short := 0
		for _, m := range nodes {
			if len(m.MemberAliases()) != n {
				short++
			}
		}
		return fmt.Sprintf("%d of %d nodes do not list all %d", short, n, n)
	})
}

func shutdownAll(nodes []*Manager) {
	var wg sync.WaitGroup
	for _, m := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); m.Shutdown() }()
	}
	wg.Wait()
}

// BenchmarkClusterConverge forms N-node clusters in one process: every node
// but the first joins at the same moment, through node i/2 (which may itself
// still be joining), and the clock stops when every node lists every other.
func BenchmarkClusterConverge(b *testing.B) {
	for _, n := range meshSizes {
		transport, mn := benchTransport(n)
		b.Run(fmt.Sprintf("N=%d/%s", n, transport), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				nodes := benchMesh(b, n, mn, func() Config {
					cfg := DefaultLocalConfig()
					cfg.HandshakeTimeout = 10 * time.Second
					cfg.HeartbeatInterval = time.Second
					cfg.HeartbeatTimeout = 15 * time.Second
					return cfg
				}, nil)
				b.StartTimer()
				start := time.Now()
				joinMesh(b, nodes, time.Minute)
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/cluster")
				b.StopTimer()
				shutdownAll(nodes)
				b.StartTimer()
			}
		})
	}
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pingsSent is how many Pings the nodes sent so far, over their current
// connections.
func pingsSent(nodes []*Manager) uint64 {
	var n uint64
	for _, m := range nodes {
		m.mu.Lock()
		if m.sess != nil {
			for _, p := range m.sess.members.peers(nil) {
				n += p.pings.Load()
			}
		}
		m.mu.Unlock()
	}
	return n
}

// BenchmarkIdleMesh measures what an idle full mesh of N nodes with the
// default timings (heartbeat 500 ms, timeout 2.5 s) costs once formed: the
// CPU of all N nodes in percent of one core, the allocations per second,
// the heap and stacks per node, the Pings sent per second (each draws a
// Pong), and the members dropped while idle (a live cluster must drop
// none). Each op is idleWindow of idleness.
func BenchmarkIdleMesh(b *testing.B) {
	const idleWindow = 5 * time.Second
	for _, n := range meshSizes {
		transport, mn := benchTransport(n)
		b.Run(fmt.Sprintf("N=%d/%s", n, transport), func(b *testing.B) {
			var drops atomic.Int64
			nodes := benchMesh(b, n, mn, func() Config {
				cfg := DefaultConfig()
				cfg.Port = 0
				return cfg
			}, func(string, string) { drops.Add(1) })
			defer shutdownAll(nodes)
			joinMesh(b, nodes, 2*time.Minute)
			// Let the joins' aftermath (gossip rounds, late dials) pass.
			time.Sleep(2 * DefaultGossipInterval)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			perNode := float64(ms.HeapInuse+ms.StackInuse) / float64(n) / 1024
			if *idleHeap != "" {
				f, err := os.Create(*idleHeap)
				if err != nil {
					b.Fatal(err)
				}
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			drops.Store(0)
			if *idleProfile != "" {
				f, err := os.Create(*idleProfile)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					b.Fatal(err)
				}
				defer pprof.StopCPUProfile()
			}
			b.ResetTimer()
			var cpu time.Duration
			var allocs, bytes uint64
			var idle time.Duration
			pings := pingsSent(nodes)
			for b.Loop() {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				c0, t0 := cpuTime(), time.Now()
				time.Sleep(idleWindow)
				c1, t1 := cpuTime(), time.Now()
				runtime.ReadMemStats(&m1)
				cpu += c1 - c0
				idle += t1.Sub(t0)
				allocs += m1.Mallocs - m0.Mallocs
				bytes += m1.TotalAlloc - m0.TotalAlloc
			}
			b.ReportMetric(100*cpu.Seconds()/idle.Seconds(), "%core")
			b.ReportMetric(float64(pingsSent(nodes)-pings)/idle.Seconds(), "pings/s")
			b.ReportMetric(float64(allocs)/idle.Seconds(), "allocs/s")
			b.ReportMetric(float64(bytes)/idle.Seconds(), "B/s")
			b.ReportMetric(float64(drops.Load()), "drops")
			b.ReportMetric(perNode, "KiB/node")
			if d := drops.Load(); d != 0 {
				b.Errorf("%d members dropped in an idle cluster", d)
			}
		})
	}
}
