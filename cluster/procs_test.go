package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// recHandler is a ProcessHandler that records what other members sent.
type recHandler struct {
	mu       sync.Mutex
	sends    [][4]int32 // from's index in aliases... (unused), fromPID, to, value
	exits    []ExitNotice
	monitors [][2]int32
	output   bytes.Buffer
	spawns   []SpawnRequest
	lost     []string
	programs map[[32]byte]bool // programs held, as a cache would
	refuse   error             // every spawn's answer, if set
	lastPID  int32
	procs    int // how many processes Processes lists

	delivered atomic.Int64
	sendDelay atomic.Int64 // nanoseconds: a slow receiver, every 256th Send takes this long
}

func (h *recHandler) Spawn(from string, req *SpawnRequest) (int32, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cp := *req
	cp.Program = slices.Clone(req.Program)
	h.spawns = append(h.spawns, cp)
	if h.refuse != nil {
		return 0, nil, h.refuse
	}
	if h.programs == nil {
		h.programs = map[[32]byte]bool{}
	}
	if req.Program != nil {
		if sha256.Sum256(req.Program) != req.Hash {
			return 0, nil, ErrBadProgram
		}
		h.programs[req.Hash] = true
	} else if !h.programs[req.Hash] {
		return 0, nil, ErrUnknownProgram
	}
	h.lastPID++
	return h.lastPID, func() {}, nil
}

func (h *recHandler) Send(from string, fromPID, to, value int32) {
	if d := h.sendDelay.Load(); d > 0 && h.delivered.Load()%256 == 0 {
		time.Sleep(time.Duration(d))
	}
	h.delivered.Add(1)
	h.mu.Lock()
	if len(h.sends) < 1000 {
		h.sends = append(h.sends, [4]int32{0, fromPID, to, value})
	}
	h.mu.Unlock()
}

func (h *recHandler) Exit(from string, e *ExitNotice) {
	h.mu.Lock()
	h.exits = append(h.exits, *e)
	h.mu.Unlock()
}

func (h *recHandler) Monitor(from string, watcher, target int32) {
	h.mu.Lock()
	h.monitors = append(h.monitors, [2]int32{watcher, target})
	h.mu.Unlock()
}

func (h *recHandler) Kill(pid int32) bool { return pid == 7 }

func (h *recHandler) Processes() []ProcessInfo {
	out := make([]ProcessInfo, h.procs)
	for i := range out {
		out[i] = ProcessInfo{PID: int32(i + 1), State: 2, Name: "p\xff", Mailbox: i}
	}
	return out
}

func (h *recHandler) Output(from string, sink, fromPID int32, data []byte) {
	h.mu.Lock()
	h.output.Write(data)
	h.mu.Unlock()
}

func (h *recHandler) MemberLost(alias string, left bool) {
	if left {
		alias += " (this node left)"
	}
	h.mu.Lock()
	h.lost = append(h.lost, alias)
	h.mu.Unlock()
}

func (h *recHandler) snapshot() recHandler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return recHandler{sends: slices.Clone(h.sends), exits: slices.Clone(h.exits), monitors: slices.Clone(h.monitors),
		spawns: slices.Clone(h.spawns), lost: slices.Clone(h.lost)}
}

func (h *recHandler) outputString() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.output.String()
}

// procPair is two connected members with recording handlers.
func procPair(t *testing.T, cfgA, cfgB Config) (a, b *Manager, ha, hb *recHandler, da, db *drops) {
	t.Helper()
	a, da = watchedNode(t, cfgA)
	b, db = watchedNode(t, cfgB)
	ha, hb = &recHandler{}, &recHandler{}
	a.SetProcessHandler(ha)
	b.SetProcessHandler(hb)
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	eventually(t, 5*time.Second, func() bool { return len(a.OtherMembers()) == 1 && len(b.OtherMembers()) == 1 },
		func() string { return "no routes" })
	return a, b, ha, hb, da, db
}

// spawnSync is Manager.Spawn waiting for its answer.
func spawnSync(t *testing.T, m *Manager, alias string, req *SpawnRequest) (int32, error) {
	t.Helper()
	type answer struct {
		pid int32
		err error
	}
	ch := make(chan answer, 1)
	m.Spawn(alias, req, func(pid int32, err error) { ch <- answer{pid, err} })
	select {
	case a := <-ch:
		return a.pid, a.err
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to a spawn")
	}
	return 0, nil
}

func program(n int) ([]byte, [32]byte) {
	b := bytes.Repeat([]byte{byte(n)}, 100+n)
	return b, sha256.Sum256(b)
}

