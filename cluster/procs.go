package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// The process half of the protocol (messages 11-20): the Manager carries
// the frames of the node's process runtime to other members and hands it
// theirs. It knows nothing of processes itself: what a frame means is the
// ProcessHandler's business. Frames to one member travel on its one
// connection, in the order they were given, behind the connection's own
// frames (Ping, Pong, Members), so that process traffic never holds a
// heartbeat back for more than one batch.

// ProcessHandler is what the node's process runtime does with the frames
// other members send. Its methods are called from the reader of the
// connection the frame came on, in the order the frames came, with no
// lock of the Manager held; they must not block for long.
type ProcessHandler interface {
	// Spawn starts the process req describes for member from and returns
	// its pid and a start function, which the Manager calls once the
	// answer is queued (so that the answer goes before anything the new
	// process sends), or why not: an error wrapping ErrSpawnRefused,
	// ErrSpawnTooMany, ErrUnknownProgram, ErrBadProgram, ErrBadEntry,
	// ErrSpawnClosing, ErrSpawnNoPIDs or ErrSpawnNoMemory.
	Spawn(from string, req *SpawnRequest) (pid int32, start func(), err error)
	Send(from string, fromPID, to, value int32)
	Exit(from string, e *ExitNotice)
	Monitor(from string, watcher, target int32)
	Kill(pid int32) bool
	Processes() []ProcessInfo
	// Output hands over what process fromPID of member from printed for
	// sink; data is valid during the call only.
	Output(from string, sink, fromPID int32, data []byte)
	// MemberLost says that member alias is gone (it left, died, fell
	// silent, or it came back on a new connection, which may have lost
	// frames; left: this node left the cluster): nothing more comes from
	// its processes.
	MemberLost(alias string, left bool)
}

// SpawnRequest is a process to start on another member: the program
// Program (a bytecode file) whose SHA-256 is Hash, run from Entry with the
// registers given. Parent is the starter's pid on the sending node; the
// output goes to sink Sink of member SinkNode; Report asks for the fault
// and events in the exit notice to the parent. The Manager sends the
// program only when the member may not hold it already.
type SpawnRequest struct {
	Name     string
	Parent   int32
	Hash     [32]byte
	Program  []byte
	Entry    int32
	Regs     [32]int32
	FRegs    [32]float64
	SinkNode string
	Sink     int32
	Report   bool
}

// ExitNotice tells process To on the receiving node that process From on
// the sending node ended with Status; see wire.Exit.
type ExitNotice struct {
	From, To int32
	Status   int
	Parent   bool
	Fault    string
	Events   []ExitEvent
}

// ExitEvent is one entry of an ended process's event log: Kind 1 start,
// 2 stop, 3 crash.
type ExitEvent struct {
	At    time.Time
	Kind  uint8
	Code  int
	Fault string
}

// ProcessInfo is one process of a member's listing: State 0 queued,
// 1 running, 2 waiting.
type ProcessInfo struct {
	PID     int32
	State   uint8
	Name    string
	Mailbox int
	Dropped int64
}

// Errors of process requests. A refused spawn says why with one of the
// first eight; the node that refused acts on its own flags.
var (
	ErrSpawnRefused    = errors.New("the member refuses remote spawns (--remote-spawn=false)")
	ErrSpawnTooMany    = errors.New("the member runs its maximum of processes (--max-processes)")
	ErrUnknownProgram  = errors.New("the member does not hold the program")
	ErrBadProgram      = errors.New("the member found the program invalid")
	ErrBadEntry        = errors.New("the entry is not an instruction of the program")
	ErrSpawnClosing    = errors.New("the member is shutting down")
	ErrSpawnNoPIDs     = errors.New("the member has given every pid up to 2147483647 and gives none twice (restart it)")
	ErrSpawnNoMemory   = errors.New("the program does not fit in what is left of the member's memory for processes (--max-heap)")
	ErrProgramTooLarge = errors.New("the program is too large for one frame")
	// ErrNoMember: no connected member has that alias.
	ErrNoMember = errors.New("not a connected member")
	// ErrMemberLost: the member's connection ended before it answered.
	ErrMemberLost = errors.New("the member was lost before it answered")
	// ErrBusy: the connection's queue to the member is full.
	ErrBusy = errors.New("the connection to the member is too busy")
	// ErrSpawnTimeout: the member did not answer a spawn within
	// Config.SpawnTimeout.
	ErrSpawnTimeout = errors.New("the member did not answer the spawn in time")
)

