package proc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/vm"
)

// Remote is how a Node reaches the other members of its cluster: package
// dist implements it over the cluster's connections. A Node without one
// is alone (NODES is 1, SPAWN on another member fails).
//
// Its methods never block for long and may be called with no lock of the
// Node held only: the Node calls them after releasing its mutex. Frames
// to one member keep the order in which the methods were called, so what
// one process sends another arrives in order, its exit notice last.
type Remote interface {
	// Members returns the other members' aliases in ascending byte order:
	// SPAWN's member i (1 and up) is Members()[i-1]. The caller must not
	// change the slice.
	Members() []string
	// Spawn asks member alias to start the process o describes. done is
	// called once, from any goroutine (possibly before Spawn returns),
	// with the new process's pid on that member, or why it did not start.
	Spawn(alias string, o *SpawnOrder, done func(pid int32, err error))
	// Send carries a message from process from (here) to process to on
	// member alias; false if it was dropped (no such member, or its
	// connection's queue is full).
	Send(alias string, from, to, value int32) bool
	// Exit carries an exit notice to process e.To on member alias.
	Exit(alias string, e *ExitNotice) bool
	// Monitor asks member alias for an exit notice to watcher (here) when
	// its process target ends.
	Monitor(alias string, watcher, target int32) bool
	// Output carries what process from printed to sink on member alias.
	// The Remote copies data. false: nothing was sent, as the member is
	// gone or its connection's queue is full (the process waits and tries
	// again); data is at most maxOutputChunk bytes.
	Output(alias string, sink, from int32, data []byte) bool
	// Kill interrupts process pid on member alias and reports whether
	// there was one.
	Kill(ctx context.Context, alias string, pid int32) (bool, error)
	// Processes lists the processes of member alias.
	Processes(ctx context.Context, alias string) ([]Info, error)
}

// SpawnOrder is a process to start on another member: Image (a bytecode
// file) whose SHA-256 is Hash, from code address Entry with the registers
// given. Parent is the starter's pid here. Its output goes to sink Sink of
// member SinkNode. Report asks for its fault and events in the exit
// notice to its parent (a REPL's !spawn_on).
type SpawnOrder struct {
	Name     string
	Parent   int32
	Hash     [32]byte
	Image    []byte
	Entry    int32
	Regs     [32]int32
	FRegs    [32]float64
	SinkNode string
	Sink     int32
	Report   bool
}

// ExitNotice is the end of process From (here) for process To on another
// member: its status, and, for its parent, whether it was the parent's
// notice (Parent), its fault, and its events if the parent asked.
type ExitNotice struct {
	From, To int32
	Status   int
	Parent   bool
	Fault    string
	Events   []vm.Event
}

// ErrLost: the member was lost before it answered.
var ErrLost = errors.New("the member is lost")

// ErrNoMember: no connected member has that alias (this node may be in no
// cluster at all).
var ErrNoMember = errors.New("not a connected member")

// SetRemote connects the Node to the rest of its cluster. Call it before
// any process spawns on another member.
func (n *Node) SetRemote(r Remote) {
	n.mu.Lock()
	n.remote = r
	n.mu.Unlock()
}

func (n *Node) getRemote() Remote {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.remote
}

// remoteWatcher is a process on another member to tell when a process
// here ends: one that monitors it, or the one that started it (parent),
// which may have asked for the events (report).
type remoteWatcher struct {
	alias  string
	pid    int32
	parent bool
	report bool
}

// localWatch is a process here waiting for the exit notice of a process on
// another member: a monitor, or its starter (parent). onExit, when set,
// takes the notice instead of the mailbox (a REPL's !spawn_on job).
type localWatch struct {
	pid    int32
	parent bool
	onExit func(status int, fault string, events []vm.Event)
}

