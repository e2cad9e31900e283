package cluster

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// Bounds of one connection's process queue. Messages, output and new
// spawns that do not fit under the soft bounds are dropped (and counted,
// or refused); answers, exit notices, monitors, kills and listings are
// kept up to hardFactor times the bounds, past which the member is
// dropped, as for the connection's own queue: a member that reads nothing
// cannot grow this node's memory. A batch being written counts apart, so
// a connection holds at most about twice the bounds.
const (
	procQueueItems  = 1 << 16
	procQueueBytes  = 16 << 20
	hardFactor      = 4
	procBatchBytes  = 64 << 10 // written before the connection's own frames get their turn
	maxSentPrograms = 1024     // programs remembered as sent to a member
	maxListed       = 1 << 20  // processes kept of one member's listing
	// maxListedBytes bounds the names kept of one member's listing: names
	// may be 1 KiB each, and a million of them would be a gigabyte for
	// each !processes under way.
	maxListedBytes = 64 << 20
)

// procItem is one process frame waiting for the writer. Send and Monitor
// travel in a, b, c and Output's bytes in the queue's arena, so that
// queueing them allocates nothing; the other kinds are msg.
type procItem struct {
	kind    wire.MsgType
	a, b, c int32
	off, n  int // Output: arena[off:off+n]
	msg     wire.Message
	size    int // bytes counted against procQueueBytes besides the arena's
}

// peerProcs is a connection's process traffic: the queue its writer
// drains and the requests waiting for the member's answers. Its zero value
// is ready.
type peerProcs struct {
	mu     sync.Mutex
	queue  []procItem
	arena  []byte
	bytes  int
	closed bool
	spawns map[uint64]*pendingSpawn
	calls  map[uint64]*pendingCall
	late   map[uint64]struct{} // spawns that timed out: a process they start is killed

	dropped atomic.Uint64 // messages dropped for a full queue

	// serving is held by the reader while it hands one frame to the
	// handler; retired, set under it by retire, makes the reader hand over
	// nothing more. So once retire returns the handler hears nothing more
	// of this connection, and a MemberLost told after it is the last word:
	// no process the connection asked for starts after the sweep. Only the
	// reader and retire take it, and retire has to wait for the frame in
	// hand whatever the mechanism.
	serving sync.Mutex
	retired bool

	// The writer's spare buffers and encoders (writer only).
	spareQ []procItem
	spareA []byte
	tx     struct {
		send    wire.Send
		monitor wire.Monitor
		out     wire.Output
	}
	// The reader's decoders (reader only).
	rx struct {
		send    wire.Send
		monitor wire.Monitor
		out     wire.Output
		ack     wire.SpawnAck
		kill    wire.Kill
		killAck wire.KillAck
		list    wire.ListProcesses
	}
}

type pendingSpawn struct {
	msg     *wire.Spawn
	program []byte
	sent    *sentPrograms
	resent  bool
	done    func(pid int32, err error)
	timer   *time.Timer // Config.SpawnTimeout: spawnTimedOut
}

// maxLateSpawns bounds peerProcs.late: past it the set starts again, and
// a process that a spawn long timed out starts runs on unwatched.
const maxLateSpawns = 1024

type pendingCall struct {
	procs []ProcessInfo
	names int             // the bytes of procs' names
	ch    chan callResult // capacity 1
}

type callResult struct {
	found bool
	procs []ProcessInfo
	err   error
}

// droppable reports the kinds of frame that a full queue drops.
func droppable(k wire.MsgType) bool {
	return k == wire.MsgSend || k == wire.MsgOutput || k == wire.MsgSpawn
}

// extends reports whether Output item next, of n bytes, can join this
// one: output of the same process for the same sink, this item's bytes
// last in the arena (of arenaLen bytes), and the two within one chunk.
func (it *procItem) extends(next procItem, arenaLen, n int) bool {
	return it.kind == wire.MsgOutput && it.a == next.a && it.b == next.b &&
		it.off+it.n == arenaLen && it.n+n <= wire.MaxOutputChunk
}

