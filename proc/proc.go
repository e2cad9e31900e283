// Package proc is the process runtime of one node (README "Processes"): it
// numbers processes, keeps their mailboxes, delivers messages and exit
// notices, and runs the processes that can run on a fixed number of worker
// goroutines, as Erlang's schedulers do.
//
// A process is one program on one VM. Its life runs through four states:
//
//	queued ──(a worker takes it)──► running ──(HLT, fault, kill)──► ended
//	   ▲                              │  │
//	   │                              │  └──(its slice is used up)──► queued
//	   └──(a message, its time up, ───┤
//	       or a kill)           waiting (RECV/RECVT with an empty mailbox)
//
// and two more that Processes reports as one of those (State): idle, a
// foreground process between its owner's runs, and writing, a process whose
// output waits for room, queued again once it is written.
//
// A waiting process is its VM state and its mailbox, nothing more: it holds
// no goroutine and no worker (the VM's Run returns a *vm.Wait instead of
// blocking, and the runtime runs it again when a message comes). Only
// running processes use the --threads workers; a process runs for a slice
// of sliceSteps instructions (or of the VM's 4,096 SPAWN, SEND and
// MONITOR) before the next queued one gets the worker. A killed process
// is taken before the others, and stops at its first instruction.
//
// Foreground processes (the REPL's default VM, an SSH session's VM,
// `iridium FILE`'s program) are run by their owner's goroutine with
// Process.RunContext instead of the workers; they wait the same way, blocking
// only their owner.
//
// Order: a message or exit notice is put in the receiver's mailbox by the
// sender's goroutine when it sends, and a process's exit notices go out
// after it ended, so what one process sends another arrives in the order it
// was sent, its exit notice last. A mailbox holds at most MailboxLimit
// messages; a message to a full mailbox is dropped and counted. The exit
// notice of a process's end is never dropped: each process gets one for
// every process it spawned or monitors, exactly once (a MONITOR of a
// process that has ended answers status 4 at once instead, even when its
// notice came already). So that a mailbox
// stays bounded all the same, a full one makes SPAWN fail, and the
// status-4 answer of a MONITOR of nothing, which a loop could ask for
// without end, is dropped like a message.
//
// Processes on other members (remote.go) are reached through a Remote,
// which package dist implements over the cluster's connections. A process
// there is a negative handle here, from a table that gives the same
// process the same handle and never gives a number twice (handles.go).
// SPAWN on another member sends the program (once per member: it keeps a
// bounded cache by SHA-256, programs.go) and parks the spawner, like a
// RECV, until the member answers. A process started by another member
// writes its output to a sink on its spawner's node, and its parent learns
// of its end by an exit notice sent back. This node remembers which of its
// processes wait for exit notices from elsewhere; when a member is lost
// they get status 3, and the member's handles name nothing any more.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// Exit statuses of a process, as its exit notice carries them.
const (
	StatusOK     = 0 // HLT or the end of the code
	StatusFault  = 1 // a fault
	StatusKilled = 2 // killed or interrupted
	StatusLost   = 3 // the node it ran on is lost
	StatusNoSuch = 4 // there was no such process
)

// MailboxLimit is how many messages a mailbox holds; past it a message is
// dropped and counted.
const MailboxLimit = 65536

const (
	sliceSteps     = 1 << 20 // instructions a process runs before yielding its worker
	defaultThreads = 1
)

// State is where a process stands.
type State uint8

const (
	Queued  State = iota // runnable, waiting for a worker
	Running              // on a worker or its owner's goroutine
	Waiting              // in RECV or RECVT with an empty mailbox
	Ended                // done; its exit notices are sent
	// Idle is a foreground process between its owner's runs (a REPL
	// between lines): nothing to wake or interrupt. Processes lists it as
	// Waiting, the state the spec has for it.
	Idle
	// Writing: in a PRT* whose output could not be written at once
	// (vm.ErrOutputFull: a member that reads its output more slowly than
	// it prints, a terminal or SSH client its output waits for), queued
	// again once it is written or after a while, so that it holds no
	// worker meanwhile. Processes lists it as Running: it is not in RECV.
	Writing
	// Starting: made, and maybe live, but not queued yet (a spawn's answer
	// goes out first). A kill marks it; it ends when it first runs. It is
	// on no queue, so that no worker can run it before it is started.
	// Processes lists it as Queued.
	Starting
)

func (s State) String() string {
	return [...]string{"queued", "running", "waiting", "ended", "idle", "writing", "starting"}[s]
}

