package vm_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// FuzzLoad: ParseBytecode never panics, and a file it accepts re-marshals to
// the same bytes.
func FuzzLoad(f *testing.F) {
	for _, p := range seedPrograms() {
		b, err := p.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("EPIE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := vm.ParseBytecode(b)
		if err != nil {
			if p != nil {
				t.Fatalf("ParseBytecode returned a program and %v", err)
			}
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-marshalled %x, want %x", out, b)
		}
		m, err := vm.New(vm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Load(p); err != nil {
			t.Fatalf("Load refused a parsed program: %v", err)
		}
	})
}

// runSentinels are the errors a run may end with.
var runSentinels = []error{
	vm.ErrIllegalOpcode, vm.ErrDivideByZero, vm.ErrBadJump, vm.ErrBadEntry, vm.ErrHeapAccess, vm.ErrBadAlloc, vm.ErrHeapTotal, vm.ErrStackTotal,
	vm.ErrStackOverflow, vm.ErrStackUnderflow, vm.ErrNoFrame, vm.ErrBadString, vm.ErrBudgetExhausted,
}

// FuzzRun: arbitrary code that Verify accepts runs under a budget without
// panicking, and ends normally or with a Fault of a known kind. Its heap
// stays within a HeapAccount smaller than its HeapLimit, which holds the
// heap's storage and nothing once it is released.
func FuzzRun(f *testing.F) {
	for _, p := range seedPrograms() {
		f.Add(p.ROData, p.Code)
	}
	f.Fuzz(func(t *testing.T, ro, code []byte) {
		const budget = 10_000
		p := &vm.Program{ROData: ro, Code: code}
		if vm.Verify(p) != nil {
			return
		}
		acct := &account{total: 3 << 14}
		m, err := vm.New(vm.Config{Output: io.Discard, Budget: budget, HeapLimit: 1 << 16, StackLimit: 1 << 12, HeapAccount: acct})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Load(p); err != nil {
			t.Fatalf("Load refused a verified program: %v", err)
		}
		for run := range 2 { // the second run resumes where the first stopped
			exit, err := m.Run()
			checkRun(t, m, p, exit, err)
			if m.Steps() > budget+int64(len(code)/4)+1 {
				t.Fatalf("run %d: %d steps with a budget of %d", run, m.Steps(), budget)
			}
		}
		// Under a process runtime: messages to take, spawns that work; the
		// children it forks run too.
		rt := &fakeRuntime{self: 1, nodes: 2, spawnOK: true,
			mailbox: []vm.Message{{Value: 7, From: 2}, {Value: 1, From: 3, Exit: true}}}
		pm, _ := vm.New(vm.Config{Output: io.Discard, Budget: budget, HeapLimit: 1 << 16, StackLimit: 1 << 12, Runtime: rt})
		if err := pm.Load(p); err != nil {
			t.Fatal(err)
		}
		pexit, perr := pm.Run()
		checkRun(t, pm, p, pexit, perr)
		for i, s := range rt.spawned {
			if i == 4 {
				break
			}
			if s.entry < 0 || s.entry >= len(code) || s.entry%4 != 0 {
				t.Fatalf("spawned at %d", s.entry)
			}
			exit, err := s.child.Run()
			if w, ok := err.(*vm.Wait); ok && exit == 0 && (w.Op == vm.OpRecv || w.Op == vm.OpRecvt) {
				continue
			}
			var f *vm.Fault
			if err != nil && !errors.As(err, &f) {
				t.Fatalf("child: %v", err)
			}
		}
		// The same code appended after itself (its direct targets stay in
		// the first copy) runs too.
		if err := m.Append(&vm.Program{ROData: ro, Code: code}); err != nil {
			t.Fatalf("Append of verified code: %v", err)
		}
		exit, err := m.Run()
		checkRun(t, m, m.Program(), exit, err)
		if m.HeapSize() > acct.inUse() {
			t.Fatalf("a heap of %d bytes, %d in the account", m.HeapSize(), acct.inUse())
		}
		m.Release()
		if acct.inUse() != 0 {
			t.Fatalf("%d bytes in the account after Release", acct.inUse())
		}
	})
}

func checkRun(t *testing.T, m *vm.VM, p *vm.Program, exit int, err error) {
	t.Helper()
	pc := m.PC()
	if pc < 0 || pc > len(m.Program().Code) || pc%4 != 0 {
		t.Fatalf("pc %s outside the code", vm.FormatAddress(pc))
	}
	if err == nil {
		if exit != 0 {
			t.Fatalf("exit code %d with no error", exit)
		}
		return
	}
	if w, ok := err.(*vm.Wait); ok {
		// Parked in RECV or RECVT with an empty mailbox: no fault, pc at it.
		if exit != 0 || w.PC != pc || (w.Op != vm.OpRecv && w.Op != vm.OpRecvt) || w.Op != vm.Opcode(m.Program().Code[pc]) {
			t.Fatalf("Run = %d, %v at pc %s", exit, err, vm.FormatAddress(pc))
		}
		return
	}
	var f *vm.Fault
	if !errors.As(err, &f) || exit != 1 {
		t.Fatalf("Run = %d, %v (%T)", exit, err, err)
	}
	if f.PC != pc || f.Op != vm.Opcode(m.Program().Code[pc]) {
		t.Fatalf("fault at pc %s (%v), VM at pc %s", vm.FormatAddress(f.PC), f.Op, vm.FormatAddress(pc))
	}
	for _, s := range runSentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("unexpected fault %v", err)
}

// seedPrograms are valid programs for the seed corpora.
func seedPrograms() []*vm.Program {
	return []*vm.Program{
		countProgram(100),
		fibProgram(8),
		arithProgram(50),
		busyProgram(),
		spinProgram(),
		{ROData: []byte("hello\x00"), Code: asm(i24(vm.OpPrts, 0), ld(1, 8), r1(vm.OpAloc, 1), r2(vm.OpSetm, 2, 1),
			r2(vm.OpLoadm, 2, 3), r1(vm.OpPrti, 3), r3(vm.OpMod, 3, 1, 4), r1(vm.OpJmp, 1))},
		{Code: everyOpcode()},
		// The process instructions: spawn at 0x0018, send, receive, monitor,
		// wait with a timeout, then the float and remainder ones.
		{Code: asm(r1(vm.OpSelf, 1), r1(vm.OpParent, 2), r1(vm.OpNodes, 3), ld(4, 24), r3(vm.OpSpawn, 0, 4, 5),
			r2(vm.OpSend, 5, 1), r2(vm.OpRecv, 6, 7), r1(vm.OpMonitor, 7), r3(vm.OpRecvt, 6, 7, 3),
			r2(vm.OpItof, 6, 1), r2(vm.OpFtoi, 1, 8), r1(vm.OpPrtf, 1), r3(vm.OpDiv, 8, 3, 9), r1(vm.OpRem, 9))},
	}
}