// push queues it (and data, for Output) for p's writer. It never blocks;
// false means the frame was dropped: the queue is full or closed.
func (q *peerProcs) push(p *peer, it procItem, data []byte) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	n, b := len(q.queue), q.bytes+len(data)+it.size
	if droppable(it.kind) && (n >= procQueueItems || b > procQueueBytes) {
		q.mu.Unlock()
		// A Spawn is refused, an Output tried again; a Send is lost,
		// counted (Member.Dropped, the log when the connection ends) and
		// said so at the first of a connection.
		if it.kind == wire.MsgSend && q.dropped.Add(1) == 1 {
			p.log.Warn("process queue full: dropping messages to this member")
		}
		return false
	}
	if n >= hardFactor*procQueueItems || b > hardFactor*procQueueBytes {
		q.mu.Unlock()
		p.log.Warn("process queue full, dropping peer")
		p.closeFor("process queue full")
		return false
	}
	if it.kind == wire.MsgOutput && n > 0 && q.queue[n-1].extends(it, len(q.arena), len(data)) {
		// More output of the process for the same sink, right behind
		// its last: one frame, not one per PRTI.
		q.queue[n-1].n += len(data)
		q.arena = append(q.arena, data...)
		q.bytes = b
		q.mu.Unlock()
		return true
	}
	if data != nil {
		it.off, it.n = len(q.arena), len(data)
		q.arena = append(q.arena, data...)
	}
	q.bytes = b
	q.queue = append(q.queue, it)
	q.mu.Unlock()
	if n == 0 { // the writer empties the queue whenever it wakes
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// spawn queues msg, with the program unless it went to the member before
// (sent), and remembers it until its answer.
func (q *peerProcs) spawn(p *peer, sent *sentPrograms, msg *wire.Spawn, program []byte, done func(int32, error)) error {
	ps := &pendingSpawn{msg: msg, program: program, sent: sent, done: done}
	had := sent.mark(msg.Hash)
	if !had {
		msg.Program = program
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return fmt.Errorf("%s: %w", p.alias, ErrMemberLost)
	}
	if q.spawns == nil {
		q.spawns = map[uint64]*pendingSpawn{}
	}
	q.spawns[msg.Ref] = ps
	ps.timer = time.AfterFunc(p.m.cfg.SpawnTimeout, func() { q.spawnTimedOut(p, msg.Ref) })
	q.mu.Unlock()
	if !q.push(p, procItem{kind: wire.MsgSpawn, msg: msg, size: len(msg.Program)}, nil) {
		ps.timer.Stop()
		if !had {
			sent.forget(msg.Hash)
		}
		if !q.take(msg.Ref, ps) {
			return nil // it timed out meanwhile: done has been called
		}
		return fmt.Errorf("%s: %w", p.alias, ErrBusy)
	}
	return nil
}

// take removes spawn ref, if it is still ps, and reports whether it did:
// whoever takes a spawn calls its done, so that done is called once.
func (q *peerProcs) take(ref uint64, ps *pendingSpawn) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.spawns[ref] != ps {
		return false
	}
	delete(q.spawns, ref)
	return true
}

// spawnTimedOut fails spawn ref, which the member has not answered in
// Config.SpawnTimeout, and remembers it, so that a process it starts all
// the same is killed (spawnAnswered).
func (q *peerProcs) spawnTimedOut(p *peer, ref uint64) {
	q.mu.Lock()
	ps := q.spawns[ref]
	if ps == nil { // answered meanwhile, or the connection ended
		q.mu.Unlock()
		return
	}
	delete(q.spawns, ref)
	if q.late == nil || len(q.late) >= maxLateSpawns {
		q.late = map[uint64]struct{}{}
	}
	q.late[ref] = struct{}{}
	q.mu.Unlock()
	ps.done(0, fmt.Errorf("%s: %w (%v)", p.alias, ErrSpawnTimeout, p.m.cfg.SpawnTimeout))
}