// spawnWait is a process's SPAWN on another member while the answer is
// out: asked (the seq-th of the process), then answered with handle and
// ok. An answer to an earlier SPAWN, whose run was interrupted, is not
// taken for a later one's.
type spawnWait struct {
	seq             uint64
	asked, answered bool
	handle          int32
	ok              bool
}

// spawnRemote starts p's child on member (1 and up), or answers the SPAWN
// that was asked before (see vm.Runtime).
func (p *Process) spawnRemote(member int32, parent *vm.VM, entry int) (int32, bool, bool) {
	n := p.node
	n.mu.Lock()
	l := p.linksLocked()
	switch {
	case l.spawn.answered:
		h, ok := l.spawn.handle, l.spawn.ok
		l.spawn = spawnWait{seq: l.spawn.seq}
		n.mu.Unlock()
		return h, ok, false
	case l.spawn.asked:
		n.mu.Unlock()
		return 0, false, true
	}
	r := n.remote
	// As for a SPAWN here (Spawn, addChild): not with a full mailbox, nor
	// by a process being killed.
	refuse := p.mailbox.len() >= MailboxLimit || p.killed
	n.mu.Unlock()
	if r == nil || refuse {
		return 0, false, false
	}
	aliases := r.Members()
	if member < 1 || int(member) > len(aliases) {
		return 0, false, false
	}
	alias := aliases[member-1]
	img, err := imageOf(parent, p.image)
	if err != nil {
		return 0, false, false
	}
	p.image = img // only p's goroutine touches it
	o := &SpawnOrder{Name: p.name, Parent: p.pid, Hash: img.hash, Image: img.bytes, Entry: int32(entry),
		Regs: parent.Registers(), FRegs: parent.FloatRegisters()}
	o.SinkNode, o.Sink = n.sinkOf(p)
	n.mu.Lock()
	seq := l.spawn.seq + 1
	l.spawn = spawnWait{seq: seq, asked: true}
	n.mu.Unlock()
	r.Spawn(alias, o, func(pid int32, err error) { n.spawnAnswered(p, seq, alias, pid, err) })
	return 0, false, true
}

// sinkOf is where p's output goes, as another member names it.
func (n *Node) sinkOf(p *Process) (string, int32) {
	if p.sinkNode != "" {
		return p.sinkNode, p.sink
	}
	return n.cfg.Alias, p.sink
}

// spawnAnswered records the answer to p's SPAWN on member alias and runs p
// again if it waits for it.
func (n *Node) spawnAnswered(p *Process, seq uint64, alias string, pid int32, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := p.links
	if p.state == Ended || l == nil || !l.spawn.asked || l.spawn.seq != seq {
		return // killed or interrupted meanwhile: its child, if any, runs on unwatched
	}
	w := spawnWait{seq: seq, answered: true}
	if err == nil {
		k := remoteKey{alias, pid}
		if h := n.handles.handle(k); h != 0 {
			n.watchLocked(p, k, localWatch{pid: p.pid, parent: true})
			w.handle, w.ok = h, true
		}
	}
	l.spawn = w
	if p.state == Waiting && p.parkedOn == vm.OpSpawn {
		n.queueLocked(p)
	}
}

// watchLocked makes w wait for the exit notice of process k.
func (n *Node) watchLocked(p *Process, k remoteKey, w localWatch) {
	ws := n.rwatch[k]
	ws.add(w)
	n.rwatch[k] = ws
	if p != nil {
		l := p.linksLocked()
		if l.watching == nil {
			l.watching = make(map[remoteKey]struct{})
		}
		l.watching[k] = struct{}{}
	}
}

// unwatchLocked forgets what the ended process p waited for elsewhere.
func (n *Node) unwatchLocked(p *Process) {
	if p.links == nil {
		return
	}
	for k := range p.links.watching {
		ws := n.rwatch[k]
		for _, parent := range [...]bool{false, true} {
			if i := ws.processWatch(p.pid, parent); i >= 0 {
				ws.removeAt(i)
			}
		}
		n.setWatchesLocked(k, ws)
	}
	p.links.watching = nil
}