// TestProcessFrames: every process frame gets to the other member's
// handler as sent, in order, and every request gets its answer.
func TestProcessFrames(t *testing.T) {
	a, _, _, hb, _, _ := procPair(t, testConfig(t, "a"), testConfig(t, "b"))
	if got := a.OtherMembers(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("a's other members: %v", got)
	}
	for i := range int32(500) {
		if !a.Send("b", 3, 4, i) {
			t.Fatal("Send to a member refused")
		}
	}
	a.Monitor("b", 3, 9)
	a.Output("b", 2, 3, []byte("hello "))
	a.Output("b", 2, 3, bytes.Repeat([]byte("x"), 100_000)) // several frames
	at := time.Unix(0, 1_700_000_000_123_456_789)
	a.Exit("b", &ExitNotice{From: 3, To: 4, Status: 1, Parent: true, Fault: "boom\xff",
		Events: []ExitEvent{{At: at, Kind: 1}, {At: at, Kind: 3, Code: 1, Fault: "boom"}}})
	eventually(t, 5*time.Second, func() bool { return len(hb.snapshot().exits) == 1 }, func() string { return "no exit notice" })
	s := hb.snapshot()
	for i, m := range s.sends {
		if m != [4]int32{0, 3, 4, int32(i)} {
			t.Fatalf("send %d arrived as %v", i, m)
		}
	}
	if len(s.sends) != 500 || !slices.Equal(s.monitors, [][2]int32{{3, 9}}) {
		t.Fatalf("%d sends, monitors %v", len(s.sends), s.monitors)
	}
	if out := hb.outputString(); !strings.HasPrefix(out, "hello x") || len(out) != 6+100_000 {
		t.Fatalf("output of %d bytes", len(out))
	}
	e := s.exits[0]
	if e.From != 3 || e.To != 4 || e.Status != 1 || !e.Parent || e.Fault != "boom\uFFFD" || len(e.Events) != 2 ||
		!e.Events[1].At.Equal(at) || e.Events[1].Kind != 3 || e.Events[1].Fault != "boom" {
		t.Fatalf("exit notice %+v", e)
	}
	if a.Send("nobody", 1, 2, 3) {
		t.Fatal("Send to no member")
	}

	ctx := context.Background()
	if found, err := a.KillProcess(ctx, "b", 7); !found || err != nil {
		t.Fatalf("kill 7: %v %v", found, err)
	}
	if found, err := a.KillProcess(ctx, "b", 8); found || err != nil {
		t.Fatalf("kill 8: %v %v", found, err)
	}
	hb.mu.Lock()
	hb.procs = 10_000 // three frames
	hb.mu.Unlock()
	list, err := a.ListProcesses(ctx, "b")
	if err != nil || len(list) != 10_000 || list[9_999].PID != 10_000 || list[5].Name != "p\uFFFD" || list[5].Mailbox != 5 {
		t.Fatalf("listing of %d, %v", len(list), err)
	}
	if _, err := a.ListProcesses(ctx, "nobody"); !errors.Is(err, ErrNoMember) {
		t.Fatalf("listing of no member: %v", err)
	}
}

// TestSmallOutputIsNotDropped: a process printing a number at a time
// (a PRTI per piece) faster than frames go out: the pieces behind one
// another join into frames, so nothing is dropped and all of it arrives
// in order.
func TestSmallOutputIsNotDropped(t *testing.T) {
	a, _, _, hb, _, _ := procPair(t, testConfig(t, "a"), testConfig(t, "b"))
	const pieces = 4 * procQueueItems
	var want bytes.Buffer
	for i := range pieces {
		piece := strconv.AppendInt(nil, int64(i), 10)
		piece = append(piece, '\n')
		want.Write(piece)
		if !a.Output("b", 2, 3, piece) {
			t.Fatalf("piece %d of %d dropped", i, pieces)
		}
	}
	eventually(t, 10*time.Second, func() bool { return len(hb.outputString()) >= want.Len() },
		func() string { return fmt.Sprintf("%d of %d bytes arrived", len(hb.outputString()), want.Len()) })
	if hb.outputString() != want.String() {
		t.Fatal("the output arrived out of order")
	}
	if got := a.DroppedProcessFrames("b"); got != 0 {
		t.Errorf("%d frames dropped", got)
	}
}