// sentPrograms are the programs sent to one member, on this connection or
// an earlier one: a spawn of one of them carries its hash alone. If the
// member no longer holds it (it restarted, or dropped it from its cache)
// it says so, and the spawn is sent again with the program. The set is
// bounded; forgetting costs a program sent again, nothing more.
type sentPrograms struct {
	mu     sync.Mutex
	hashes map[[32]byte]struct{}
}

// mark records hash as sent and reports whether it was already.
func (s *sentPrograms) mark(hash [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hashes[hash]; ok {
		return true
	}
	if s.hashes == nil || len(s.hashes) >= maxSentPrograms {
		s.hashes = map[[32]byte]struct{}{}
	}
	s.hashes[hash] = struct{}{}
	return false
}

func (s *sentPrograms) forget(hash [32]byte) {
	s.mu.Lock()
	delete(s.hashes, hash)
	s.mu.Unlock()
}

// request sends msg (Kill, ListProcesses) and waits for its answer.
func (q *peerProcs) request(ctx context.Context, p *peer, ref uint64, msg wire.Message) (callResult, error) {
	c := &pendingCall{ch: make(chan callResult, 1)}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return callResult{}, fmt.Errorf("%s: %w", p.alias, ErrMemberLost)
	}
	if q.calls == nil {
		q.calls = map[uint64]*pendingCall{}
	}
	q.calls[ref] = c
	q.mu.Unlock()
	forget := func() {
		q.mu.Lock()
		delete(q.calls, ref)
		q.mu.Unlock()
	}
	if !q.push(p, procItem{kind: msg.Type(), msg: msg}, nil) {
		forget()
		return callResult{}, fmt.Errorf("%s: %w", p.alias, ErrMemberLost)
	}
	select {
	case r := <-c.ch:
		return r, r.err
	case <-ctx.Done():
		forget()
		return callResult{}, fmt.Errorf("%s: %w", p.alias, context.Cause(ctx))
	}
}

// answer completes request ref; false if nobody waits for it.
func (q *peerProcs) answer(ref uint64, r callResult) {
	q.mu.Lock()
	c := q.calls[ref]
	delete(q.calls, ref)
	q.mu.Unlock()
	if c != nil {
		c.ch <- r
	}
}

// close ends the connection's process traffic: what waits for an answer
// fails with ErrMemberLost, and nothing more is queued. Called by the
// reader when the connection has ended.
func (q *peerProcs) close(p *peer) {
	q.mu.Lock()
	q.closed = true
	spawns, calls := q.spawns, q.calls
	q.spawns, q.calls, q.late = nil, nil, nil
	q.queue, q.arena = nil, nil
	q.mu.Unlock()
	err := fmt.Errorf("%s: %w", p.alias, ErrMemberLost)
	for _, ps := range spawns {
		ps.timer.Stop()
		ps.done(0, err)
	}
	for _, c := range calls {
		c.ch <- callResult{err: err}
	}
}

// retire makes the reader drop the process frames it reads from now on,
// and returns once a frame it is handing over has been handled. Called
// when another connection replaced this one, before its member is told
// lost: the old reader may still hold frames it read before the close.
func (q *peerProcs) retire() {
	q.serving.Lock()
	q.retired = true
	q.serving.Unlock()
}

// empty reports whether no process frame waits for the writer.
func (q *peerProcs) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue) == 0
}

// flush writes the queue until it is empty (writer only), letting the
// connection's own frames through (between) after every procBatchBytes.
// false: the connection failed.
func (q *peerProcs) flush(p *peer, between func() bool) bool {
	for {
		q.mu.Lock()
		batch, arena := q.queue, q.arena
		if len(batch) == 0 {
			q.mu.Unlock()
			return true
		}
		q.queue, q.arena, q.bytes = q.spareQ[:0], q.spareA[:0], 0
		q.mu.Unlock()
		written := 0
		for i := range batch {
			if written >= procBatchBytes {
				if written = 0; !between() { // it flushes the chunk before, too
					return false
				}
			}
			n, err := q.write(p, &batch[i], arena)
			if err != nil {
				p.writeFailed(err)
				return false
			}
			written += n
		}
		if err := p.fw.Flush(); err != nil {
			p.writeFailed(err)
			return false
		}
		clear(batch) // no message stays referenced
		q.spareQ, q.spareA = batch[:0], arena[:0]
	}
}