// removeWatchLocked takes the i-th of k's watches ws out of both places
// that hold it: n.rwatch (by the process awaited) and its watcher's
// links.watching (by the watcher, which holds at most one watch of k: one
// notice per process). It returns the watch.
func (n *Node) removeWatchLocked(k remoteKey, ws localWatches, i int) localWatch {
	w := ws.list[i]
	ws.removeAt(i)
	n.setWatchesLocked(k, ws)
	if q := n.procs[w.pid]; q != nil && q.links != nil {
		delete(q.links.watching, k)
	}
	return w
}

// setWatchesLocked stores k's watches, or forgets k when none are left.
func (n *Node) setWatchesLocked(k remoteKey, ws localWatches) {
	if len(ws.list) == 0 {
		delete(n.rwatch, k)
		return
	}
	n.rwatch[k] = ws
}

// sendRemote sends value from p to the process that handle to names.
func (p *Process) sendRemote(to, value int32) {
	n := p.node
	n.mu.Lock()
	k, ok := n.handles.lookup(to)
	r := n.remote
	n.mu.Unlock()
	if ok && r != nil {
		r.Send(k.alias, p.pid, k.pid, value)
	}
}

// monitorRemote asks for p's exit notice of the process handle h names: at
// once, status 4, if the handle names none (ended, or its member lost).
func (p *Process) monitorRemote(h int32) {
	n := p.node
	n.mu.Lock()
	k, ok := n.handles.lookup(h)
	r := n.remote
	// One notice per process: none more for one that p spawned (its
	// parent watch) or monitors already, as for a process here.
	if ws := n.rwatch[k]; ok && r != nil && (ws.processWatch(p.pid, false) >= 0 || ws.processWatch(p.pid, true) >= 0) {
		n.mu.Unlock()
		return
	}
	if n.monitorDroppedLocked(p) {
		n.mu.Unlock()
		return
	}
	if !ok || r == nil {
		n.deliverLocked(p.pid, vm.Message{Value: StatusNoSuch, From: h, Exit: true})
		n.mu.Unlock()
		return
	}
	n.watchLocked(p, k, localWatch{pid: p.pid})
	n.mu.Unlock()
	if !r.Monitor(k.alias, p.pid, k.pid) {
		n.memberLostWatch(k, p.pid)
	}
}

// memberLostWatch delivers status 3 to watcher pid of k, whose member
// could not be reached.
func (n *Node) memberLostWatch(k remoteKey, pid int32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ws := n.rwatch[k]
	i := ws.find(watchKey{pid, false})
	if i < 0 {
		return
	}
	n.removeWatchLocked(k, ws, i)
	n.deliverLocked(pid, vm.Message{Value: StatusLost, From: n.handles.handle(k), Exit: true})
}

// notifyRemote tells the remote watchers of a process that ended; the
// Node's mutex is not held.
func (n *Node) notifyRemote(r Remote, p *Process, watchers []remoteWatcher, status int, err error) {
	var fault string
	if err != nil {
		fault = err.Error()
	}
	for _, w := range watchers {
		e := ExitNotice{From: p.pid, To: w.pid, Status: status, Parent: w.parent, Fault: fault}
		if w.report {
			e.Events = p.vm.Events() // p ended: nobody runs its VM any more
		}
		r.Exit(w.alias, &e)
	}
}

// The other members' requests, as package dist hands them over from the
// cluster's connections. Each is called from the connection's reader, in
// the order the frames came.