// Config configures a Node.
type Config struct {
	// Alias names the node in process names (ALIAS:PID).
	Alias string
	// Threads is how many processes may run at once on the workers (>= 1).
	Threads int
	// VMConfig configures the VM of a foreground process; it must not
	// set a Runtime (the Node sets it). Spawned processes are forks of
	// their parent's VM, with the parent's limits and output.
	VMConfig vm.Config
	// Nodes tells how many cluster members there are, this node included;
	// nil means 1.
	Nodes func() int32
	// MaxProcesses bounds the processes alive at once; 0 means no bound.
	MaxProcesses int
	// HeapTotal bounds the heap and stack storage of all the node's
	// processes together, in bytes: past it ALOC faults (vm.ErrHeapTotal),
	// as past a VM's own HeapLimit, and a PUSH or CALL that needs a larger
	// stack faults with vm.ErrStackTotal. Above 0 it replaces
	// VMConfig.HeapAccount; 0 leaves that as it is.
	HeapTotal int64
	// NoRemoteSpawn makes the node refuse the processes that other
	// members ask it to start (--remote-spawn=false).
	NoRemoteSpawn bool
	// MaxHandles bounds the handles of other members' processes the node
	// keeps at once; 0 means DefaultMaxHandles. Past it the oldest goes.
	MaxHandles int
	// CachePrograms and CacheBytes bound the programs that other members
	// started here, kept so that the next spawn of one carries only its
	// hash; 0 means DefaultCachePrograms, DefaultCacheBytes.
	CachePrograms, CacheBytes int
	// OwnOutput makes the processes the workers run that print where a
	// foreground process does (its children) write that output
	// themselves, on their worker, waiting for its writer as long as it
	// takes: for a node that serves one program alone (`iridium FILE`),
	// whose output nobody else's processes wait behind. Otherwise they
	// hand it to the foreground's queue and wait for it without a worker
	// (childWriter), at about 2 us a PRT*: a terminal stopped with
	// Ctrl-S, or an SSH client that reads nothing, must not hold the
	// workers that every process of the node needs.
	OwnOutput bool
	// OnFault, if set, hears of every process that ends with a fault
	// (status 1) and has no OnExit of its own, from the goroutine that
	// ended it, without the Node's lock: `iridium FILE` reports them.
	OnFault func(name string, pid int32, err error)
}

// Node is one node's process runtime. Its methods are safe for concurrent
// use. Close stops every process and waits for the workers.
type Node struct {
	cfg Config

	mu      sync.Mutex
	procs   map[int32]*Process // the live processes (not ended)
	lastPID int32
	runq    []*Process // queued processes, oldest first
	runHead int        // runq[runHead:] is the queue
	// killq is the killed processes to run before runq, oldest first:
	// each stops at its first instruction, so a kill (or Close, which
	// kills them all) waits for no other process's slice. A process in
	// both runs from the first it is taken from; next skips the other.
	killq  []*Process
	closed bool
	onNext func(pid int32) // tests: told (n.mu held) of every process next takes

	remote  Remote      // the other members; nil when alone
	handles handleTable // other members' processes as handles
	// rwatch is the exit notices awaited from other members' processes,
	// by the process awaited; each watcher's links.watching holds the same
	// relation by watcher, so that a process's end finds its watches at
	// once. Both change together (watchLocked, removeWatchLocked,
	// unwatchLocked, MemberLost).
	rwatch   map[remoteKey]localWatches
	monitors map[string]int      // MONITORs of processes here each member holds, at most maxMonitors
	sinks    map[int32]io.Writer // output sinks for processes elsewhere
	lastSink int32
	programs *programCache // programs other members started here

	work chan struct{} // one token per queued process, for the workers
	quit chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// New starts a Node and its workers.
func New(cfg Config) (*Node, error) {
	if cfg.Threads == 0 {
		cfg.Threads = defaultThreads
	}
	if cfg.Threads < 0 {
		return nil, fmt.Errorf("proc: %d threads", cfg.Threads)
	}
	if cfg.VMConfig.Runtime != nil {
		return nil, errors.New("proc: VMConfig.Runtime must be nil")
	}
	if cfg.MaxHandles <= 0 {
		cfg.MaxHandles = DefaultMaxHandles
	}
	if cfg.HeapTotal < 0 {
		return nil, fmt.Errorf("proc: heap total %d", cfg.HeapTotal)
	}
	if cfg.HeapTotal > 0 {
		cfg.VMConfig.HeapAccount = &heapTotal{max: cfg.HeapTotal}
	}
	n := &Node{
		cfg:      cfg,
		procs:    make(map[int32]*Process),
		handles:  newHandleTable(cfg.MaxHandles),
		rwatch:   make(map[remoteKey]localWatches),
		sinks:    make(map[int32]io.Writer),
		programs: newProgramCache(cfg.CachePrograms, cfg.CacheBytes, cfg.VMConfig.HeapAccount),
		work:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
	}
	n.wg.Add(cfg.Threads)
	for range cfg.Threads {
		go n.worker()
	}
	return n, nil
}

// Close kills every process, stops the workers and waits for them. The
// foreground processes' owners see their Run return.
func (n *Node) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	var all []*Process
	for _, p := range n.procs {
		all = append(all, p)
	}
	n.mu.Unlock()
	for _, p := range all {
		p.Kill()
	}
	close(n.quit)
	n.wg.Wait()
	// Processes still queued when the workers stopped end here; the
	// foreground ones end when their owners see Run return.
	for _, p := range all {
		if !p.foreground {
			n.end(p, StatusKilled, nil)
		}
	}
}

