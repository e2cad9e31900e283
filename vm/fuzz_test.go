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
	vm.ErrIllegalOpcode, vm.ErrDivideByZero, vm.ErrBadJump, vm.ErrHeapAccess, vm.ErrBadAlloc,
	vm.ErrStackOverflow, vm.ErrStackUnderflow, vm.ErrNoFrame, vm.ErrBadString, vm.ErrBudgetExhausted,
}

// FuzzRun: arbitrary code that Verify accepts runs under a budget without
// panicking, and ends normally or with a Fault of a known kind.
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
		m, err := vm.New(vm.Config{Output: io.Discard, Budget: budget, HeapLimit: 1 << 16, StackLimit: 1 << 12})
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
		// The same code appended after itself (its direct targets stay in
		// the first copy) runs too.
		if err := m.Append(&vm.Program{ROData: ro, Code: code}); err != nil {
			t.Fatalf("Append of verified code: %v", err)
		}
		exit, err := m.Run()
		checkRun(t, m, m.Program(), exit, err)
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
	}
}