// write encodes one item into the connection's buffer and returns about
// how many bytes that took.
func (q *peerProcs) write(p *peer, it *procItem, arena []byte) (int, error) {
	var msg wire.Message
	n := 16
	switch it.kind {
	case wire.MsgSend:
		q.tx.send = wire.Send{From: it.a, To: it.b, Value: it.c}
		msg = &q.tx.send
	case wire.MsgMonitor:
		q.tx.monitor = wire.Monitor{Watcher: it.a, Target: it.b}
		msg = &q.tx.monitor
	case wire.MsgOutput:
		// In frames that fit the frame limit, which may be below
		// wire.MaxOutputChunk: the item stays whole in the queue, so
		// that Output queues all of its data or none.
		data, chunk := arena[it.off:it.off+it.n], p.m.cfg.outputChunk()
		for len(data) > chunk {
			q.tx.out = wire.Output{Sink: it.a, From: it.b, Data: data[:chunk]}
			if err := p.fw.WriteMessage(&q.tx.out); err != nil {
				q.tx.out.Data = nil
				return n, err
			}
			data, n = data[chunk:], n+chunk
		}
		q.tx.out = wire.Output{Sink: it.a, From: it.b, Data: data}
		msg, n = &q.tx.out, n+len(data)
	default:
		msg, n = it.msg, n+it.size
	}
	err := p.fw.WriteMessage(msg)
	q.tx.out.Data = nil
	return n, err
}

// frame handles a process frame from the member (reader only); an error
// is a protocol violation.
func (q *peerProcs) frame(p *peer, t wire.MsgType, body []byte) error {
	q.serving.Lock()
	defer q.serving.Unlock()
	if q.retired {
		return nil
	}
	h := p.m.processHandler()
	switch t {
	case wire.MsgSend:
		q.rx.send = wire.Send{}
		if err := wire.DecodeInto(&q.rx.send, body); err != nil {
			return err
		}
		if h != nil {
			h.Send(p.alias, q.rx.send.From, q.rx.send.To, q.rx.send.Value)
		}
	case wire.MsgMonitor:
		q.rx.monitor = wire.Monitor{}
		if err := wire.DecodeInto(&q.rx.monitor, body); err != nil {
			return err
		}
		if h != nil {
			h.Monitor(p.alias, q.rx.monitor.Watcher, q.rx.monitor.Target)
		}
	case wire.MsgOutput:
		q.rx.out = wire.Output{Data: q.rx.out.Data[:0]}
		if err := wire.DecodeInto(&q.rx.out, body); err != nil {
			return err
		}
		if h != nil && len(q.rx.out.Data) > 0 {
			h.Output(p.alias, q.rx.out.Sink, q.rx.out.From, q.rx.out.Data)
		}
	case wire.MsgExit:
		m, err := wire.DecodeMessage(t, body)
		if err != nil {
			return err
		}
		if h != nil {
			h.Exit(p.alias, exitNotice(m.(*wire.Exit)))
		}
	case wire.MsgSpawn:
		m, err := wire.DecodeMessage(t, body)
		if err != nil {
			return err
		}
		q.serveSpawn(p, h, m.(*wire.Spawn))
	case wire.MsgSpawnAck:
		q.rx.ack = wire.SpawnAck{}
		if err := wire.DecodeInto(&q.rx.ack, body); err != nil {
			return err
		}
		q.spawnAnswered(p, q.rx.ack)
	case wire.MsgKill:
		q.rx.kill = wire.Kill{}
		if err := wire.DecodeInto(&q.rx.kill, body); err != nil {
			return err
		}
		found := h != nil && h.Kill(q.rx.kill.PID)
		q.push(p, procItem{kind: wire.MsgKillAck, msg: &wire.KillAck{Ref: q.rx.kill.Ref, Found: found}}, nil)
	case wire.MsgKillAck:
		q.rx.killAck = wire.KillAck{}
		if err := wire.DecodeInto(&q.rx.killAck, body); err != nil {
			return err
		}
		q.answer(q.rx.killAck.Ref, callResult{found: q.rx.killAck.Found})
	case wire.MsgListProcesses:
		q.rx.list = wire.ListProcesses{}
		if err := wire.DecodeInto(&q.rx.list, body); err != nil {
			return err
		}
		q.serveList(p, h, q.rx.list.Ref)
	case wire.MsgProcesses:
		m, err := wire.DecodeMessage(t, body)
		if err != nil {
			return err
		}
		q.listed(m.(*wire.Processes))
	}
	return nil
}