// RemoteSpawn starts the process that member from asks for and returns its
// pid and start, which makes it runnable: the caller answers the spawner
// first, so that the answer goes out before anything the new process
// sends. The error is ErrRemoteSpawnOff, ErrTooMany, ErrNoPIDs, ErrClosed,
// ErrUnknownProgram, ErrBadProgram, ErrBadEntry or ErrProgramTotal.
func (n *Node) RemoteSpawn(from string, o *SpawnOrder) (pid int32, start func(), err error) {
	if n.cfg.NoRemoteSpawn {
		return 0, nil, ErrRemoteSpawnOff
	}
	var out io.Writer
	var remoteOut *remoteOutput
	sinkNode, sink := o.SinkNode, o.Sink
	if sinkNode == n.cfg.Alias {
		out, sinkNode = n.workerOutput(n.sinkWriter(sink)), ""
	} else {
		remoteOut = &remoteOutput{n: n, alias: sinkNode, sink: sink}
		out = remoteOut
	}
	if n.atMaxProcesses() {
		return 0, nil, ErrTooMany // before the program is counted: the refusal names the limit met
	}
	var program *cachedProgram
	c, err := n.newProcess(Spec{Name: o.Name}, out, func(cfg vm.Config) (*vm.VM, error) {
		m, p, err := n.programs.fork(o.Hash, o.Image, int(o.Entry), o.Regs, o.FRegs, cfg)
		program = p
		return m, err
	})
	if err != nil {
		return 0, nil, err
	}
	if o.Parent > 0 { // 0: started with no parent, whose PARENT is 0
		n.mu.Lock()
		c.parent = n.handles.handle(remoteKey{from, o.Parent}) // nobody runs c yet
		n.mu.Unlock()
	}
	c.sinkNode, c.sink = sinkNode, sink
	if remoteOut != nil {
		remoteOut.pid = c // before it runs: nothing writes yet
	}
	c.links = &remoteLinks{origin: from, program: program}
	c.links.watchers.add(remoteWatcher{alias: from, pid: o.Parent, parent: true, report: o.Report}, nil)
	if err := n.add(c); err != nil {
		n.programs.done(program)
		return 0, nil, err
	}
	// MemberLost kills the processes of a member that is gone, and this
	// order may have been read while it ran; c is live now, so either that
	// sweep killed it or the member was already gone from the list (the
	// cluster drops a member before it reports it lost). The kill comes
	// once c is started, after the answer, as a kill from outside would.
	lost := n.gone(from) || sinkNode != "" && n.gone(sinkNode)
	return c.pid, func() {
		n.queue(c)
		if lost {
			c.Kill()
		}
	}, nil
}

// gone reports whether alias is no longer a member. A node without a
// Remote hears of no member's loss either.
func (n *Node) gone(alias string) bool {
	r := n.getRemote()
	return r != nil && !slices.Contains(r.Members(), alias)
}

// RemoteSend delivers a message from process fromPID of member from.
func (n *Node) RemoteSend(from string, fromPID, to, value int32) {
	n.mu.Lock()
	if n.procs[to] != nil {
		if h := n.handles.handle(remoteKey{from, fromPID}); h != 0 {
			n.deliverLocked(to, vm.Message{Value: value, From: h})
		}
	}
	n.mu.Unlock()
}

// RemoteExit delivers the exit notice of a process of member from to the
// process here that waits for it, if one does: exactly once, as a notice
// that came after its member was lost finds nobody waiting.
func (n *Node) RemoteExit(from string, e *ExitNotice) {
	k := remoteKey{from, e.From}
	n.mu.Lock()
	ws := n.rwatch[k]
	i := ws.find(watchKey{e.To, e.Parent})
	if i < 0 {
		if len(ws.list) == 0 {
			if h, ok := n.handles.known(k); ok {
				n.handles.forget(h) // it ended: nothing more comes from it
			}
		}
		n.mu.Unlock()
		return
	}
	h := n.handles.handle(k)
	w := n.removeWatchLocked(k, ws, i)
	if _, still := n.rwatch[k]; !still {
		n.handles.forget(h)
	}
	if w.onExit == nil {
		n.deliverLocked(w.pid, vm.Message{Value: int32(e.Status), From: h, Exit: true})
	}
	n.mu.Unlock()
	if w.onExit != nil {
		w.onExit(e.Status, e.Fault, e.Events)
	}
}