var spawnErrors = [...]error{
	wire.SpawnUnknownProgram: ErrUnknownProgram,
	wire.SpawnRefused:        ErrSpawnRefused,
	wire.SpawnTooMany:        ErrSpawnTooMany,
	wire.SpawnBadProgram:     ErrBadProgram,
	wire.SpawnBadEntry:       ErrBadEntry,
	wire.SpawnClosing:        ErrSpawnClosing,
	wire.SpawnNoPIDs:         ErrSpawnNoPIDs,
	wire.SpawnNoMemory:       ErrSpawnNoMemory,
}

// spawnCode is the answer code of a handler's refusal.
func spawnCode(err error) wire.SpawnCode {
	for code, e := range spawnErrors {
		if e != nil && errors.Is(err, e) {
			return wire.SpawnCode(code)
		}
	}
	return wire.SpawnClosing
}

// spawnError is the error of a refusal with code.
func spawnError(code wire.SpawnCode) error {
	if int(code) < len(spawnErrors) && spawnErrors[code] != nil {
		return spawnErrors[code]
	}
	return fmt.Errorf("the member refused the spawn (code %d)", code)
}

// procState is the Manager's part in process traffic. Its zero value is
// ready.
type procState struct {
	handler atomic.Pointer[ProcessHandler]
	routes  atomic.Pointer[routes]
	lastRef atomic.Uint64

	mu   sync.Mutex
	sent map[string]*sentPrograms // by member alias, across its connections
}

// sentTo returns the programs sent to member alias.
func (s *procState) sentTo(alias string) *sentPrograms {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string]*sentPrograms{}
	}
	sp := s.sent[alias]
	if sp == nil {
		sp = &sentPrograms{}
		s.sent[alias] = sp
	}
	return sp
}

// routes are the connected members, as process traffic finds them without
// the Manager's mutex. A change of the member list only marks them stale
// (nil); the first process frame after it builds them again. Forming a
// mesh changes each node's list once per member, and building them at
// every change cost each node O(N²) while nobody sent a frame.
type routes struct {
	byAlias map[string]*peer
	aliases []string // sorted; this node not included
}

// SetProcessHandler gives the frames of other members' processes to h.
// Until it is set, spawns are refused and the rest is dropped.
func (m *Manager) SetProcessHandler(h ProcessHandler) { m.proc.handler.Store(&h) }

func (m *Manager) processHandler() ProcessHandler {
	if h := m.proc.handler.Load(); h != nil {
		return *h
	}
	return nil
}

// currentRoutes returns the routes, building them if the member list
// changed since they were built. It takes m.mu then, so it must not be
// called with m.mu held (process traffic never is).
func (m *Manager) currentRoutes() *routes {
	if r := m.proc.routes.Load(); r != nil {
		return r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.proc.routes.Load(); r != nil {
		return r // built while this waited for m.mu
	}
	r := &routes{byAlias: map[string]*peer{}}
	if m.sess != nil {
		for _, p := range m.sess.members.peers(nil) {
			r.byAlias[p.alias] = p
			r.aliases = append(r.aliases, p.alias)
		}
	}
	slices.Sort(r.aliases)
	m.proc.routes.Store(r)
	return r
}

func (m *Manager) route(alias string) *peer { return m.currentRoutes().byAlias[alias] }

// OtherMembers returns the connected members but this node, sorted by
// alias: SPAWN's members 1 and up. The slice must not be changed.
func (m *Manager) OtherMembers() []string { return m.currentRoutes().aliases }

// spawnFrameOverhead bounds the bytes of a Spawn frame besides its
// program and name.
const spawnFrameOverhead = 1024

// Spawn asks member alias to start the process req describes. done is
// called once, possibly before Spawn returns, with the new pid or why not
// (ErrNoMember, ErrProgramTooLarge, ErrBusy, ErrMemberLost,
// ErrSpawnTimeout, or the member's refusal).
func (m *Manager) Spawn(alias string, req *SpawnRequest, done func(pid int32, err error)) {
	name := clean(req.Name, wire.MaxNameLen) // what the frame carries: invalid bytes take three
	if room := m.cfg.MaxFrameSize - len(name) - len(req.SinkNode) - spawnFrameOverhead; len(req.Program) > room {
		done(0, fmt.Errorf("%w: %d bytes, at most %d fit (the frame limit is %d)", ErrProgramTooLarge, len(req.Program), room, m.cfg.MaxFrameSize))
		return
	}
	p := m.route(alias)
	if p == nil {
		done(0, fmt.Errorf("%s: %w", alias, ErrNoMember))
		return
	}
	msg := &wire.Spawn{Ref: m.proc.lastRef.Add(1), Parent: req.Parent, Name: name, Hash: req.Hash,
		Entry: req.Entry, Regs: req.Regs, FRegs: req.FRegs, SinkNode: req.SinkNode, Sink: req.Sink, Report: req.Report}
	if err := p.procs.spawn(p, m.proc.sentTo(alias), msg, req.Program, done); err != nil {
		done(0, err)
	}
}

// Send carries a message from process from (here) to process to on
// member alias; false if it was dropped.
func (m *Manager) Send(alias string, from, to, value int32) bool {
	p := m.route(alias)
	return p != nil && p.procs.push(p, procItem{kind: wire.MsgSend, a: from, b: to, c: value}, nil)
}

// Exit carries an exit notice to member alias.
func (m *Manager) Exit(alias string, e *ExitNotice) bool {
	p := m.route(alias)
	if p == nil {
		return false
	}
	// The notice fits one frame: the fault cut to what the limit leaves,
	// then the newest events that fit (a VM keeps up to wire.MaxEvents,
	// each with a fault of its own).
	room := m.cfg.MaxFrameSize - exitFrameOverhead
	msg := &wire.Exit{From: e.From, To: e.To, Status: int32(e.Status), Parent: e.Parent,
		Fault: clean(e.Fault, min(wire.MaxErrorLen, room))}
	room -= len(msg.Fault)
	events := e.Events[max(0, len(e.Events)-wire.MaxEvents):]
	kept := make([]wire.ExitEvent, 0, len(events))
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		we := wire.ExitEvent{At: ev.At.UnixNano(), Kind: ev.Kind, Code: int32(ev.Code), Fault: clean(ev.Fault, wire.MaxErrorLen)}
		if room -= we.Msgsize(); room < 0 {
			break
		}
		kept = append(kept, we)
	}
	if len(kept) > 0 {
		slices.Reverse(kept)
		msg.Events = kept
	}
	return p.procs.push(p, procItem{kind: wire.MsgExit, msg: msg}, nil)
}