// serveSpawn starts the process a Spawn asks for and answers it, before
// the process can send anything.
func (q *peerProcs) serveSpawn(p *peer, h ProcessHandler, s *wire.Spawn) {
	ack := &wire.SpawnAck{Ref: s.Ref, Code: wire.SpawnClosing}
	var start func()
	if h != nil {
		req := &SpawnRequest{Name: s.Name, Parent: s.Parent, Hash: s.Hash, Program: s.Program, Entry: s.Entry,
			Regs: s.Regs, FRegs: s.FRegs, SinkNode: s.SinkNode, Sink: s.Sink, Report: s.Report}
		if len(req.Program) == 0 {
			req.Program = nil // the hash alone
		}
		pid, st, err := h.Spawn(p.alias, req)
		if err != nil {
			ack.Code = spawnCode(err)
		} else {
			ack.PID, ack.Code, start = pid, wire.SpawnOK, st
		}
	}
	q.push(p, procItem{kind: wire.MsgSpawnAck, msg: ack}, nil)
	if start != nil {
		start()
	}
}

// spawnAnswered completes a spawn, or sends the program a member did not
// hold (once).
func (q *peerProcs) spawnAnswered(p *peer, ack wire.SpawnAck) {
	q.mu.Lock()
	ps := q.spawns[ack.Ref]
	delete(q.spawns, ack.Ref)
	_, late := q.late[ack.Ref]
	delete(q.late, ack.Ref)
	resend := ps != nil && ack.Code == wire.SpawnUnknownProgram && !ps.resent
	if resend {
		ps.resent = true
		ps.msg.Program = ps.program // the writer is done with msg: its answer came
		q.spawns[ack.Ref] = ps
	}
	q.mu.Unlock()
	if ps != nil && !resend {
		ps.timer.Stop()
	}
	switch {
	case ps == nil && late && ack.Code == wire.SpawnOK:
		// Its spawner gave up waiting: nobody would watch the process.
		q.push(p, procItem{kind: wire.MsgKill, msg: &wire.Kill{Ref: p.m.proc.lastRef.Add(1), PID: ack.PID}}, nil)
	case ps == nil:
	case resend:
		if !q.push(p, procItem{kind: wire.MsgSpawn, msg: ps.msg, size: len(ps.program)}, nil) && q.take(ack.Ref, ps) {
			ps.timer.Stop()
			ps.done(0, fmt.Errorf("%s: %w", p.alias, ErrBusy))
		}
	case ack.Code == wire.SpawnOK:
		ps.done(ack.PID, nil)
	default:
		ps.done(0, fmt.Errorf("%s: %w", p.alias, spawnError(ack.Code)))
	}
}