// TestSpawnCarriesTheProgramOnce: a program goes to a member once; later
// spawns carry its hash; a member that dropped it gets it again; refusals
// come back as errors; a program too large for one frame is refused here.
func TestSpawnCarriesTheProgramOnce(t *testing.T) {
	a, b, _, hb, _, _ := procPair(t, testConfig(t, "a"), testConfig(t, "b"))
	prog, hash := program(1)
	req := &SpawnRequest{Name: "p", Parent: 1, Hash: hash, Program: prog, Entry: 4, Regs: [32]int32{5: 6}, SinkNode: "a", Sink: 2}
	for i := range 3 {
		pid, err := spawnSync(t, a, "b", req)
		if err != nil || pid != int32(i+1) {
			t.Fatalf("spawn %d: pid %d, %v", i, pid, err)
		}
	}
	s := hb.snapshot()
	if len(s.spawns) != 3 || s.spawns[0].Program == nil || s.spawns[1].Program != nil || s.spawns[2].Program != nil ||
		s.spawns[2].Regs[5] != 6 || s.spawns[2].Entry != 4 || s.spawns[2].SinkNode != "a" {
		t.Fatalf("spawns %+v", s.spawns)
	}
	// b forgets it: the next spawn is answered "unknown", and sent again.
	hb.mu.Lock()
	clear(hb.programs)
	hb.mu.Unlock()
	if pid, err := spawnSync(t, a, "b", req); err != nil || pid != 4 {
		t.Fatalf("spawn after b forgot: %d, %v", pid, err)
	}
	if s := hb.snapshot(); len(s.spawns) != 5 || s.spawns[3].Program != nil || s.spawns[4].Program == nil {
		t.Fatalf("spawns %d", len(s.spawns))
	}

	// On a new connection to the same member the hash still goes alone:
	// the member kept the program.
	b.Leave()
	eventually(t, 5*time.Second, func() bool { return len(a.OtherMembers()) == 0 }, func() string { return "b still listed" })
	join(t, b, a)
	eventually(t, 5*time.Second, func() bool { return len(a.OtherMembers()) == 1 }, func() string { return "b not back" })
	if pid, err := spawnSync(t, a, "b", req); err != nil || pid != 5 {
		t.Fatalf("spawn after b came back: %d, %v", pid, err)
	}
	if s := hb.snapshot(); len(s.spawns) != 6 || s.spawns[5].Program != nil {
		t.Fatalf("the spawn on the new connection carried the program again")
	}

	for _, refusal := range []error{ErrSpawnRefused, ErrSpawnTooMany, ErrBadEntry, ErrSpawnClosing, ErrSpawnNoPIDs, ErrSpawnNoMemory} {
		hb.mu.Lock()
		hb.refuse = refusal
		hb.mu.Unlock()
		if _, err := spawnSync(t, a, "b", req); !errors.Is(err, refusal) {
			t.Errorf("refused with %v: got %v", refusal, err)
		}
	}
	// The most that fits is said, and fits; a byte more does not.
	most := DefaultMaxFrameSize - spawnFrameOverhead
	big := &SpawnRequest{Program: make([]byte, most+1)}
	want := fmt.Sprintf("the program is too large for one frame: %d bytes, at most %d fit (the frame limit is 1048576)", most+1, most)
	if _, err := spawnSync(t, a, "b", big); !errors.Is(err, ErrProgramTooLarge) || err.Error() != want {
		t.Errorf("a program a byte too large: %v", err)
	}
	hb.mu.Lock()
	hb.refuse = nil
	hb.mu.Unlock()
	big.Program, big.Hash = big.Program[:most], sha256.Sum256(big.Program[:most])
	if _, err := spawnSync(t, a, "b", big); err != nil {
		t.Errorf("a program of the most that fits: %v", err)
	}
	if _, err := spawnSync(t, a, "nobody", req); !errors.Is(err, ErrNoMember) {
		t.Errorf("spawn on no member: %v", err)
	}
}

