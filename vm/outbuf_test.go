package vm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// writeLog records each Write the VM makes to its Output.
type writeLog struct{ writes []string }

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *writeLog) String() string { return strings.Join(w.writes, "") }

// sendSnapshots is a runtime that records, at each SEND, what the VM had
// written by then.
type sendSnapshots struct {
	fakeRuntime
	out    *writeLog
	atSend []string
}

func (s *sendSnapshots) Send(to, value int32) { s.atSend = append(s.atSend, s.out.String()) }

// TestOutputBuffer: with Config.OutputBuffer a program's output reaches
// Output in as few writes as the buffer allows, in order, and all of it
// before the run returns, however it returns, and before every process
// instruction, so that another process never learns of something (a
// message) before the output printed ahead of it.
func TestOutputBuffer(t *testing.T) {
	ro := []byte("hello\x00")
	tests := []struct {
		name    string
		size    int
		regs    map[int]int32
		code    []byte
		budget  int64
		wantErr error    // what the run returns; nil for a normal end
		writes  []string // each Write, in order
		atSend  []string // the output written at each SEND
	}{
		{name: "one write at the end", size: 64, regs: map[int]int32{1: 1, 2: 22, 3: 333},
			code:   asm(r1(vm.OpPrti, 1), r1(vm.OpPrti, 2), r1(vm.OpPrti, 3), op(vm.OpHlt)),
			writes: []string{"122333"}},
		{name: "a full buffer is written", size: 4, regs: map[int]int32{1: 12, 2: 34, 3: 5},
			code:   asm(r1(vm.OpPrti, 1), r1(vm.OpPrti, 2), r1(vm.OpPrti, 3)),
			writes: []string{"1234", "5"}},
		{name: "a piece larger than the buffer keeps its place", size: 4, regs: map[int]int32{1: 1},
			code:   asm(r1(vm.OpPrti, 1), i24(vm.OpPrts, 0), r1(vm.OpPrti, 1)),
			writes: []string{"1", "hello", "1"}},
		{name: "written before a SEND", size: 64, regs: map[int]int32{1: 1, 2: 2},
			code:   asm(r1(vm.OpPrti, 1), r2(vm.OpSend, 1, 1), r1(vm.OpPrti, 2), r2(vm.OpSend, 1, 1), r1(vm.OpPrti, 1)),
			writes: []string{"1", "2", "1"}, atSend: []string{"1", "12"}},
		{name: "written when the run waits in RECV", size: 64, regs: map[int]int32{1: 7},
			code:    asm(r1(vm.OpPrti, 1), r2(vm.OpRecv, 2, 3), r1(vm.OpPrti, 1)),
			wantErr: vm.ErrWaiting, writes: []string{"7"}},
		{name: "written when the run is stopped", size: 64, regs: map[int]int32{1: 7}, budget: 100,
			code:    asm(r1(vm.OpPrti, 1), i24(vm.OpDjmp, 4)),
			wantErr: vm.ErrBudgetExhausted, writes: []string{"7"}},
		{name: "written when the run faults", size: 64, regs: map[int]int32{1: 7},
			code:    asm(r1(vm.OpPrti, 1), r3(vm.OpDiv, 1, 2, 3)),
			wantErr: vm.ErrDivideByZero, writes: []string{"7"}},
		{name: "not written for a SELF", size: 64, regs: map[int]int32{1: 1},
			code:   asm(r1(vm.OpPrti, 1), r1(vm.OpSelf, 2), r1(vm.OpPrti, 1)),
			writes: []string{"11"}},
		{name: "no buffer: a write per piece", size: 0, regs: map[int]int32{1: 1, 2: 22},
			code:   asm(r1(vm.OpPrti, 1), r1(vm.OpPrti, 2)),
			writes: []string{"1", "22"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := &writeLog{}
			rt := &sendSnapshots{out: out}
			m, err := vm.New(vm.Config{Output: out, OutputBuffer: tc.size, Budget: tc.budget, Runtime: rt})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range tc.regs {
				m.SetRegister(i, v)
			}
			if err := m.Load(&vm.Program{ROData: ro, Code: tc.code}); err != nil {
				t.Fatal(err)
			}
			_, err = m.Run()
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run: %v, want %v", err, tc.wantErr)
			}
			if strings.Join(out.writes, "|") != strings.Join(tc.writes, "|") {
				t.Errorf("writes %q, want %q", out.writes, tc.writes)
			}
			if strings.Join(rt.atSend, "|") != strings.Join(tc.atSend, "|") {
				t.Errorf("written at each SEND: %q, want %q", rt.atSend, tc.atSend)
			}
		})
	}
}

// TestOutputBufferWriteFails: output that cannot be written is a fault
// even when it is written only at the end of the run, and a run that
// would have ended well ends with exit code 1.
func TestOutputBufferWriteFails(t *testing.T) {
	m, err := vm.New(vm.Config{Output: failWriter{}, OutputBuffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(&vm.Program{Code: asm(r1(vm.OpPrti, 0), op(vm.OpHlt))}); err != nil {
		t.Fatal(err)
	}
	code, err := m.Run()
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	wantFault(t, err, vm.ErrOutput, 4, vm.OpHlt)
	if !errors.Is(err, errDiskFull) {
		t.Errorf("error %v does not wrap the writer's error", err)
	}
}

// panicSelf is a runtime whose SELF panics, as a broken host might.
type panicSelf struct{ fakeRuntime }

func (*panicSelf) Self() int32 { panic("boom") }

// TestOutputBufferAfterPanic: what was printed before a panic in the host
// (turned into an ErrInternal fault) is written all the same, and a
// panicking Output is not called into twice.
func TestOutputBufferAfterPanic(t *testing.T) {
	out := &writeLog{}
	m, err := vm.New(vm.Config{Output: out, OutputBuffer: 64, Runtime: &panicSelf{}})
	if err != nil {
		t.Fatal(err)
	}
	m.SetRegister(1, 7)
	if err := m.Load(&vm.Program{Code: asm(r1(vm.OpPrti, 1), r1(vm.OpSelf, 2))}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(); !errors.Is(err, vm.ErrInternal) {
		t.Fatalf("Run: %v, want ErrInternal", err)
	}
	if out.String() != "7" {
		t.Errorf("output %q, want 7", out.String())
	}

	m, err = vm.New(vm.Config{Output: panicWriter{}, OutputBuffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(&vm.Program{Code: asm(r1(vm.OpPrti, 1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(); !errors.Is(err, vm.ErrInternal) {
		t.Fatalf("Run with a panicking Output: %v, want ErrInternal", err)
	}
}