// serveList answers ListProcesses in frames of at most wire.MaxProcesses
// entries that fit the frame limit: names of up to wire.MaxNameLen bytes
// make a full frame of entries several MB.
func (q *peerProcs) serveList(p *peer, h ProcessHandler, ref uint64) {
	var list []ProcessInfo
	if h != nil {
		list = h.Processes()
	}
	room := p.m.cfg.MaxFrameSize - processesFrameOverhead
	nameLen := min(wire.MaxNameLen, room-processInfoOverhead)
	for {
		msg := &wire.Processes{Ref: ref}
		size := 0
		for _, pi := range list[:min(len(list), wire.MaxProcesses)] {
			info := wire.ProcessInfo{PID: pi.PID, State: pi.State, Name: clean(pi.Name, nameLen),
				Mailbox: uint32(pi.Mailbox), Dropped: uint64(pi.Dropped)}
			n := info.Msgsize()
			if size+n > room && len(msg.Procs) > 0 {
				break
			}
			msg.Procs, size = append(msg.Procs, info), size+n
		}
		list = list[len(msg.Procs):]
		msg.Done = len(list) == 0
		if !q.push(p, procItem{kind: wire.MsgProcesses, msg: msg, size: size}, nil) || msg.Done {
			return
		}
	}
}

// processesFrameOverhead bounds the bytes of a Processes frame besides its
// entries, processInfoOverhead those of an entry besides its name (a name
// is cut to what a frame of one entry leaves).
const (
	processesFrameOverhead = 64
	processInfoOverhead    = 64
)

// listed adds a part of a listing to the request waiting for it.
func (q *peerProcs) listed(m *wire.Processes) {
	q.mu.Lock()
	c := q.calls[m.Ref]
	if c != nil {
		for _, pi := range m.Procs {
			if len(c.procs) < maxListed && c.names+len(pi.Name) <= maxListedBytes {
				c.names += len(pi.Name)
				c.procs = append(c.procs, ProcessInfo{PID: pi.PID, State: pi.State, Name: pi.Name,
					Mailbox: int(pi.Mailbox), Dropped: int64(min(pi.Dropped, 1<<63-1))})
			}
		}
	}
	q.mu.Unlock()
	if c != nil && m.Done {
		q.answer(m.Ref, callResult{procs: c.procs})
	}
}

func exitNotice(m *wire.Exit) *ExitNotice {
	e := &ExitNotice{From: m.From, To: m.To, Status: int(m.Status), Parent: m.Parent, Fault: m.Fault}
	for _, ev := range m.Events {
		e.Events = append(e.Events, ExitEvent{At: time.Unix(0, ev.At), Kind: ev.Kind, Code: int(ev.Code), Fault: ev.Fault})
	}
	return e
}

// progressWriter is the connection as its writer sees it: every write of
// the buffered frames (up to its buffer's size) must complete within
// timeout. A member that reads slowly keeps its connection however long a
// batch takes; one that reads nothing loses it after timeout.
//
// The kernel's send buffer of the connection is kept to sendBuffer: a
// blocked write goes on only once about half of that buffer has drained,
// so the buffer decides how slowly a member may read (sendBuffer/2 per
// timeout) and how much of this node's memory it holds.
type progressWriter struct {
	conn    net.Conn
	timeout time.Duration
	sentAt  *atomic.Int64 // clock() when a write last completed
	// wrote bounds the bytes that went to the kernel, records included:
	// each Write counts in full, as if it went out, plus the most TLS 1.3
	// adds to it (records of at least 1 KiB, 22 bytes each).
	wrote int64
}

// sendBuffer is the kernel's send buffer of a cluster connection. At
// 512 KiB it still carries several MB/s over a link of 100 ms round trip.
const sendBuffer = 512 << 10

func newProgressWriter(raw, conn net.Conn, timeout time.Duration, sentAt *atomic.Int64) *progressWriter {
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetWriteBuffer(sendBuffer)
	}
	return &progressWriter{conn: conn, timeout: timeout, sentAt: sentAt}
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.wrote += int64(len(b)) + int64(len(b))/32 + 64
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	n, err := w.conn.Write(b)
	if err == nil {
		w.sentAt.Store(clock())
	}
	return n, err
}