// TestSpawnNobodyAnswers: a spawn on a member that takes it and never
// answers (a stuck or hostile one, here a raw connection that answers
// only Pings) fails after SpawnTimeout, and a process that member starts
// afterwards is killed: nobody waits for it.
func TestSpawnNobodyAnswers(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.SpawnTimeout = 300 * time.Millisecond
	a := newNode(t, cfg)
	a.SetProcessHandler(&recHandler{})
	r := established(t, a)
	prog, hash := program(1)
	answered := make(chan error, 1)
	start := time.Now()
	a.Spawn("raw", &SpawnRequest{Name: "p", Parent: 1, Hash: hash, Program: prog}, func(_ int32, err error) { answered <- err })
	var spawn *wire.Spawn
	for deadline := time.Now().Add(10 * time.Second); spawn == nil; {
		m, ok := r.nextAnswering(deadline)
		if !ok {
			t.Fatal("the Spawn never came")
		}
		spawn, _ = m.(*wire.Spawn)
	}
	select {
	case err := <-answered:
		if !errors.Is(err, ErrSpawnTimeout) || time.Since(start) < cfg.SpawnTimeout {
			t.Fatalf("after %v: %v, want ErrSpawnTimeout after %v", time.Since(start), err, cfg.SpawnTimeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a spawn nobody answers never failed")
	}
	r.write(&wire.SpawnAck{Ref: spawn.Ref, Code: wire.SpawnOK, PID: 42})
	for deadline := time.Now().Add(10 * time.Second); ; {
		m, ok := r.nextAnswering(deadline)
		if !ok {
			t.Fatal("the process started after its spawn timed out was not killed")
		}
		if k, ok := m.(*wire.Kill); ok {
			if k.PID != 42 {
				t.Fatalf("a killed pid %d, want 42", k.PID)
			}
			return
		}
	}
}

// TestSpawnDoneOnce: however a spawn fails, its done is called once,
// also when its time runs out while its frame finds the queue full (the
// spawner's goroutine and the timer's then race to fail it).
func TestSpawnDoneOnce(t *testing.T) {
	cfg := testConfig(t, "a")
	cfg.SpawnTimeout = time.Nanosecond
	a := newNode(t, cfg)
	a.SetProcessHandler(&recHandler{})
	r := established(t, a) // reads nothing: a's queue to it fills
	defer r.c.Close()
	for i := 0; a.Send("raw", 1, 2, 3); i++ {
		if i > 1<<22 {
			t.Fatal("the queue to a member that reads nothing never filled")
		}
	}
	const n = 20000
	var calls [n]atomic.Int32
	prog, hash := program(1)
	for i := range n {
		a.Spawn("raw", &SpawnRequest{Hash: hash, Program: prog}, func(int32, error) { calls[i].Add(1) })
	}
	eventually(t, 10*time.Second, func() bool {
		for i := range calls {
			if calls[i].Load() == 0 {
				return false
			}
		}
		return true
	}, func() string { return "a spawn was never answered" })
	a.Shutdown()
	for i := range calls {
		if c := calls[i].Load(); c != 1 {
			t.Fatalf("spawn %d: done called %d times", i, c)
		}
	}
}

// TestMemberLostIsTold: the handler hears of every member gone: one that
// leaves, one that dies, and all of them when this node leaves; what
// waited for an answer from it fails.
func TestMemberLostIsTold(t *testing.T) {
	a, b, ha, hb, _, _ := procPair(t, testConfig(t, "a"), testConfig(t, "b"))
	c := newNode(t, testConfig(t, "c"))
	hc := &recHandler{}
	c.SetProcessHandler(hc)
	join(t, c, a)
	waitMesh(t, []*Manager{a, b, c}, 5*time.Second)

	// A spawn waiting on a member that dies fails with ErrMemberLost: b
	// cannot answer (its handler is held) before it shuts down.
	hb.mu.Lock()
	answered := make(chan error, 1)
	prog, hash := program(2)
	a.Spawn("b", &SpawnRequest{Hash: hash, Program: prog}, func(_ int32, err error) { answered <- err })
	shut := make(chan struct{})
	go func() { b.Shutdown(); close(shut) }()
	select {
	case err := <-answered:
		if !errors.Is(err, ErrMemberLost) {
			t.Errorf("spawn on a member that died: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a spawn on a dead member never failed")
	}
	hb.mu.Unlock()
	<-shut
	eventually(t, 5*time.Second, func() bool { return slices.Contains(ha.snapshot().lost, "b") },
		func() string { return fmt.Sprint(ha.snapshot().lost) })

	c.Leave()
	eventually(t, 5*time.Second, func() bool { return slices.Contains(ha.snapshot().lost, "c") },
		func() string { return fmt.Sprint(ha.snapshot().lost) })
	if lost := hc.snapshot().lost; !slices.Contains(lost, "a (this node left)") {
		t.Fatalf("c left: it lost %v; want a, as this node left", lost)
	}
	if a.Send("c", 1, 2, 3) {
		t.Fatal("a message to a member that left was taken")
	}
}

// TestProcessFloodKeepsThePeer: a sender that outruns a slow receiver for
// several heartbeat timeouts loses messages (counted, with the member),
// not the connection, and its queue stays within its bound.
func TestProcessFloodKeepsThePeer(t *testing.T) {
	cfgA, cfgB := testConfig(t, "a"), testConfig(t, "b")
	a, _, _, hb, da, db := procPair(t, cfgA, cfgB)
	hb.sendDelay.Store(int64(time.Millisecond)) // under 256,000 messages a second
	p := a.route("b")
	stop := time.Now().Add(3 * cfgA.HeartbeatTimeout)
	var sent, refused, maxQueued int
	for time.Now().Before(stop) {
		for range 1000 {
			if !a.Send("b", 1, 2, 3) {
				refused++
			}
			sent++
		}
		p.procs.mu.Lock()
		maxQueued = max(maxQueued, len(p.procs.queue))
		p.procs.mu.Unlock()
		runtime.Gosched()
	}
	dropped := a.DroppedProcessFrames("b")
	t.Logf("sent %d (%d refused), delivered %d so far, dropped %d, most queued %d", sent, refused, hb.delivered.Load(), dropped, maxQueued)
	if dropped == 0 || maxQueued > procQueueItems {
		t.Fatalf("dropped %d, most queued %d (bound %d)", dropped, maxQueued, procQueueItems)
	}
	// The count is the member's, for those who list members.
	i := slices.IndexFunc(a.Members(), func(m Member) bool { return m.Alias == "b" })
	if m := a.Members()[i]; m.Dropped != dropped {
		t.Errorf("a lists b with Dropped %d, after %d dropped", m.Dropped, dropped)
	}
	if l := da.list(); len(l) > 0 {
		t.Fatalf("a dropped %v", l)
	}
	if l := db.list(); len(l) > 0 {
		t.Fatalf("b dropped %v", l)
	}
	if a.route("b") != p {
		t.Fatal("the connection was replaced")
	}
}

// TestProgramShippingKeepsHeartbeats: spawns of large programs, each new,
// as fast as they are taken, for several heartbeat timeouts: the members
// keep each other, and spawns past the byte bound are refused as busy.
func TestProgramShippingKeepsHeartbeats(t *testing.T) {
	cfgA, cfgB := testConfig(t, "a"), testConfig(t, "b")
	a, _, _, _, da, db := procPair(t, cfgA, cfgB)
	var ok, busy atomic.Int64
	stop := time.Now().Add(3 * cfgA.HeartbeatTimeout)
	big := make([]byte, 900_000)
	for i := 0; time.Now().Before(stop); i++ {
		prog := slices.Clone(big)
		copy(prog, fmt.Sprint(i))
		a.Spawn("b", &SpawnRequest{Hash: sha256.Sum256(prog), Program: prog}, func(_ int32, err error) {
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			}
		})
		if i%8 == 7 {
			time.Sleep(time.Millisecond)
		}
	}
	t.Logf("%d spawns answered, %d refused as busy", ok.Load(), busy.Load())
	if l := da.list(); len(l) > 0 {
		t.Fatalf("a dropped %v", l)
	}
	if l := db.list(); len(l) > 0 {
		t.Fatalf("b dropped %v", l)
	}
	if ok.Load() == 0 || busy.Load() == 0 {
		t.Fatalf("answered %d, busy %d", ok.Load(), busy.Load())
	}
}

// A member's answer to a listing is kept up to maxListedBytes of names:
// names of 1 KiB each would otherwise make a million entries a gigabyte.
func TestListingBoundedByBytes(t *testing.T) {
	var q peerProcs
	ch := make(chan callResult, 1)
	q.calls = map[uint64]*pendingCall{7: {ch: ch}}
	name := strings.Repeat("n", wire.MaxNameLen)
	part := make([]wire.ProcessInfo, wire.MaxProcesses)
	for i := range part {
		part[i] = wire.ProcessInfo{PID: int32(i + 1), Name: name}
	}
	parts := 2*maxListedBytes/(len(part)*len(name)) + 1
	for i := range parts {
		q.listed(&wire.Processes{Ref: 7, Procs: part, Done: i == parts-1})
	}
	got := <-ch
	names := 0
	for _, p := range got.procs {
		names += len(p.Name)
	}
	if names > maxListedBytes || names < maxListedBytes-len(name) {
		t.Errorf("kept %d bytes of names in %d entries; want at most %d, and no fewer than one name short of it",
			names, len(got.procs), maxListedBytes)
	}
}

// slowConn reads at about rate bytes a second: a slow link, as the
// receiving end sees it (the sender's kernel buffers what it sends).
type slowConn struct {
	net.Conn
	rate int
}

func (c *slowConn) Read(b []byte) (int, error) {
	b = b[:min(len(b), 4096)]
	n, err := c.Conn.Read(b)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(c.rate))
	return n, err
}

type slowListener struct {
	net.Listener
	rate int
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowConn{Conn: c, rate: l.rate}, nil
}

// TestLargeFrameOverASlowLink: a program that takes three heartbeat
// timeouts to cross the link arrives, and neither end drops the other: a
// frame still arriving is not silence. The reader used to give each frame
// what was left of one timeout, and dropped the sender in the middle of
// it for "heartbeat timeout", at every try.
func TestLargeFrameOverASlowLink(t *testing.T) {
	const rate = 100_000 // bytes a second
	cfg := testConfig(t, "a")
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	da := &drops{}
	a.onDrop = da.hook()
	a.listen = func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		return slowListener{ln, rate}, nil
	}
	t.Cleanup(func() { a.Shutdown() })
	if _, err := a.Start(); err != nil {
		t.Fatal(err)
	}
	b, db := watchedNode(t, testConfig(t, "b"))
	a.SetProcessHandler(&recHandler{})
	b.SetProcessHandler(&recHandler{})
	join(t, b, a) // b dials a: what b sends crosses the slow link
	prog := bytes.Repeat([]byte("slow"), int(3*cfg.HeartbeatTimeout.Seconds()*rate/4))
	start := time.Now()
	if _, err := spawnSync(t, b, "a", &SpawnRequest{Hash: sha256.Sum256(prog), Program: prog}); err != nil {
		t.Fatalf("spawn of %d bytes at %d B/s: %v (a dropped %v, b dropped %v)", len(prog), rate, err, da.list(), db.list())
	}
	if took := time.Since(start); took < 2*cfg.HeartbeatTimeout {
		t.Fatalf("the spawn took %v: the link is not slow enough to test anything", took)
	}
	if d := append(da.list(), db.list()...); len(d) > 0 {
		t.Errorf("drops: %v", d)
	}
}