// Alias is the node's alias.
func (n *Node) Alias() string { return n.cfg.Alias }

// Process is one process. Its fields are guarded by its Node's mutex,
// except vm, which only the goroutine running the process touches.
type Process struct {
	node   *Node
	pid    int32
	parent int32 // handle of the starter, 0 if none
	name   string
	vm     *vm.VM
	out    io.Writer // where its output and its children's goes

	state      State
	foreground bool
	retired    bool // foreground: its owner runs it no more (see Retire)
	killed     bool
	status     int32 // once ended
	mailbox    ring
	dropped    int64
	watchers   watchList[int32] // pids that get its exit notice
	timer      *time.Timer      // a RECVT's timeout while Waiting, the next try while Writing
	wake       chan struct{}    // foreground: a waiting owner's wake-up, capacity 1
	done       chan struct{}    // closed when it ended
	err        error            // the fault that ended it, if any
	onExit     func(status int, err error)

	// Where its output goes when that is another member (sinkNode, sink),
	// or, for "", the sink its own writer is registered as (ownsSink: it
	// registered it and unregisters it when it ends).
	sinkNode string
	sink     int32
	ownsSink bool
	parkedOn vm.Opcode // the instruction it waits in, while Waiting

	links *remoteLinks  // its ties to processes elsewhere; nil until it has one
	image *programImage // the program it last sent elsewhere (its goroutine only)
}

// remoteLinks is what a process has to do with processes on other
// members. Most processes never have any, and a waiting process should
// cost little memory, so it is allocated on first use (with the node's
// mutex held, or before the process is added) and kept from then on.
type remoteLinks struct {
	// origin is the member that started it, or the process here it
	// descends from; "" for this node's own.
	origin   string
	watchers watchList[remoteWatcher] // processes elsewhere to tell when it ends
	// watching is the processes elsewhere whose end it waits for: a set,
	// since each exit notice takes one out, and a process may wait for
	// tens of thousands of them.
	watching map[remoteKey]struct{}
	spawn    spawnWait // its SPAWN on another member, while out
	// program is the cached program it runs when another member started
	// it: the cache counts that program's memory until its last process
	// ends.
	program *cachedProgram
}

// linksLocked is p's remoteLinks, made if it has none; n.mu is held.
func (p *Process) linksLocked() *remoteLinks {
	if p.links == nil {
		p.links = new(remoteLinks)
	}
	return p.links
}

// Spec says what process to start.
type Spec struct {
	Name   string // the program, for listings
	Parent int32  // the handle of the starter; 0 for none
	// NotifyParent sends the exit notice to Parent; false when the owner
	// learns the end otherwise (OnExit), as the REPL does for !spawn.
	NotifyParent bool
	// OnExit, if set, is called once when the process ends, from the
	// goroutine that ended it, without the Node's lock.
	OnExit func(status int, err error)
}