// exitFrameOverhead bounds the bytes of an Exit frame besides its fault and
// its events.
const exitFrameOverhead = 128

// Monitor asks member alias for an exit notice to watcher (here) when its
// process target ends.
func (m *Manager) Monitor(alias string, watcher, target int32) bool {
	p := m.route(alias)
	return p != nil && p.procs.push(p, procItem{kind: wire.MsgMonitor, a: watcher, b: target}, nil)
}

// outputChunk is the most bytes of output one Output frame carries:
// wire.MaxOutputChunk, or less where MaxFrameSize is smaller.
func (c *Config) outputChunk() int {
	return min(wire.MaxOutputChunk, c.MaxFrameSize-outputFrameOverhead)
}

// outputFrameOverhead bounds the bytes of an Output frame besides its data.
const outputFrameOverhead = 64

// Output carries what process from printed to sink on member alias, in
// chunks of at most wire.MaxOutputChunk bytes, each written in frames that
// fit the frame limit; data is copied. false: the
// member is gone, or its connection's queue is full (try again later).
// Data of more than one chunk may then be partly queued: a caller that
// tries again passes at most one chunk at a time.
func (m *Manager) Output(alias string, sink, from int32, data []byte) bool {
	p := m.route(alias)
	if p == nil {
		return false
	}
	for len(data) > 0 {
		k := min(len(data), wire.MaxOutputChunk)
		if !p.procs.push(p, procItem{kind: wire.MsgOutput, a: sink, b: from}, data[:k]) {
			return false
		}
		data = data[k:]
	}
	return true
}

// KillProcess interrupts process pid on member alias and reports whether
// there was one.
func (m *Manager) KillProcess(ctx context.Context, alias string, pid int32) (bool, error) {
	p := m.route(alias)
	if p == nil {
		return false, fmt.Errorf("%s: %w", alias, ErrNoMember)
	}
	ref := m.proc.lastRef.Add(1)
	r, err := p.procs.request(ctx, p, ref, &wire.Kill{Ref: ref, PID: pid})
	return r.found, err
}

// ListProcesses returns the processes of member alias.
func (m *Manager) ListProcesses(ctx context.Context, alias string) ([]ProcessInfo, error) {
	p := m.route(alias)
	if p == nil {
		return nil, fmt.Errorf("%s: %w", alias, ErrNoMember)
	}
	ref := m.proc.lastRef.Add(1)
	r, err := p.procs.request(ctx, p, ref, &wire.ListProcesses{Ref: ref})
	return r.procs, err
}

// DroppedProcessFrames returns how many messages (Send frames) to member
// alias were dropped because its connection's queue was full. A refused
// Output is not counted: its caller tries again.
func (m *Manager) DroppedProcessFrames(alias string) uint64 {
	if p := m.route(alias); p != nil {
		return p.procs.dropped.Load()
	}
	return 0
}

// clean makes s valid UTF-8 of at most n bytes, as the receiver demands.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}

// lostMember tells the process handler that member alias is gone; left:
// because this node left.
func (m *Manager) lostMember(alias string, left bool) {
	if h := m.processHandler(); h != nil {
		h.MemberLost(alias, left)
	}
}