// maxMonitors bounds the MONITORs of processes here that one member holds
// at once (about 100 bytes each): past it, a member's MONITOR of a live
// process is dropped, and its watcher gets no notice. A member's
// processes are bounded by its --max-processes, but nothing here can
// check what it says of them. A variable only so that tests can lower it.
var maxMonitors = 1 << 20

// forgetMonitorLocked counts one MONITOR of member alias less (n.mu held).
func (n *Node) forgetMonitorLocked(alias string) {
	if n.monitors[alias]--; n.monitors[alias] <= 0 {
		delete(n.monitors, alias)
	}
}

// RemoteMonitor makes process watcher of member from a watcher of process
// target here: at once, status 4, if there is no such process.
func (n *Node) RemoteMonitor(from string, watcher, target int32) {
	n.mu.Lock()
	q := n.procs[target]
	r := n.remote
	if q != nil && n.monitors[from] < maxMonitors {
		w := remoteWatcher{alias: from, pid: watcher}
		// Whether a watcher elsewhere ended is not known here (the
		// protocol has no message to cancel a monitor), so none is
		// pruned; those of a member that goes are dropped then, and a
		// member holds at most maxMonitors.
		if q.linksLocked().watchers.add(w, nil) {
			if n.monitors == nil {
				n.monitors = map[string]int{}
			}
			n.monitors[from]++
		}
	}
	n.mu.Unlock()
	if q == nil && r != nil {
		r.Exit(from, &ExitNotice{From: target, To: watcher, Status: StatusNoSuch})
	}
}

// RemoteKill interrupts process pid and reports whether it lives.
func (n *Node) RemoteKill(pid int32) bool {
	p, ok := n.Lookup(pid)
	if ok {
		p.Kill()
	}
	return ok
}

// RemoteOutput writes what process fromPID of member from printed to
// sink, if the sink is still here.
func (n *Node) RemoteOutput(from string, sink, fromPID int32, data []byte) {
	switch w := n.sinkWriter(sink).(type) {
	case nil:
	case *outQueue: // a foreground process's, which may block
		w.enqueue(data)
	default: // a !spawn or !spawn_on job's report buffer
		w.Write(data)
	}
}

// MemberLost handles the loss of member alias (it left, died, fell silent,
// or came back on a new connection, which may have lost frames): every
// process here waiting for the exit notice of a process there gets status
// 3, the member's handles name nothing any more, and its processes'
// monitors of processes here are forgotten. Spawns waiting for its answer
// fail by their own callback.
//
// The processes here that the member started, with those they started
// here, and those whose output goes there are killed: their starter has
// been told they ended (status 3), so they must not go on acting, and what
// they print has nowhere to go. left says why, for the reports of
// !spawn_on jobs: this node left the cluster, rather than the member
// being lost.
func (n *Node) MemberLost(alias string, left bool) {
	var jobs []localWatch
	n.mu.Lock()
	for k, ws := range n.rwatch {
		if k.alias != alias {
			continue
		}
		h := n.handles.handle(k)
		for _, w := range ws.list {
			if w.onExit != nil {
				jobs = append(jobs, w)
				continue
			}
			if q := n.procs[w.pid]; q != nil && q.links != nil {
				delete(q.links.watching, k)
			}
			n.deliverLocked(w.pid, vm.Message{Value: StatusLost, From: h, Exit: true})
		}
		delete(n.rwatch, k)
	}
	n.handles.forgetMember(alias)
	for _, p := range n.procs {
		if p.sinkNode == alias || p.links != nil && p.links.origin == alias {
			n.killLocked(p)
		}
		if p.links != nil && p.links.watchers.len() > 0 {
			p.links.watchers.remove(func(w remoteWatcher) bool { return w.alias == alias })
		}
	}
	delete(n.monitors, alias)
	n.mu.Unlock()
	why := "the member " + alias + " was lost"
	if left {
		why = "this node left the cluster"
	}
	for _, w := range jobs {
		w.onExit(StatusLost, why, nil)
	}
}