// longNames lists n processes, all named name.
type longNames struct {
	*recHandler
	n    int
	name string
}

func (h longNames) Processes() []ProcessInfo {
	out := make([]ProcessInfo, h.n)
	for i := range out {
		out[i] = ProcessInfo{PID: int32(i + 1), State: 1, Name: h.name}
	}
	return out
}

// TestListingOfLongNames: 4096 processes whose program path is 311 bytes
// make about 1.4 MB of listing, more than one frame may carry: the
// answer comes in as many frames as it needs, and the connection stays.
// In one frame of wire.MaxProcesses entries, the writer failed and closed
// the connection, and the listing never came (helper-75).
func TestListingOfLongNames(t *testing.T) {
	a, da := watchedNode(t, testConfig(t, "a"))
	b, db := watchedNode(t, testConfig(t, "b"))
	path := "/home/user/" + strings.Repeat("deep/", 58) + "worker.iasm"
	a.SetProcessHandler(&recHandler{})
	b.SetProcessHandler(longNames{&recHandler{}, 4096, path})
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := a.ListProcesses(ctx, "b")
	if err != nil || len(list) != 4096 {
		t.Fatalf("ListProcesses = %d entries, %v; want 4096", len(list), err)
	}
	if list[4095].PID != 4096 || list[4095].Name != path {
		t.Errorf("last entry %+v", list[4095])
	}
	if d := append(da.list(), db.list()...); len(d) > 0 {
		t.Errorf("drops: %v", d)
	}
}