// Foreground registers a process that its owner runs with Process.RunContext:
// the REPL's default VM, an SSH session's VM, `iridium FILE`'s program.
// Its VM is made from the Node's VMConfig with output out, which may block:
// what processes on other members print for it is queued (outQueue).
func (n *Node) Foreground(spec Spec, out io.Writer) (*Process, error) {
	p, err := n.newProcess(spec, newOutQueue(out), func(cfg vm.Config) (*vm.VM, error) { return vm.New(cfg) })
	if err != nil {
		return nil, err
	}
	p.foreground, p.wake = true, make(chan struct{}, 1)
	p.state = Idle // until its owner's first run
	if err := n.addRoot(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Start starts a background process running prog on a new VM from the
// Node's VMConfig with output out, queued for the workers: !spawn.
func (n *Node) Start(spec Spec, prog *vm.Program, out io.Writer) (*Process, error) {
	p, err := n.newProcess(spec, out, func(cfg vm.Config) (*vm.VM, error) {
		m, err := vm.New(cfg)
		if err == nil {
			err = m.Load(prog)
		}
		return m, err
	})
	if err != nil {
		return nil, err
	}
	if err := n.addRoot(p); err != nil {
		return nil, err
	}
	n.queue(p)
	return p, nil
}

// newProcess makes the process spec describes, writing to out, with the VM
// that makeVM builds from the Node's VMConfig (output and runtime set). It
// is not live yet: add gives it its pid.
func (n *Node) newProcess(spec Spec, out io.Writer, makeVM func(vm.Config) (*vm.VM, error)) (*Process, error) {
	p := &Process{node: n, name: spec.Name, parent: spec.Parent, out: out, state: Starting,
		done: make(chan struct{}), onExit: spec.OnExit}
	if spec.NotifyParent && spec.Parent > 0 {
		p.watchers.add(spec.Parent, nil)
	}
	cfg := n.cfg.VMConfig
	cfg.Output, cfg.Runtime = out, p
	switch out.(type) {
	case *remoteOutput, *childWriter:
		// It answers vm.ErrOutputFull, which a VM honours only without a
		// buffer of its own.
		cfg.OutputBuffer = 0
	}
	m, err := makeVM(cfg)
	if err != nil {
		return nil, err
	}
	p.vm = m
	return p, nil
}

// ErrTooMany: the node runs MaxProcesses processes already.
var ErrTooMany = errors.New("proc: too many processes")

// ErrNoPIDs: the node has given every pid up to 2^31-1. A node gives no
// pid twice (a handle another member or a message still holds must never
// name a new process), so it starts no more: at a thousand processes a
// second that is after 24 days.
var ErrNoPIDs = errors.New("proc: every pid up to 2147483647 has been given, and none is given twice")

// ErrClosed: the Node is closed.
var ErrClosed = errors.New("proc: node is closed")

// ErrStarterGone: the process that would start it is being killed; the
// child would outlive the kill (addChild).
var ErrStarterGone = errors.New("proc: the process that would start it is being killed")

// ErrEnded: RunContext of a process that ended.
var ErrEnded = errors.New("proc: the process ended")

// addRoot adds p, a process with a writer of its own, and registers that
// as the sink of its descendants on other members.
func (n *Node) addRoot(p *Process) error {
	if err := n.add(p); err != nil {
		return err
	}
	n.mu.Lock()
	p.sink, p.ownsSink = n.registerSinkLocked(p.out), true
	n.mu.Unlock()
	return nil
}

// atMaxProcesses reports whether the node runs MaxProcesses processes,
// so that a spawn is refused before it loads anything (add checks again).
func (n *Node) atMaxProcesses() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.MaxProcesses > 0 && len(n.procs) >= n.cfg.MaxProcesses
}

// add gives p a pid and makes it live.
func (n *Node) add(p *Process) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addLocked(p)
}

// addChild is add for c, a child that starter's SPAWN makes here. A
// starter that is being killed starts nothing more: it may have run this
// SPAWN after a kill that swept its node's processes (MemberLost kills
// every process of a member that was lost), and a child added after such
// a sweep would live on, answering to nobody.
func (n *Node) addChild(c, starter *Process) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if starter.killed {
		return ErrStarterGone
	}
	return n.addLocked(c)
}

func (n *Node) addLocked(p *Process) error {
	if n.closed {
		return ErrClosed
	}
	if n.cfg.MaxProcesses > 0 && len(n.procs) >= n.cfg.MaxProcesses {
		return ErrTooMany
	}
	if n.lastPID == math.MaxInt32 {
		return ErrNoPIDs
	}
	n.lastPID++
	p.pid = n.lastPID
	n.procs[p.pid] = p
	return nil
}

// queue makes p runnable and wakes a worker.
func (n *Node) queue(p *Process) {
	n.mu.Lock()
	n.queueLocked(p)
	n.mu.Unlock()
}

func (n *Node) queueLocked(p *Process) {
	if p.state == Ended { // a process runs no more once ended, whoever queues it
		return
	}
	p.state = Queued
	if p.foreground {
		select {
		case p.wake <- struct{}{}:
		default:
		}
		return
	}
	if n.runHead > 0 && n.runHead == len(n.runq) {
		n.runq, n.runHead = n.runq[:0], 0
	}
	n.runq = append(n.runq, p)
	select {
	case n.work <- struct{}{}:
	default:
	}
}

