package proc

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"testing"
)

// fakeCluster joins Nodes in one process as package dist joins them over
// the network: every call is carried at once, in order, and a Spawn whose
// program the other node may not hold is sent with the hash alone first,
// as the cluster does. cut makes a pair lose each other.
type fakeCluster struct {
	mu    sync.Mutex
	nodes map[string]*Node
	cut   map[[2]string]bool
	sent  map[[2]string]map[[32]byte]bool // programs each node sent each other
	calls map[string]int                  // Remote calls by method, for tests
	// busyOutputs is how many Output calls to refuse next, as a
	// connection whose queue is full does.
	busyOutputs int
	// held, if not nil, holds every Spawn's answer until it is closed, as
	// a slow member does.
	held chan struct{}
	// refused names the Remote calls that fail, as over a connection
	// that has just gone and is not yet reported lost.
	refused map[string]bool
}

func newFakeCluster(t testing.TB, cfg Config, aliases ...string) *fakeCluster {
	t.Helper()
	c := &fakeCluster{nodes: map[string]*Node{}, cut: map[[2]string]bool{}, sent: map[[2]string]map[[32]byte]bool{}, calls: map[string]int{}}
	for _, a := range aliases {
		nc := cfg
		nc.Alias = a
		n, err := New(nc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		n.SetRemote(&fakeRemote{c: c, self: a})
		c.nodes[a] = n
	}
	return c
}

// link returns the node alias reaches from self, or nil when cut.
func (c *fakeCluster) link(self, alias, call string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[call]++
	if c.cut[[2]string{self, alias}] || c.refused[call] {
		return nil
	}
	return c.nodes[alias]
}

// lose cuts a and b apart; each learns the other is lost.
func (c *fakeCluster) lose(a, b string) {
	c.mu.Lock()
	c.cut[[2]string{a, b}], c.cut[[2]string{b, a}] = true, true
	na, nb := c.nodes[a], c.nodes[b]
	c.mu.Unlock()
	na.MemberLost(b, false)
	nb.MemberLost(a, false)
}

func (c *fakeCluster) count(call string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[call]
}

type fakeRemote struct {
	c    *fakeCluster
	self string
}

func (r *fakeRemote) Members() []string {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	var out []string
	for a := range r.c.nodes {
		if a != r.self && !r.c.cut[[2]string{r.self, a}] {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

func (r *fakeRemote) Spawn(alias string, o *SpawnOrder, done func(int32, error)) {
	r.c.mu.Lock()
	held := r.c.held
	r.c.mu.Unlock()
	if held != nil {
		go func() { // ends when the test closes held
			<-held
			r.spawn(alias, o, done)
		}()
		return
	}
	r.spawn(alias, o, done)
}

func (r *fakeRemote) spawn(alias string, o *SpawnOrder, done func(int32, error)) {
	n := r.c.link(r.self, alias, "Spawn")
	if n == nil {
		done(0, ErrLost)
		return
	}
	if sha256.Sum256(o.Image) != o.Hash {
		panic("the image is not the one its hash names")
	}
	r.c.mu.Lock()
	pair := [2]string{r.self, alias}
	if r.c.sent[pair] == nil {
		r.c.sent[pair] = map[[32]byte]bool{}
	}
	sent := r.c.sent[pair][o.Hash]
	r.c.sent[pair][o.Hash] = true
	r.c.mu.Unlock()
	cp := *o
	if sent {
		cp.Image = nil
	}
	pid, start, err := n.RemoteSpawn(r.self, &cp)
	if err == ErrUnknownProgram {
		cp.Image = o.Image
		pid, start, err = n.RemoteSpawn(r.self, &cp)
	}
	done(pid, err)
	if start != nil {
		start()
	}
}

func (r *fakeRemote) Send(alias string, from, to, value int32) bool {
	n := r.c.link(r.self, alias, "Send")
	if n != nil {
		n.RemoteSend(r.self, from, to, value)
	}
	return n != nil
}

func (r *fakeRemote) Exit(alias string, e *ExitNotice) bool {
	n := r.c.link(r.self, alias, "Exit")
	if n != nil {
		n.RemoteExit(r.self, e)
	}
	return n != nil
}

func (r *fakeRemote) Monitor(alias string, watcher, target int32) bool {
	n := r.c.link(r.self, alias, "Monitor")
	if n != nil {
		n.RemoteMonitor(r.self, watcher, target)
	}
	return n != nil
}

func (r *fakeRemote) Output(alias string, sink, from int32, data []byte) bool {
	r.c.mu.Lock()
	busy := r.c.busyOutputs > 0
	if busy {
		r.c.busyOutputs--
	}
	r.c.mu.Unlock()
	if busy {
		return false
	}
	n := r.c.link(r.self, alias, "Output")
	if n != nil {
		n.RemoteOutput(r.self, sink, from, slices.Clone(data))
	}
	return n != nil
}

func (r *fakeRemote) Kill(_ context.Context, alias string, pid int32) (bool, error) {
	n := r.c.link(r.self, alias, "Kill")
	if n == nil {
		return false, ErrLost
	}
	return n.RemoteKill(pid), nil
}

func (r *fakeRemote) Processes(_ context.Context, alias string) ([]Info, error) {
	n := r.c.link(r.self, alias, "Processes")
	if n == nil {
		return nil, ErrLost
	}
	return n.Processes(), nil
}

var _ Remote = (*fakeRemote)(nil)