// TestSpawnRoomCountsTheCleanedName: the frame carries the program's name
// made valid UTF-8, where each invalid byte takes three: Spawn's check of
// the program's room counts that name, so a program it lets through fits
// the frame. Counting the name as given, a Spawn passed the check, then
// failed to encode, and the writer dropped the member (helper-75).
func TestSpawnRoomCountsTheCleanedName(t *testing.T) {
	a, da := watchedNode(t, testConfig(t, "a"))
	b, db := watchedNode(t, testConfig(t, "b"))
	a.SetProcessHandler(&recHandler{})
	b.SetProcessHandler(&recHandler{})
	join(t, b, a)
	waitMesh(t, []*Manager{a, b}, 5*time.Second)
	name := strings.Repeat("\xffa", 256) // 512 bytes; valid UTF-8: 1024
	for _, room := range []int{
		a.cfg.MaxFrameSize - len(name) - len("a") - spawnFrameOverhead, // room by the name as given
		a.cfg.MaxFrameSize - 2*len(name) - len("a") - spawnFrameOverhead,
	} {
		prog := make([]byte, room)
		req := &SpawnRequest{Name: name, Hash: sha256.Sum256(prog), Program: prog, SinkNode: "a",
			Parent: 1<<31 - 1, Entry: 1<<31 - 1, Sink: 1<<31 - 1, Report: true}
		for i := range req.Regs {
			req.Regs[i], req.FRegs[i] = -1<<31, 0.1
		}
		_, err := spawnSync(t, a, "b", req)
		if err != nil && !errors.Is(err, ErrProgramTooLarge) {
			t.Errorf("spawn of %d bytes: %v, want success or ErrProgramTooLarge", room, err)
		}
	}
	if d := append(da.list(), db.list()...); len(d) > 0 {
		t.Errorf("drops: %v", d)
	}
}

// TestOutputFitsASmallFrameLimit: output goes in chunks that fit the frame
// limit however small it is set; in chunks of wire.MaxOutputChunk, a
// frame over a 1 KiB limit closed the connection.
func TestOutputFitsASmallFrameLimit(t *testing.T) {
	ca, cb := testConfig(t, "a"), testConfig(t, "b")
	ca.MaxFrameSize, cb.MaxFrameSize = wire.MinMaxFrameSize, wire.MinMaxFrameSize
	a, _, _, hb, _, _ := procPair(t, ca, cb)
	data := bytes.Repeat([]byte("0123456789"), 10_000)
	for _, piece := range [][]byte{data[:10], data[10:50_000], data[50_000:]} {
		if !a.Output("b", 2, 3, piece) {
			t.Fatal("Output refused")
		}
	}
	eventually(t, 5*time.Second, func() bool { return len(hb.outputString()) == len(data) },
		func() string { return fmt.Sprintf("%d of %d bytes arrived", len(hb.outputString()), len(data)) })
	if hb.outputString() != string(data) {
		t.Fatal("the output arrived changed")
	}
	if !a.connected("b") {
		t.Fatal("a lost b")
	}
}