// next takes the oldest killed process that is queued, else the oldest
// queued process, or nil. An entry whose process is no longer queued (a
// killed one taken from the other queue, or one that ended) is skipped.
func (n *Node) next() *Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		var p *Process
		switch {
		case len(n.killq) > 0:
			p, n.killq[0], n.killq = n.killq[0], nil, n.killq[1:]
		case n.runHead < len(n.runq):
			p, n.runq[n.runHead] = n.runq[n.runHead], nil
			n.runHead++
		default:
			return nil
		}
		if p.state != Queued {
			continue
		}
		p.state = Running
		if n.onNext != nil {
			n.onNext(p.pid)
		}
		if len(n.killq) > 0 || n.runHead < len(n.runq) {
			select { // more work: wake another worker
			case n.work <- struct{}{}:
			default:
			}
		}
		return p
	}
}

// worker runs queued processes until the Node closes. Between processes it
// takes the next without a channel operation, so that two processes
// passing messages back and forth run on one worker as plain calls.
func (n *Node) worker() {
	defer n.wg.Done()
	for {
		for p := n.next(); p != nil; p = n.next() {
			n.slice(p)
		}
		select {
		case <-n.work:
		case <-n.quit:
			return
		}
	}
}

// slice runs p for one slice on the calling worker and settles what
// follows: ended, waiting, or queued again.
func (n *Node) slice(p *Process) {
	_, err := p.vm.Resume(sliceSteps)
	if w, ok := err.(*vm.Wait); ok {
		n.park(p, w)
		return
	}
	switch {
	case err == vm.ErrSliceDone:
		n.queue(p) // to the back of the queue
	default:
		n.end(p, StatusOf(err), err)
	}
}

// StatusOf is the exit status of a run that ended with err.
func StatusOf(err error) int {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, vm.ErrInterrupted):
		return StatusKilled
	}
	return StatusFault
}

// park makes p wait for a message, unless one came (or it was killed, or
// its time ran out) while it was still running: then it runs again at once.
func (n *Node) park(p *Process, w *vm.Wait) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w.Output {
		n.waitForRoomLocked(p)
		return
	}
	ready := p.mailbox.len() > 0
	if w.Op == vm.OpSpawn { // waiting for the answer, not for mail
		ready = p.links != nil && p.links.spawn.answered
	}
	if ready || p.killed {
		n.queueLocked(p)
		return
	}
	p.state, p.parkedOn = Waiting, w.Op
	if w.Timeout > 0 && p.timer == nil {
		p.timer = n.afterLocked(p, w.Timeout, n.timeUpLocked)
	}
}

// waitForRoomLocked parks p, whose output could not be written at once,
// until it may try again: a childWriter wakes it when its bytes are
// written, a remoteOutput says how long to wait, backing off while the
// member stays slow. They are the only writers that answer
// vm.ErrOutputFull (see newProcess). A kill queues it at once.
func (n *Node) waitForRoomLocked(p *Process) {
	if p.killed {
		n.queueLocked(p)
		return
	}
	p.state = Writing
	switch out := p.out.(type) {
	case *childWriter: // woken when its bytes are written
		if !out.waitFor(func() { n.tryOutputAgain(p) }) {
			n.queueLocked(p)
		}
	case *remoteOutput: // tries again after a while
		p.timer = n.afterLocked(p, out.backOff(), n.tryOutputAgainLocked)
	}
}

// afterLocked starts p's timer: after d, f runs with n.mu held, if the
// timer is still p's. A timer that Stop came too late for (its callback
// already waiting for n.mu) then finds another timer, or none, and does
// nothing: it must not end a later RECVT's wait or a later try's.
// n.mu is held, so the callback sees t set.
func (n *Node) afterLocked(p *Process, d time.Duration, f func(*Process)) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(d, func() { n.fire(p, &t, f) })
	return t
}

// fire runs f for p if *t is still p's timer (read with n.mu held).
func (n *Node) fire(p *Process, t **time.Timer, f func(*Process)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p.timer == *t {
		p.timer = nil
		f(p)
	}
}

// tryOutputAgain queues p to run its PRT* again.
func (n *Node) tryOutputAgain(p *Process) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tryOutputAgainLocked(p)
}