// Sinks: where the output of processes on other members goes. Every
// process started with a writer of its own (Foreground, Start) registers
// it as a sink while it lives; a REPL's !spawn_on job registers its
// report's. A process started here by another member writes to the sink
// its spawner named, through Output frames.

// RegisterSink makes w a sink for the output of processes on other
// members and returns its number.
func (n *Node) RegisterSink(w io.Writer) int32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.registerSinkLocked(w)
}

// registerSinkLocked gives w the next number after the last one given,
// from 1 up to 2^31-1 and then from 1 again, skipping numbers that name a
// sink still registered: a node that has started 2^31 roots goes on. A
// number is given again only after 2^31-1 others, so late output meant
// for an old sink could reach a new one only from a process on another
// member that outlived that many roots started here.
func (n *Node) registerSinkLocked(w io.Writer) int32 {
	for {
		if n.lastSink == math.MaxInt32 {
			n.lastSink = 0
		}
		n.lastSink++
		if _, used := n.sinks[n.lastSink]; !used {
			break
		}
	}
	n.sinks[n.lastSink] = w
	return n.lastSink
}

// UnregisterSink forgets sink id: output for it is dropped from now on.
func (n *Node) UnregisterSink(id int32) {
	n.mu.Lock()
	delete(n.sinks, id)
	n.mu.Unlock()
}

func (n *Node) sinkWriter(id int32) io.Writer {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sinks[id]
}

// remoteOutput is the output of a process started here by another member:
// Output frames to the sink its spawner named. Only the goroutine running
// its process uses it.
type remoteOutput struct {
	n     *Node
	alias string
	sink  int32
	pid   *Process
	// gone: the member is gone; later output would follow a gap nobody is
	// told of, so it goes nowhere.
	gone bool
	// sent counts the bytes of a Write that went out before the queue
	// filled: the VM writes the same bytes again (vm.ErrOutputFull), and
	// those are not sent twice. wait is the last back-off (backOff).
	sent int
	wait time.Duration
}

// Write sends b to the sink. When the connection's queue is full (the
// member reads more slowly than the process prints) it returns
// vm.ErrOutputFull: the PRT* waits, its process leaves the worker for a
// while (Node.waitForRoomLocked), and nothing is lost.
func (o *remoteOutput) Write(b []byte) (int, error) {
	n := len(b)
	r := o.n.getRemote()
	if r == nil || o.gone {
		o.sent = 0
		return n, nil
	}
	b = b[min(o.sent, n):]
	for len(b) > 0 {
		k := min(len(b), maxOutputChunk)
		if !r.Output(o.alias, o.sink, o.pid.pid, b[:k]) {
			if !slices.Contains(r.Members(), o.alias) {
				o.gone, o.sent = true, 0
				return n, nil
			}
			o.sent = n - len(b)
			return 0, vm.ErrOutputFull
		}
		b = b[k:]
	}
	o.sent, o.wait = 0, 0
	return n, nil
}

// backOff is how long the process waits before it writes again after
// vm.ErrOutputFull: minOutputWait, doubled while there is still no room,
// up to maxOutputWait. Write clears wait when a write goes out.
func (o *remoteOutput) backOff() time.Duration {
	o.wait = min(max(2*o.wait, minOutputWait), maxOutputWait)
	return o.wait
}

// How long a process whose output had no room waits before it tries
// again: the first time, and at most, while its reader stays slow. Each
// try runs the process for one instruction, so thousands of them waiting
// on one slow member cost little at the longest wait.
const (
	minOutputWait = 100 * time.Microsecond
	maxOutputWait = 100 * time.Millisecond
)