// TestProcessFramesFitTheLimit: an exit notice or a listing whose parts
// would make a frame over the limit is cut to fit (the fault, the oldest
// events, a name), and arrives; over the limit, the writer failed and
// dropped the member (helper-76).
func TestProcessFramesFitTheLimit(t *testing.T) {
	manyEvents := &ExitNotice{From: 1, To: 2, Status: 1, Parent: true}
	for i := range 1024 {
		manyEvents.Events = append(manyEvents.Events, ExitEvent{At: time.Unix(int64(i), 0), Kind: 3, Code: 1, Fault: strings.Repeat("f", 1100)})
	}
	for _, tc := range []struct {
		name  string
		limit int
		exit  *ExitNotice
		procs longNames
	}{
		{"exit with a long fault, 1 KiB frames", wire.MinMaxFrameSize, &ExitNotice{From: 1, To: 2, Status: 1, Fault: strings.Repeat("x", 1500)}, longNames{}},
		{"exit with 1024 events of long faults, 1 MiB frames", DefaultMaxFrameSize, manyEvents, longNames{}},
		{"listing of long names, 1 KiB frames", wire.MinMaxFrameSize, nil, longNames{&recHandler{}, 3, strings.Repeat("n", 1000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := testConfig(t, "a"), testConfig(t, "b")
			ca.MaxFrameSize, cb.MaxFrameSize = tc.limit, tc.limit
			a, b, _, hb, da, db := procPair(t, ca, cb)
			if tc.exit != nil {
				a.Exit("b", tc.exit)
				eventually(t, 5*time.Second, func() bool { return len(hb.snapshot().exits) == 1 }, func() string { return "no exit notice" })
				got := hb.snapshot().exits[0]
				if !strings.HasPrefix(tc.exit.Fault, got.Fault) || (tc.exit.Fault != "" && got.Fault == "") {
					t.Errorf("fault %q", got.Fault)
				}
				if n := len(got.Events); n > 0 && !got.Events[n-1].At.Equal(tc.exit.Events[len(tc.exit.Events)-1].At) {
					t.Errorf("the newest event was not kept: %v", got.Events[n-1].At)
				}
			} else {
				b.SetProcessHandler(tc.procs)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if list, err := a.ListProcesses(ctx, "b"); err != nil || len(list) != tc.procs.n {
					t.Fatalf("ListProcesses = %d entries, %v", len(list), err)
				}
			}
			if d := append(da.list(), db.list()...); len(d) > 0 || !a.connected("b") {
				t.Errorf("drops: %v", d)
			}
		})
	}
}

// orderLog is a recHandler that records in order each Spawn's start and
// end (by Ref) and each MemberLost. The first Spawn waits for release
// between the two when hold is set.
type orderLog struct {
	recHandler
	hold             bool
	entered, release chan struct{} // entered: the first Spawn is held
	unheld           chan struct{} // closed when a Spawn that is not held begins
	lost             chan struct{} // closed at the first MemberLost
	first, lostOnce  sync.Once
	unheldOnce       sync.Once
	evmu             sync.Mutex
	events           []string
}

// orderedNode is a node whose process handler is an orderLog.
func orderedNode(t *testing.T, hold bool) (*Manager, *orderLog) {
	a := newNode(t, testConfig(t, "a"))
	h := &orderLog{hold: hold, entered: make(chan struct{}), release: make(chan struct{}), unheld: make(chan struct{}), lost: make(chan struct{})}
	a.SetProcessHandler(h)
	return a, h
}

func (h *orderLog) record(e string) {
	h.evmu.Lock()
	h.events = append(h.events, e)
	h.evmu.Unlock()
}

func (h *orderLog) log() []string {
	h.evmu.Lock()
	defer h.evmu.Unlock()
	return slices.Clone(h.events)
}

func (h *orderLog) Spawn(from string, req *SpawnRequest) (int32, func(), error) {
	ref := strconv.Itoa(int(req.Parent)) // the tests number their spawns by Parent
	h.record("spawn " + ref)
	held := false
	if h.hold {
		h.first.Do(func() { held = true; close(h.entered); <-h.release })
	}
	if !held {
		h.unheldOnce.Do(func() { close(h.unheld) })
	}
	defer h.record("spawned " + ref)
	return h.recHandler.Spawn(from, req)
}

func (h *orderLog) MemberLost(alias string, left bool) {
	if left {
		h.record("left") // this node left
	} else {
		h.record("lost")
		h.lostOnce.Do(func() { close(h.lost) })
	}
	h.recHandler.MemberLost(alias, left)
}

// holding is an orderedNode whose member "raw" has sent spawn 1, and the
// spawns more in the same write, spawn 1 now held in the handler.
func holding(t *testing.T, more ...int32) (*Manager, *orderLog) {
	a, h := orderedNode(t, true)
	c := establishedAs(t, a, "raw", 9)
	c.writeBytes(spawnFrames(t, append([]int32{1}, more...)...))
	<-h.entered
	return a, h
}

// releaseLater lets h's held spawn go on once early is closed (what a
// node that keeps its order never does while the spawn is held) or after
// a while, whichever comes first: the while only bounds how long a broken
// node has to show itself.
func releaseLater(h *orderLog, early <-chan struct{}) {
	go func() {
		select {
		case <-early:
		case <-time.After(500 * time.Millisecond):
		}
		close(h.release)
	}()
}

// spawnFrames is the frames of Spawn orders numbered n... (by Parent).
func spawnFrames(t *testing.T, n ...int32) []byte {
	var b []byte
	for _, i := range n {
		prog, hash := program(int(i))
		var err error
		b, err = wire.AppendFrame(b, &wire.Spawn{Ref: uint64(i), Parent: i, Hash: hash, Program: prog}, DefaultMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// waitEvents waits until h has recorded n events, shuts a down (its
// readers have handed over all they will then) and returns every event
// but the "left" of that shutdown.
func waitEvents(t *testing.T, a *Manager, h *orderLog, n int) []string {
	t.Helper()
	eventually(t, 5*time.Second, func() bool { return len(h.log()) >= n }, func() string { return fmt.Sprint(h.log()) })
	before := len(h.log())
	a.Shutdown()
	all := h.log()
	return append(all[:before], slices.DeleteFunc(all[before:], func(e string) bool { return e == "left" })...)
}

// A MemberLost is the last word on the connections it is about: it comes
// after every frame they carried has been handled, and before the
// member's next connection hands over any. Otherwise a spawn order is
// served after the loss's sweep (its process outlives the loss), or the
// sweep kills what the new connection just started (its spawner was told
// it started and never hears of its end).
func TestLossIsToldBetweenConnections(t *testing.T) {
	t.Run("replaced while a spawn is handled", func(t *testing.T) {
		a, h := holding(t, 2) // one write: spawn 2 is read with spawn 1
		releaseLater(h, h.lost)
		establishedAs(t, a, "raw", 9)
		if got, want := waitEvents(t, a, h, 3), []string{"spawn 1", "spawned 1", "lost"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v: the loss after the spawn in hand, and nothing of the old connection after it", got, want)
		}
	})
	t.Run("dropped, its loss not yet told, then back", func(t *testing.T) {
		a, h := orderedNode(t, false)
		dropping := make(chan struct{})
		var once sync.Once
		a.onDrop = func(string, string) { once.Do(func() { close(dropping); <-h.release }) }
		old := establishedAs(t, a, "raw", 9)
		old.c.Close()
		<-dropping
		releaseLater(h, h.unheld) // the release of onDrop, here
		back := establishedAs(t, a, "raw", 9)
		back.writeBytes(spawnFrames(t, 1))
		if got, want := waitEvents(t, a, h, 3), []string{"lost", "spawn 1", "spawned 1"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
	t.Run("replaced twice while a spawn is handled", func(t *testing.T) {
		a, h := holding(t)
		// c2's register retires the first connection, and so waits for spawn 1.
		c2 := dialRaw(t, addrOf(t, a))
		c2.hello(wire.MsgJoin, "raw", 9, testCookie)
		eventually(t, 5*time.Second, func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.losing["raw"] > 0
		}, func() string { return "c2 never replaced c1" })
		releaseLater(h, h.unheld)
		c3 := establishedAs(t, a, "raw", 9)
		c3.writeBytes(spawnFrames(t, 3))
		got := waitEvents(t, a, h, 6)
		// c3 replaced c2 (which served nothing) at once: one loss may come
		// while spawn 1 is in hand, the other only after it; c3's spawn
		// after both.
		if want := []string{"spawned 1", "lost", "spawn 3", "spawned 3"}; len(got) != 6 || !slices.Equal(got[2:], want) {
			t.Errorf("events %v, want spawn 1, lost (either order), then %v", got, want)
		}
	})
	t.Run("this node leaves and starts again while a spawn is handled", func(t *testing.T) {
		// (helper-98's case) Leave waits for the old session's readers
		// before it tells the loss; a Start meanwhile (another REPL
		// session's) must not let the member's new connection serve first.
		a, h := holding(t)
		left := make(chan struct{})
		go func() { a.Leave(); close(left) }()
		eventually(t, 5*time.Second, func() bool { return !a.Listening() }, func() string { return "never stopped" })
		if _, err := a.Start(); err != nil {
			t.Fatal(err)
		}
		releaseLater(h, h.unheld)
		back := establishedAs(t, a, "raw", 9)
		back.writeBytes(spawnFrames(t, 2))
		eventually(t, 5*time.Second, func() bool { return slices.Contains(h.log(), "spawned 2") }, func() string { return fmt.Sprint(h.log()) })
		<-left
		if got, want := waitEvents(t, a, h, 5), []string{"spawn 1", "spawned 1", "left", "spawn 2", "spawned 2"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}