// tryOutputAgainLocked queues p to run its PRT* again.
func (n *Node) tryOutputAgainLocked(p *Process) {
	if p.state == Writing {
		n.queueLocked(p)
	}
}

// timeUpLocked ends a RECVT's wait with nothing received.
func (n *Node) timeUpLocked(p *Process) {
	if p.state == Ended {
		return
	}
	p.vm.TimeOut() // p is waiting or queued: nobody runs its VM
	if p.state == Waiting {
		n.queueLocked(p)
	}
}

// end records that p ended with status and tells its watchers.
func (n *Node) end(p *Process, status int, err error) {
	n.mu.Lock()
	if p.state == Ended {
		n.mu.Unlock()
		return
	}
	p.state, p.status, p.err = Ended, int32(status), err
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	delete(n.procs, p.pid)
	for _, w := range p.watchers.take() {
		n.deliverLocked(w, vm.Message{Value: int32(status), From: p.pid, Exit: true})
	}
	p.mailbox = ring{}
	onExit := p.onExit
	if p.ownsSink {
		delete(n.sinks, p.sink)
	}
	n.unwatchLocked(p)
	remote := n.remote
	var remoteWatchers []remoteWatcher
	var program *cachedProgram
	if p.links != nil {
		program = p.links.program
		remoteWatchers = p.links.watchers.take()
		for _, w := range remoteWatchers {
			if !w.parent {
				n.forgetMonitorLocked(w.alias)
			}
		}
	}
	n.mu.Unlock()
	if remote != nil && len(remoteWatchers) > 0 {
		n.notifyRemote(remote, p, remoteWatchers, status, err)
	}
	// Whoever ends a process runs its VM (a worker, Close once the workers
	// stopped, a foreground process's owner), and nobody runs it again.
	p.vm.Release()
	if program != nil {
		n.programs.done(program)
	}
	close(p.done)
	switch {
	case onExit != nil:
		onExit(status, err)
	case status == StatusFault && n.cfg.OnFault != nil:
		n.cfg.OnFault(p.name, p.pid, err)
	}
}

// deliverLocked puts msg in the mailbox of process to, if it lives, and
// makes it runnable if it waits. A full mailbox drops messages and
// status-4 answers, not the notices of ends.
func (n *Node) deliverLocked(to int32, msg vm.Message) {
	q := n.procs[to]
	if q == nil {
		return
	}
	if q.mailbox.len() >= MailboxLimit && !(msg.Exit && msg.Value != StatusNoSuch) {
		q.dropped++
		return
	}
	q.mailbox.push(msg)
	if q.state == Waiting && q.parkedOn != vm.OpSpawn {
		if q.timer != nil {
			q.timer.Stop()
			q.timer = nil
		}
		n.queueLocked(q)
	}
}

// Kill interrupts p wherever it is (status 2). A waiting or queued process
// ends as soon as it runs again, at the instruction it would have run.
func (p *Process) Kill() {
	n := p.node
	n.mu.Lock()
	defer n.mu.Unlock()
	n.killLocked(p)
}

// isKilled reports whether p was killed and should stop.
func (p *Process) isKilled() bool {
	p.node.mu.Lock()
	defer p.node.mu.Unlock()
	return p.killed
}

// killLocked is Kill with n.mu held.
func (n *Node) killLocked(p *Process) {
	if p.state == Ended || p.state == Idle { // Idle: no run to interrupt
		return
	}
	p.killed = true
	p.vm.Abort()
	if p.state == Starting { // it stops at its first instruction once started
		return
	}
	if p.state == Waiting || p.state == Writing {
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
		if w, ok := p.out.(*childWriter); ok && p.state == Writing {
			w.stopWaiting()
		}
		n.queueLocked(p)
	}
	if p.state == Queued && !p.foreground {
		n.killq = append(n.killq, p)
	}
}

