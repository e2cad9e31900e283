package vm

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Runtime is what the process instructions (SELF ... MONITOR, opcodes
// 53-60) need from the runtime that runs this VM as a process: the VM
// declares it and knows nothing of its implementation. Each VM has its own
// (Self differs); a VM without one is a lone process: SELF and PARENT give
// 0, NODES 1, SPAWN fails, SEND drops, MONITOR answers nothing, and RECV
// waits for ever.
//
// The methods are called from the goroutine running the VM, never
// concurrently for one VM. None of them may block: a process that waits
// for a message is parked by its runtime, not by a blocked goroutine (see
// Wait).
type Runtime interface {
	// Self is this process's pid.
	Self() int32
	// Parent is the handle of the process that started this one, 0 if none.
	Parent() int32
	// Nodes is the number of cluster members, this node included.
	Nodes() int32
	// Spawn starts a process on member (0: this node) running parent's
	// program from entry (a valid code address), with a copy of parent's
	// registers (Fork makes that VM; Share and ForkWith serve another
	// node). It returns the new process's handle, or ok false if no
	// process started. When the answer takes a while (another member must
	// reply), it returns pending instead: the VM parks at the SPAWN (Run
	// returns a *Wait with Op OpSpawn), and the runtime runs it again once
	// the answer is in, executing the SPAWN again; that Spawn gives the
	// answer.
	Spawn(member int32, parent *VM, entry int) (handle int32, ok, pending bool)
	// Send sends value to the process with handle to; it drops it if
	// there is no such process.
	Send(to, value int32)
	// Receive takes the next message from the mailbox, if there is one.
	Receive() (msg Message, ok bool)
	// Monitor asks for an exit notice when the process with handle h ends.
	Monitor(h int32)
}

// Message is one entry of a mailbox: a value sent by the process with
// handle From, or, when Exit is set, the exit notice of process From with
// its status in Value.
type Message struct {
	Value int32
	From  int32
	Exit  bool
}

// ErrWaiting is wrapped by the *Wait that Run returns when the program
// waits for a message.
var ErrWaiting = errors.New("waiting for a message")

// ErrSliceDone: Resume ran its slice; the program goes on at the next one.
var ErrSliceDone = errors.New("slice used up")

// Wait is what Run returns when the program reached RECV or RECVT with an
// empty mailbox, or a SPAWN whose answer is pending: no fault, the program
// is parked. It belongs to the VM and is valid until the VM runs again. PC
// is the waiting instruction; running the VM again resumes there, taking
// the message (or the spawn's answer) that has arrived meanwhile. A RECVT
// waits at most Timeout (zero for RECV and SPAWN): the runtime calls
// TimeOut when that has passed with no message, and runs the VM again, and
// RECVT then goes on with "nothing came".
//
// With Output set, the instruction at PC is a PRTS, PRTI or PRTF whose
// Config.Output took nothing (ErrOutputFull): running the VM again runs
// that instruction again, whole, once the runtime thinks there is room.
type Wait struct {
	PC      int
	Op      Opcode
	Timeout time.Duration
	Output  bool
}

func (w *Wait) Error() string {
	if w.Output {
		return fmt.Sprintf("waiting for room for its output at pc %s (%v)", FormatAddress(w.PC), w.Op)
	}
	return fmt.Sprintf("%v at pc %s (%v)", ErrWaiting, FormatAddress(w.PC), w.Op)
}

func (w *Wait) Unwrap() error { return ErrWaiting }

// ErrOutputFull is what a Config.Output's Write returns when it took
// nothing of what it was given and the writer would otherwise have to
// block: the output of a process that another member reads more slowly
// than the process prints. The PRT* that wrote then waits (a *Wait with
// Output set) instead of faulting, so that the goroutine running the VM
// is free for other work. When the VM runs again the instruction writes
// the same bytes again (nothing else ran in between). It applies to VMs
// without an OutputBuffer; with one it is a write failure like any other.
var ErrOutputFull = errors.New("no room for the output now")

// errWait tells the dispatch loop that the instruction at pc waits for a
// message or a spawn's answer; errWaitOutput, that it waits for room for
// its output.
var (
	errWait       = errors.New("wait")
	errWaitOutput = errors.New("wait for room for the output")
)

// TimeOut tells a VM parked in RECVT that its time is up: when it runs
// again, RECVT finds no message and goes on.
func (m *VM) TimeOut() { m.timedOut = true }

// Fork makes a VM for a new process: it runs m's program from entry (a
// code address that Spawn checked), with a copy of m's integer and float
// registers and nothing else (an empty stack and heap), configured by cfg.
// The two share the program, which neither changes in place: each copies
// it before its first Load, Append or ClearProgram.
func (m *VM) Fork(entry int, cfg Config) (*VM, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	m.shared = true
	c := &VM{
		regs:   m.regs,
		fregs:  m.fregs,
		prog:   Program{Code: m.prog.Code[:len(m.prog.Code):len(m.prog.Code)], ROData: m.prog.ROData[:len(m.prog.ROData):len(m.prog.ROData)]},
		insts:  m.insts[:len(m.insts):len(m.insts)],
		shared: true,
		pc:     entry,
		cfg:    cfg,
	}
	c.fr = &c.fregs
	return c, nil
}

// Share returns the VM's program, read-only data and code, for a process
// on another node: the slices stay as they are for as long as anyone holds
// them, because the VM copies its program before it next changes it (as
// after Fork). Only the goroutine running the VM may call it.
func (m *VM) Share() (roData, code []byte) {
	m.shared = true
	return m.prog.ROData[:len(m.prog.ROData):len(m.prog.ROData)], m.prog.Code[:len(m.prog.Code):len(m.prog.Code)]
}

// ForkWith is Fork with the registers given rather than m's: a process
// that another node started runs a template VM's program (loaded once,
// never run) from entry with the registers the other node sent. entry
// must be a multiple of 4 within the code, its end included: a program
// started at its end ends at once, as one with no code does when it is
// run here (SPAWN itself never asks for the end: its check comes first).
// Calls on one template must not overlap.
func (m *VM) ForkWith(entry int, regs [32]int32, fregs [32]float64, cfg Config) (*VM, error) {
	if entry < 0 || entry > len(m.prog.Code) || entry%InstructionSize != 0 {
		return nil, fmt.Errorf("%w: %s", ErrBadEntry, FormatAddress(entry))
	}
	c, err := m.Fork(entry, cfg)
	if err != nil {
		return nil, err
	}
	c.regs, c.fregs = regs, fregs
	return c, nil
}

// unshare gives the VM its own copy of a program it shares with a forked
// VM, before it changes it.
func (m *VM) unshare() {
	if !m.shared {
		return
	}
	m.prog.Code = append([]byte(nil), m.prog.Code...)
	m.prog.ROData = append([]byte(nil), m.prog.ROData...)
	m.insts = append([]inst(nil), m.insts...)
	m.shared = false
}

// slowCalls is how many SPAWN, SEND and MONITOR a Resume's slice runs at
// most. Each calls the process runtime, which takes about a microsecond
// (a SPAWN makes a process) where other instructions take a nanosecond:
// counted as instructions alone, a slice of a SPAWN loop would keep its
// worker, and the processes queued behind it, for half a second.
const slowCalls = 4096

// countCall counts a runtime call of a Resume's slice and ends the slice
// at the next taken jump once it made slowCalls of them, as if its
// instructions were used up.
func (m *VM) countCall() {
	if !m.sliced() {
		return
	}
	if m.calls++; m.calls >= slowCalls {
		m.stopAt.Store(math.MinInt64)
	}
}

// process runs instruction op, one of the process instructions (53-60) or
// PRTF, which run out of the dispatch loop's switch, with register operands a, b, c (below 32) and the loop's state parked in m
// (pc at the instruction, flag in m.flag). It returns errWait when the
// instruction must wait for a message, or a fault's sentinel.
func (m *VM) process(op Opcode, a, b, c uint8) error {
	// What another process can learn of (a message, a spawn, a monitor)
	// comes after the output printed before it; a RECV that waits ends
	// the run, which writes the buffer out.
	if op == OpSend || op == OpSpawn || op == OpMonitor {
		if err := m.flushOutput(); err != nil {
			return err
		}
		m.countCall()
	}
	regs, rt := &m.regs, m.cfg.Runtime
	switch op {
	case OpSelf:
		regs[a] = 0
		if rt != nil {
			regs[a] = rt.Self()
		}
	case OpParent:
		regs[a] = 0
		if rt != nil {
			regs[a] = rt.Parent()
		}
	case OpNodes:
		regs[a] = 1
		if rt != nil {
			regs[a] = rt.Nodes()
		}
	case OpSpawn:
		entry := int(regs[b])
		if entry < 0 || entry >= len(m.prog.Code) || entry%InstructionSize != 0 {
			return fmt.Errorf("%w: %s", ErrBadEntry, FormatAddress(entry))
		}
		var h int32
		ok, pending := false, false
		if rt != nil {
			h, ok, pending = rt.Spawn(regs[a], m, entry)
		}
		if pending {
			return errWait
		}
		if !ok {
			h = 0
		}
		regs[c], m.flag = h, ok
	case OpSend:
		if rt != nil {
			rt.Send(regs[a], regs[b])
		}
	case OpRecv, OpRecvt:
		var msg Message
		ok := false
		if rt != nil {
			msg, ok = rt.Receive()
		}
		switch {
		case ok:
			regs[a], regs[b], m.flag = msg.Value, msg.From, msg.Exit
		case op == OpRecvt && (m.timedOut || regs[c] <= 0):
			regs[b], m.flag = 0, false
		default:
			return errWait
		}
		m.timedOut = false
	case OpMonitor:
		if rt != nil {
			rt.Monitor(regs[a])
		}
	case OpPrtf:
		return m.prtf(m.fregs[a])
	}
	return nil
}

// wait is the *Wait of the instruction at m.pc. It lives in the VM, so
// that parking allocates nothing; it is valid until the VM runs again.
func (m *VM) wait(output bool) *Wait {
	w := &m.waiting
	*w = Wait{PC: m.pc, Op: m.opAt(m.pc), Output: output}
	if w.Op == OpRecvt {
		if i := m.pc / InstructionSize; i < len(m.insts) {
			w.Timeout = time.Duration(m.regs[m.insts[i].c&31]) * time.Millisecond
		}
	}
	return w
}

// prtf writes f in the shortest form that reads back exactly.
func (m *VM) prtf(f float64) error {
	return m.write(strconv.AppendFloat(m.buf[:0], f, 'g', -1, 64))
}