// workerOutput is the writer of a new process that the workers run and
// that prints where w does: a writer of its own where the writer keeps
// one process's state (what was sent of a write, how long it waits; a
// *remoteOutput's pid is the caller's to set), and a foreground process's
// queue only through a childWriter, unless Config.OwnOutput.
func (n *Node) workerOutput(w io.Writer) io.Writer {
	switch w := w.(type) {
	case *remoteOutput:
		return &remoteOutput{n: w.n, alias: w.alias, sink: w.sink}
	case *outQueue:
		if !n.cfg.OwnOutput {
			return &childWriter{q: w}
		}
	case *childWriter:
		return &childWriter{q: w.q}
	}
	return w
}

// maxOutputChunk bounds the bytes of one Output frame.
const maxOutputChunk = 32 << 10

// The REPL's view of other members.

// StartOn starts prog as a new process on member alias, with parent as its
// PARENT, its output written to out and its end reported to onExit (with
// its fault and events, or status 3 if the member is lost), never to a
// mailbox: a REPL's !spawn_on. It returns the new process's pid once the
// member answered.
func (n *Node) StartOn(ctx context.Context, alias string, spec Spec, prog *vm.Program,
	out io.Writer, onExit func(status int, fault string, events []vm.Event)) (int32, error) {
	r := n.getRemote()
	if r == nil {
		return 0, fmt.Errorf("%s: %w", escape.Clip(alias), ErrNoMember)
	}
	img, err := prog.MarshalBinary()
	if err != nil {
		return 0, err
	}
	sink := n.RegisterSink(out)
	o := &SpawnOrder{Name: spec.Name, Parent: spec.Parent, Image: img, SinkNode: n.cfg.Alias, Sink: sink, Report: true}
	o.Hash = sha256.Sum256(img)
	type answer struct {
		pid int32
		err error
	}
	answered := make(chan answer, 1)
	r.Spawn(alias, o, func(pid int32, err error) {
		if err == nil {
			// Registered before the next frame from alias is read: its
			// exit notice comes after this answer.
			n.mu.Lock()
			n.watchLocked(nil, remoteKey{alias, pid}, localWatch{pid: spec.Parent, parent: true,
				onExit: func(status int, fault string, events []vm.Event) {
					onExit(status, fault, events)
					n.UnregisterSink(sink)
				}})
			n.mu.Unlock()
		} else {
			n.UnregisterSink(sink)
		}
		answered <- answer{pid, err}
	})
	select {
	case a := <-answered:
		return a.pid, a.err
	case <-ctx.Done():
		// The answer still comes (the member answers or is lost); a
		// process that started anyway is reported when it ends.
		return 0, context.Cause(ctx)
	}
}

// KillOn interrupts process pid on member alias.
func (n *Node) KillOn(ctx context.Context, alias string, pid int32) (bool, error) {
	r := n.getRemote()
	if r == nil {
		return false, fmt.Errorf("%s: %w", escape.Clip(alias), ErrNoMember)
	}
	return r.Kill(ctx, alias, pid)
}

// SendOn sends value from process from (here) to process pid on member
// alias; false if alias is not a member.
func (n *Node) SendOn(alias string, from, pid, value int32) bool {
	r := n.getRemote()
	return r != nil && r.Send(alias, from, pid, value)
}

// ProcessesOn lists the processes of member alias.
func (n *Node) ProcessesOn(ctx context.Context, alias string) ([]Info, error) {
	r := n.getRemote()
	if r == nil {
		return nil, fmt.Errorf("%s: %w", escape.Clip(alias), ErrNoMember)
	}
	return r.Processes(ctx, alias)
}

// Members returns the other members' aliases, sorted; none without a
// cluster.
func (n *Node) Members() []string {
	if r := n.getRemote(); r != nil {
		return r.Members()
	}
	return nil
}