// RunContext runs a foreground process's program from its current pc on
// the calling goroutine, waiting in RECV as long as it takes, until it ends
// or stops (HLT, fault, kill, ctx done): the result of the VM's run. A kill
// that came while no run was under way is forgotten; ctx interrupts this
// run, and its cause is wrapped in the fault. The process stays alive for
// its owner's next run (a REPL line) until End; after End it runs no more
// (ErrEnded): its VM's heap went back to the node at End.
func (p *Process) RunContext(ctx context.Context) (int, error) {
	n := p.node
	n.mu.Lock()
	if p.state == Ended {
		n.mu.Unlock()
		return 1, ErrEnded
	}
	p.killed = false
	p.state = Running
	if p.links != nil { // an interrupted run's SPAWN is not this run's
		p.links.spawn = spawnWait{seq: p.links.spawn.seq}
	}
	p.vm.ClearAbort()
	n.mu.Unlock()
	stop := context.AfterFunc(ctx, p.Kill)
	defer stop()
	for {
		code, err := p.vm.Resume(0)
		w, waiting := err.(*vm.Wait)
		if !waiting {
			n.mu.Lock()
			if p.state != Ended {
				p.state = Idle // until its owner's next run: a message waits in the mailbox
			}
			n.mu.Unlock()
			var f *vm.Fault
			if ctx.Err() != nil && errors.As(err, &f) && f.Err == vm.ErrInterrupted {
				f.Err = fmt.Errorf("%w: %w", vm.ErrInterrupted, context.Cause(ctx))
			}
			return code, err
		}
		n.park(p, w)
		<-p.wake // a message, its time, a kill or Close queued it again
		n.mu.Lock()
		p.state = Running
		n.mu.Unlock()
	}
}

// Retire says that p's owner will run it no more (a REPL whose input has
// ended, waiting for its background programs): Stuck then counts on
// nothing from it. p lives on until End.
func (p *Process) Retire() {
	p.node.mu.Lock()
	defer p.node.mu.Unlock()
	p.retired = true
}

// End ends a foreground process with status: its exit notices go out.
func (p *Process) End(status int, err error) { p.node.end(p, status, err) }

// Wait waits until p ended and returns its status and fault.
func (p *Process) Wait() (int, error) {
	<-p.done
	p.node.mu.Lock()
	defer p.node.mu.Unlock()
	return int(p.status), p.err
}

// Done is closed when p has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// PID is the process's number on its node.
func (p *Process) PID() int32 { return p.pid }

// VM is the process's machine. Only the goroutine that runs the process
// may use it (a foreground process's owner between its Runs).
func (p *Process) VM() *vm.VM { return p.vm }

// A Process is its VM's vm.Runtime: the methods below run its process
// instructions (SELF ... MONITOR).

// Self is p's pid (SELF).
func (p *Process) Self() int32 { return p.pid }

// Parent is the handle of the process that started p, 0 for none (PARENT).
func (p *Process) Parent() int32 { return p.parent }

// Nodes is the number of cluster members, this node included (NODES).
func (p *Process) Nodes() int32 {
	if r := p.node.getRemote(); r != nil {
		return 1 + int32(len(r.Members()))
	}
	if p.node.cfg.Nodes == nil {
		return 1
	}
	return p.node.cfg.Nodes()
}

// Spawn starts a child on this node (member 0) or on another member: then
// it answers pending, and the SPAWN runs again with the answer.
func (p *Process) Spawn(member int32, parent *vm.VM, entry int) (int32, bool, bool) {
	if member != 0 {
		return p.spawnRemote(member, parent, entry)
	}
	n := p.node
	// A full mailbox makes SPAWN fail: the child's exit notice could not be
	// dropped. The origin goes to the child, for MemberLost.
	n.mu.Lock()
	full := p.mailbox.len() >= MailboxLimit
	var origin string
	var program *cachedProgram // c runs it too: it holds it as p does
	if p.links != nil {
		origin, program = p.links.origin, p.links.program
	}
	n.mu.Unlock()
	if full {
		return 0, false, false
	}
	out := n.workerOutput(p.out)
	c, err := n.newProcess(Spec{Name: p.name, Parent: p.pid, NotifyParent: true}, out,
		func(cfg vm.Config) (*vm.VM, error) { return parent.Fork(entry, cfg) })
	if err != nil {
		return 0, false, false
	}
	if ro, ok := out.(*remoteOutput); ok {
		ro.pid = c // before it runs: nothing writes yet
	}
	c.sinkNode, c.sink = p.sinkNode, p.sink
	if origin != "" { // c is not live yet: no lock
		c.links = &remoteLinks{origin: origin, program: program}
		if program != nil {
			n.programs.holdChild(program)
		}
	}
	if n.addChild(c, p) != nil {
		if c.links != nil && c.links.program != nil {
			n.programs.done(c.links.program)
		}
		return 0, false, false
	}
	n.queue(c)
	return c.pid, true, false
}

// Send delivers value to the process with handle to, here or on another
// member; a message to no process is dropped (SEND).
func (p *Process) Send(to, value int32) {
	if to < 0 {
		p.sendRemote(to, value)
		return
	}
	n := p.node
	n.mu.Lock()
	n.deliverLocked(to, vm.Message{Value: value, From: p.pid})
	n.mu.Unlock()
}

// Receive takes the next message from p's mailbox; false when it is empty
// (RECV and RECVT, which then wait).
func (p *Process) Receive() (vm.Message, bool) {
	n := p.node
	n.mu.Lock()
	defer n.mu.Unlock()
	return p.mailbox.pop()
}

// Monitor asks for p's exit notice of process h: at once, status 4, if
// there is no such process. A process watched already is not added twice.
func (p *Process) Monitor(h int32) {
	if h < 0 {
		p.monitorRemote(h)
		return
	}
	n := p.node
	n.mu.Lock()
	defer n.mu.Unlock()
	q := n.procs[h]
	if q != nil && q.watchers.has(p.pid) {
		return // p hears of q's end already: the MONITOR adds nothing
	}
	if n.monitorDroppedLocked(p) {
		return
	}
	if q == nil {
		n.deliverLocked(p.pid, vm.Message{Value: StatusNoSuch, From: h, Exit: true})
		return
	}
	q.watchers.add(p.pid, n.endedLocked)
}

// monitorDroppedLocked drops p's MONITOR, counting it as a dropped
// message, when p's mailbox is full and the MONITOR would ask for a notice
// p is not getting already: exit notices are never dropped, so
// a notice asked for then would be one past the limit, and a process that
// monitors process after process without receiving would hold one for
// each. A mailbox then holds at most MailboxLimit messages and the
// notices of what p spawned or monitored before it filled.
func (n *Node) monitorDroppedLocked(p *Process) bool {
	if p.mailbox.len() < MailboxLimit {
		return false
	}
	p.dropped++
	return true
}

// endedLocked reports whether process pid has ended (or never lived);
// n.mu is held. Pids are not reused, so a pid gone from n.procs is gone
// for good.
func (n *Node) endedLocked(pid int32) bool { return n.procs[pid] == nil }

var _ vm.Runtime = (*Process)(nil)

// Info is one line of a process listing.
type Info struct {
	PID     int32
	State   State
	Name    string
	Mailbox int
	Dropped int64
}

// Processes lists the live processes by pid.
func (n *Node) Processes() []Info {
	n.mu.Lock()
	out := make([]Info, 0, len(n.procs))
	for _, p := range n.procs {
		state := p.state
		switch {
		case state == Idle:
			state = Waiting
		case state == Starting:
			state = Queued
		case state == Waiting && p.parkedOn == vm.OpSpawn, state == Writing:
			state = Running // in a SPAWN on another member or a PRT*, not in RECV
		}
		out = append(out, Info{PID: p.pid, State: state, Name: p.name, Mailbox: p.mailbox.len(), Dropped: p.dropped})
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b Info) int { return int(a.PID) - int(b.PID) })
	return out
}

// Stuck reports whether some process waits and none can go on unless
// something outside the node's processes acts (a kill, a message from
// another member): every process waits in RECV or RECVT with no time
// limit, apart from retired foreground processes; a foreground process
// that is not retired may run again, its owner's next line. A node with
// other members is never stuck: they may send.
func (n *Node) Stuck() bool {
	if r := n.getRemote(); r != nil && len(r.Members()) > 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	waiting := 0
	for _, p := range n.procs {
		switch {
		case p.foreground && p.retired:
		case p.foreground || p.state != Waiting || p.timer != nil || p.parkedOn == vm.OpSpawn:
			return false
		default:
			waiting++
		}
	}
	return waiting > 0
}

// Lookup returns the live process pid.
func (n *Node) Lookup(pid int32) (*Process, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.procs[pid]
	return p, ok
}

// Send delivers value to process to from process from (a REPL's !send).
func (n *Node) Send(from, to, value int32) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.procs[to] == nil {
		return false
	}
	n.deliverLocked(to, vm.Message{Value: value, From: from})
	return true
}

// ring is a FIFO of messages that grows as needed; an empty one holds no
// storage, so a waiting process with no mail costs nothing for it.
type ring struct {
	buf        []vm.Message
	head, size int
}

func (r *ring) len() int { return r.size }

func (r *ring) push(m vm.Message) {
	if r.size == len(r.buf) {
		nb := make([]vm.Message, max(4, 2*len(r.buf)))
		for i := range r.size {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = m
	r.size++
}

func (r *ring) pop() (vm.Message, bool) {
	if r.size == 0 {
		return vm.Message{}, false
	}
	m := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	if r.size == 0 && len(r.buf) > 64 {
		r.buf, r.head = nil, 0 // a drained large mailbox gives its storage back
	}
	return m, true
}
