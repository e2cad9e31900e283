package vm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// busyProgram leaves state everywhere: loop counter, remainder, flag, heap,
// stack and a call frame (it halts inside the callee).
func busyProgram() *vm.Program {
	return &vm.Program{Code: asm(
		i24(vm.OpCloop, 5),    // 0
		ld(1, 7),              // 4
		ld(2, 2),              // 8
		r3(vm.OpDiv, 1, 2, 3), // 12: $3 = 3, remainder 1
		r2(vm.OpEq, 1, 1),     // 16: flag
		r1(vm.OpAloc, 2),      // 20: heap 2
		r1(vm.OpPush, 1),      // 24
		i24(vm.OpCall, 36),    // 28
		op(vm.OpHlt),          // 32
		op(vm.OpHlt),          // 36: halts in the callee
	)}
}

func mustRun(t testing.TB, m *vm.VM) {
	t.Helper()
	if code, err := m.Run(); code != 0 || err != nil {
		t.Fatalf("Run = %d, %v; want 0, nil", code, err)
	}
}

func TestLoadResetsAndKeepsRegisters(t *testing.T) {
	m, _ := load(t, vm.Config{}, busyProgram())
	m.SetFloatRegister(4, 2.5)
	mustRun(t, m)
	state{regs: map[int]int32{1: 7, 3: 3}, rem: ptr[int32](1), flag: ptr(true), heap: ptr(2),
		depth: ptr(3), loopCt: ptr(5), pc: ptr(36)}.check(t, m, "")

	if err := m.Load(&vm.Program{Code: asm(r1(vm.OpPop, 0))}); err != nil {
		t.Fatal(err)
	}
	state{regs: map[int]int32{1: 7, 3: 3}, fregs: map[int]float64{4: 2.5}, rem: ptr[int32](0), flag: ptr(false),
		heap: ptr(0), depth: ptr(0), loopCt: ptr(0), pc: ptr(0)}.check(t, m, "")
	// The old call frame is gone with the stack.
	_, err := m.Run()
	wantFault(t, err, vm.ErrStackUnderflow, 0, vm.OpPop)
}

func TestLoadErrorLeavesVMUnchanged(t *testing.T) {
	p := busyProgram()
	m, _ := load(t, vm.Config{}, p)
	mustRun(t, m)
	for _, bad := range []*vm.Program{
		nil,
		{Code: asm(op(vm.OpNop), i24(vm.OpDjmp, 12))},
		{Code: []byte{1, 2, 3}},
	} {
		if err := m.Load(bad); err == nil {
			t.Fatalf("Load(%v) succeeded", bad)
		}
		if got := m.Program(); !bytes.Equal(got.Code, p.Code) {
			t.Fatalf("program changed by a failed Load: %x", got.Code)
		}
		state{pc: ptr(36), depth: ptr(3), heap: ptr(2), flag: ptr(true), loopCt: ptr(5)}.check(t, m, "")
	}
}

func TestProgramIsAsWritten(t *testing.T) {
	p := countProgram(10) // holds an INC+NEQ+DJMPE, run as one instruction
	want := bytes.Clone(p.Code)
	wantRO := bytes.Clone(p.ROData)
	m, _ := load(t, vm.Config{}, p)
	p.Code[0] = byte(vm.OpIgl) // the VM keeps its own copy
	got := m.Program()
	if !bytes.Equal(got.Code, want) || !bytes.Equal(got.ROData, wantRO) {
		t.Fatalf("Program() = %x, want %x", got.Code, want)
	}
	got.Code[0] = byte(vm.OpIgl) // and hands out copies
	mustRun(t, m)
	if m.Registers()[0] != 10 || !bytes.Equal(m.Program().Code, want) {
		t.Fatalf("VM affected by changes to programs outside it")
	}
	if m.Steps() != 3+3*10+3 {
		t.Errorf("Steps = %d, want %d", m.Steps(), 3+3*10+3)
	}
}

func TestAppend(t *testing.T) {
	m, out := newVM(t, vm.Config{})
	app := func(ro string, ins ...[4]byte) {
		t.Helper()
		if err := m.Append(&vm.Program{ROData: []byte(ro), Code: asm(ins...)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	app("", ld(0, 5)) // 0
	if m.PC() != 0 {
		t.Fatalf("pc = %d after the first Append, want 0", m.PC())
	}
	mustRun(t, m)
	app("", r1(vm.OpInc, 0)) // 4: only the new line runs
	if m.PC() != 4 {
		t.Fatalf("pc = %d after Append, want 4", m.PC())
	}
	mustRun(t, m)
	state{regs: map[int]int32{0: 6}, pc: ptr(8)}.check(t, m, "")

	// Read-only data is appended too; PRTS offsets are absolute.
	app("hi\x00", i24(vm.OpPrts, 0)) // 8
	mustRun(t, m)
	app("yo\x00", i24(vm.OpPrts, 3)) // 12
	mustRun(t, m)
	app("", i24(vm.OpPrts, 0)) // 16
	mustRun(t, m)
	if got := m.Program().ROData; string(got) != "hi\x00yo\x00" {
		t.Errorf("rodata = %q", got)
	}
	if out.String() != "hiyohi" {
		t.Errorf("output = %q, want %q", out.String(), "hiyohi")
	}
	app("", r1(vm.OpInc, 0)) // 20
	if m.PC() != 20 {
		t.Fatalf("pc = %d, want 20", m.PC())
	}

	// A failed Append leaves the VM as it was.
	before := m.Program()
	for _, bad := range []*vm.Program{
		nil,
		{ROData: []byte("zz\x00"), Code: asm(op(vm.OpNop), i24(vm.OpDjmp, 100))},
		{Code: asm(vm.Encode(65, 0, 0, 0))},
		{Code: []byte{1}},
	} {
		if err := m.Append(bad); err == nil {
			t.Fatalf("Append(%v) succeeded", bad)
		}
		after := m.Program()
		if !bytes.Equal(after.Code, before.Code) || !bytes.Equal(after.ROData, before.ROData) || m.PC() != 20 {
			t.Fatalf("failed Append changed the VM: pc %d, %d bytes of code", m.PC(), len(after.Code))
		}
	}
	// Verification faults name absolute addresses.
	err := m.Append(&vm.Program{Code: asm(op(vm.OpNop), r1(vm.OpInc, 40))})
	wantFault(t, err, vm.ErrBadRegister, 28, vm.OpInc)
}

// TestAppendLoopsBack: an appended line loops over code of earlier lines.
func TestAppendLoopsBack(t *testing.T) {
	m, _ := newVM(t, vm.Config{})
	if err := m.Load(&vm.Program{Code: asm(ld(0, 0), ld(1, 3), r1(vm.OpInc, 0), r2(vm.OpNeq, 0, 1))}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, m) // $0 = 1, flag set, pc 16
	// The NEQ at 12, last of the old code, now pairs with this DJMPE.
	if err := m.Append(&vm.Program{Code: asm(i24(vm.OpDjmpe, 8), op(vm.OpHlt))}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, m)
	state{regs: map[int]int32{0: 3}, flag: ptr(false), pc: ptr(20)}.check(t, m, "")
}

// TestAppendAfterEndJump: a jump to the old end of the code now lands on
// the first appended instruction, as the bytes say.
func TestAppendAfterEndJump(t *testing.T) {
	m, _ := load(t, vm.Config{}, &vm.Program{Code: asm(i24(vm.OpDjmp, 8), ld(0, 1))})
	mustRun(t, m)
	state{regs: map[int]int32{0: 0}, pc: ptr(8)}.check(t, m, "")
	if err := m.Append(&vm.Program{Code: asm(ld(0, 9))}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, m)
	state{regs: map[int]int32{0: 9}, pc: ptr(12)}.check(t, m, "")
	// Run the whole program again from the start: the DJMP reaches the new LOAD.
	if err := m.Load(m.Program()); err != nil {
		t.Fatal(err)
	}
	m.SetRegister(0, 0)
	mustRun(t, m)
	state{regs: map[int]int32{0: 9}, pc: ptr(12)}.check(t, m, "")
}

func TestClearProgramAndRegisters(t *testing.T) {
	m, _ := load(t, vm.Config{}, busyProgram())
	m.SetFloatRegister(1, 1.5)
	mustRun(t, m)
	m.ClearProgram()
	if p := m.Program(); len(p.Code) != 0 || len(p.ROData) != 0 {
		t.Fatalf("program after ClearProgram: %+v", p)
	}
	state{regs: map[int]int32{1: 7}, pc: ptr(0), depth: ptr(0), heap: ptr(0), flag: ptr(false)}.check(t, m, "")
	mustRun(t, m)
	if m.Steps() != 0 {
		t.Errorf("Steps = %d on an empty program", m.Steps())
	}
	m.ClearRegisters()
	if m.Registers() != [32]int32{} || m.FloatRegisters() != [32]float64{} {
		t.Fatal("ClearRegisters left values")
	}
	// Append after ClearProgram starts at 0 again.
	if err := m.Append(&vm.Program{Code: asm(ld(2, 2))}); err != nil || m.PC() != 0 {
		t.Fatalf("Append = %v, pc %d", err, m.PC())
	}
	mustRun(t, m)
	state{regs: map[int]int32{2: 2}}.check(t, m, "")
}

func TestRunAgain(t *testing.T) {
	m, _ := load(t, vm.Config{}, &vm.Program{Code: asm(r1(vm.OpInc, 0), op(vm.OpHlt), r1(vm.OpInc, 0))})
	mustRun(t, m)
	state{regs: map[int]int32{0: 1}, pc: ptr(4)}.check(t, m, "")
	mustRun(t, m) // pc stays at the HLT
	state{regs: map[int]int32{0: 1}, pc: ptr(4)}.check(t, m, "")
	if m.Steps() != 1 {
		t.Errorf("Steps = %d, want 1", m.Steps())
	}
}

// signalWriter closes started on the first write, so a test knows the
// program is running.
type signalWriter struct {
	once    sync.Once
	started chan struct{}
}

func (w *signalWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	return len(b), nil
}

// spinProgram prints one byte, then loops forever at 4..12.
func spinProgram() *vm.Program {
	return &vm.Program{ROData: []byte("x\x00"), Code: asm(
		i24(vm.OpPrts, 0), // 0
		r1(vm.OpInc, 0),   // 4
		op(vm.OpNop),      // 8
		i24(vm.OpDjmp, 4), // 12
	)}
}

type result struct {
	code int
	err  error
}

// startSpinning runs spinProgram with run in a goroutine and returns once it
// has started.
func startSpinning(t *testing.T, run func(m *vm.VM) (int, error)) (*vm.VM, <-chan result) {
	t.Helper()
	w := &signalWriter{started: make(chan struct{})}
	m, err := vm.New(vm.Config{Output: w})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(spinProgram()); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		code, err := run(m)
		done <- result{code, err}
	}()
	select {
	case <-w.started:
	case <-time.After(5 * time.Second):
		t.Fatal("program did not start")
	}
	return m, done
}

func waitResult(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("run was not interrupted within 5 s")
	}
	panic("unreachable")
}

func TestAbort(t *testing.T) {
	m, done := startSpinning(t, (*vm.VM).Run)
	m.Abort()
	r := waitResult(t, done)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1", r.code)
	}
	// Interrupts are taken at jumps: the fault names the next instruction.
	wantFault(t, r.err, vm.ErrInterrupted, 4, vm.OpInc)
	if m.PC() != 4 || m.Steps() < 3 {
		t.Errorf("pc %d, steps %d", m.PC(), m.Steps())
	}
	ev := m.Events()
	if last := ev[len(ev)-1]; last.Kind != vm.EventCrash || !errors.Is(last.Err, vm.ErrInterrupted) {
		t.Errorf("last event %v, want a Crash with ErrInterrupted", last)
	}

	// An Abort between runs does not affect the next run.
	m2, _ := load(t, vm.Config{}, countProgram(100))
	m2.Abort()
	mustRun(t, m2)
}

func TestRunContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		m, _ := load(t, vm.Config{}, &vm.Program{Code: asm(ld(0, 1))})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		code, err := m.RunContext(ctx)
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		wantFault(t, err, vm.ErrInterrupted, 0, vm.OpLoad)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", err)
		}
		if m.Registers()[0] != 0 || m.Steps() != 0 || m.PC() != 0 {
			t.Errorf("instructions ran: $0 = %d, steps %d", m.Registers()[0], m.Steps())
		}
		// The same VM runs normally afterwards.
		mustRun(t, m)
	})
	t.Run("cancelled while running", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, done := startSpinning(t, func(m *vm.VM) (int, error) { return m.RunContext(ctx) })
		cancel()
		r := waitResult(t, done)
		wantFault(t, r.err, vm.ErrInterrupted, 4, vm.OpInc)
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", r.err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		m, _ := load(t, vm.Config{}, spinProgram())
		_, err := m.RunContext(ctx)
		if !errors.Is(err, vm.ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("RunContext = %v, want ErrInterrupted and DeadlineExceeded", err)
		}
	})
	t.Run("not cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		m, _ := load(t, vm.Config{}, countProgram(1000))
		if code, err := m.RunContext(ctx); code != 0 || err != nil {
			t.Fatalf("RunContext = %d, %v", code, err)
		}
		cancel() // a cancel after the run changes nothing for the next one
		if err := m.Load(countProgram(1000)); err != nil {
			t.Fatal(err)
		}
		if code, err := m.RunContext(context.Background()); code != 0 || err != nil {
			t.Fatalf("RunContext = %d, %v", code, err)
		}
	})
	t.Run("no goroutine leak", func(t *testing.T) {
		before := runtime.NumGoroutine()
		m, _ := load(t, vm.Config{}, countProgram(10))
		for range 100 {
			ctx, cancel := context.WithCancel(context.Background())
			if err := m.Load(countProgram(10)); err != nil {
				t.Fatal(err)
			}
			if _, err := m.RunContext(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			ctx, cancel = context.WithCancel(context.Background())
			cancel()
			if _, err := m.RunContext(ctx); !errors.Is(err, vm.ErrInterrupted) {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	})
}

func TestBudget(t *testing.T) {
	t.Run("infinite loop", func(t *testing.T) {
		m, _ := load(t, vm.Config{Budget: 1000}, &vm.Program{Code: asm(i24(vm.OpDjmp, 0))})
		for range 2 { // each Run has the whole budget
			code, err := m.Run()
			if code != 1 {
				t.Errorf("exit code %d", code)
			}
			wantFault(t, err, vm.ErrBudgetExhausted, 0, vm.OpDjmp)
			if m.Steps() != 1000 {
				t.Errorf("Steps = %d, want 1000", m.Steps())
			}
		}
	})
	t.Run("enough", func(t *testing.T) {
		m, _ := load(t, vm.Config{Budget: 36}, countProgram(10))
		mustRun(t, m)
		if m.Steps() != 36 {
			t.Errorf("Steps = %d, want 36", m.Steps())
		}
	})
	t.Run("stops at a jump", func(t *testing.T) {
		// cloop #3 / inc $0 / loop @4: 9 instructions, jumps after 3, 5 and 7.
		p := &vm.Program{Code: asm(i24(vm.OpCloop, 3), r1(vm.OpInc, 0), i24(vm.OpLoop, 4))}
		m, _ := load(t, vm.Config{Budget: 9}, p)
		mustRun(t, m)
		if m.Steps() != 9 {
			t.Errorf("Steps = %d, want 9", m.Steps())
		}
		m, _ = load(t, vm.Config{Budget: 7}, p)
		_, err := m.Run()
		wantFault(t, err, vm.ErrBudgetExhausted, 4, vm.OpInc)
		state{regs: map[int]int32{0: 3}, loopCt: ptr(0)}.check(t, m, "")
		// The run resumes where it stopped, with a fresh budget.
		mustRun(t, m)
		state{regs: map[int]int32{0: 4}, pc: ptr(12)}.check(t, m, "")
	})
	t.Run("straight-line code finishes", func(t *testing.T) {
		m, _ := load(t, vm.Config{Budget: 2}, &vm.Program{Code: asm(op(vm.OpNop), op(vm.OpNop), op(vm.OpNop), op(vm.OpNop))})
		mustRun(t, m)
		if m.Steps() != 4 {
			t.Errorf("Steps = %d, want 4", m.Steps())
		}
	})
	t.Run("jump to the end is an end", func(t *testing.T) {
		m, _ := load(t, vm.Config{Budget: 1}, &vm.Program{Code: asm(i24(vm.OpDjmp, 4))})
		mustRun(t, m)
	})
}

func TestEvents(t *testing.T) {
	m, _ := newVM(t, vm.Config{})
	if len(m.Events()) != 0 {
		t.Fatal("new VM has events")
	}
	if err := m.Load(&vm.Program{Code: asm(op(vm.OpHlt))}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, m)
	if err := m.Load(&vm.Program{Code: asm(op(vm.OpIgl))}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(); err == nil {
		t.Fatal("IGL ran")
	}
	ev := m.Events()
	kinds := []vm.EventKind{vm.EventStart, vm.EventGracefulStop, vm.EventStart, vm.EventCrash}
	if len(ev) != len(kinds) {
		t.Fatalf("events %v", ev)
	}
	for i, k := range kinds {
		if ev[i].Kind != k || ev[i].At.IsZero() {
			t.Errorf("event %d = %v, want %v", i, ev[i], k)
		}
	}
	if ev[1].Code != 0 || ev[1].Err != nil || ev[3].Code != 1 || !errors.Is(ev[3].Err, vm.ErrIllegalOpcode) {
		t.Errorf("events %v", ev)
	}
	for _, s := range []struct{ got, want string }{
		{vm.EventStart.String(), "Start"},
		{vm.EventGracefulStop.String(), "GracefulStop"},
		{vm.EventCrash.String(), "Crash"},
		{vm.EventKind(0).String(), "EventKind(0)"},
	} {
		if s.got != s.want {
			t.Errorf("String() = %q, want %q", s.got, s.want)
		}
	}
	if s := ev[1].String(); !strings.HasSuffix(s, " GracefulStop code=0") {
		t.Errorf("Event.String() = %q", s)
	}
	if s := ev[3].String(); !strings.Contains(s, "Crash code=1: illegal instruction at pc 0x0000 (IGL)") {
		t.Errorf("Event.String() = %q", s)
	}
	ev[0].Kind = vm.EventCrash // Events returns a copy
	if m.Events()[0].Kind != vm.EventStart {
		t.Error("Events shares its slice")
	}

	// The log is bounded.
	for range 2000 {
		mustRunNoFatal(m)
	}
	if ev := m.Events(); len(ev) > 1024 || ev[len(ev)-1].Kind != vm.EventCrash {
		t.Errorf("%d events after 2000 runs, last %v", len(ev), ev[len(ev)-1])
	}
}

func mustRunNoFatal(m *vm.VM) { _, _ = m.Run() }

func TestConfig(t *testing.T) {
	d := vm.DefaultConfig()
	if d.HeapLimit != 64<<20 || d.StackLimit != 1_048_576 || d.Budget != 0 || d.Output == nil || d.Runtime != nil {
		t.Errorf("DefaultConfig() = %+v", d)
	}
	for _, bad := range []vm.Config{
		{HeapLimit: -1},
		{StackLimit: -1},
		{Budget: -1},
		{HeapLimit: math.MaxInt32 + 1},
		{StackLimit: math.MaxInt32 + 1},
		{OutputBuffer: -1},
		{OutputBuffer: 1<<20 + 1},
	} {
		if m, err := vm.New(bad); err == nil || m != nil {
			t.Errorf("New(%+v) = %v, %v; want an error", bad, m, err)
		}
	}
	m, err := vm.New(vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Zero limits are the defaults: a 64 MiB heap fits, one byte more does not.
	m.SetRegister(1, 64<<20)
	m.SetRegister(2, 1)
	if err := m.Load(&vm.Program{Code: asm(r1(vm.OpAloc, 1), r1(vm.OpAloc, 2))}); err != nil {
		t.Fatal(err)
	}
	_, err = m.Run()
	wantFault(t, err, vm.ErrBadAlloc, 4, vm.OpAloc)
	if m.HeapSize() != 64<<20 {
		t.Errorf("heap %d", m.HeapSize())
	}
}

// TestAlocZeroes: the bytes ALOC adds read as zero however the heap grows
// (into a new array, or into the spare room of the array Load kept from
// the program before), and growing keeps what the heap held.
func TestAlocZeroes(t *testing.T) {
	// dirty: a heap of 64 bytes, every word -1 ($2 the address, $3 = -1).
	dirty := &vm.Program{Code: asm(ld(1, 64), r1(vm.OpAloc, 1), ld(2, 0), ld(3, 0), ld(10, 1), r3(vm.OpSub, 3, 10, 3),
		ld(4, 4), ld(5, 64),
		r2(vm.OpSetm, 2, 3), r3(vm.OpAdd, 2, 4, 2), r2(vm.OpLt, 2, 5), i24(vm.OpDjmpe, 32))}
	// probe: ALOC $1 (set by the test), then $6 = the word at $7 and $8 = the word at $9.
	probe := &vm.Program{Code: asm(r1(vm.OpAloc, 1), r2(vm.OpLoadm, 7, 6), r2(vm.OpLoadm, 9, 8))}

	t.Run("into the array Load kept", func(t *testing.T) {
		m, _ := load(t, vm.Config{}, dirty)
		mustRun(t, m)
		if err := m.Load(probe); err != nil {
			t.Fatal(err)
		}
		m.SetRegister(1, 64)
		m.SetRegister(7, 0)
		m.SetRegister(9, 60)
		mustRun(t, m)
		state{regs: map[int]int32{6: 0, 8: 0}, heap: ptr(64)}.check(t, m, "")
	})
	t.Run("into a new array", func(t *testing.T) {
		m, _ := load(t, vm.Config{}, dirty)
		mustRun(t, m)
		m.SetRegister(1, 1000)
		m.SetRegister(7, 60)   // written by dirty: kept
		m.SetRegister(9, 1060) // new
		if err := m.Append(probe); err != nil {
			t.Fatal(err)
		}
		mustRun(t, m)
		state{regs: map[int]int32{6: -1, 8: 0}, heap: ptr(1064)}.check(t, m, "")
	})
}

// TestNewIsSmall: a new VM takes under 64 KiB; stack and heap grow on demand.
func TestNewIsSmall(t *testing.T) {
	const n = 100
	vms := make([]*vm.VM, 0, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		m, err := vm.New(vm.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		vms = append(vms, m)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per >= 64<<10 {
		t.Errorf("New allocates %d bytes per VM", per)
	}
	runtime.KeepAlive(vms)
}

// TestNoAllocations: running allocates nothing per instruction, output
// included.
func TestNoAllocations(t *testing.T) {
	p := &vm.Program{ROData: []byte("ab\x00"), Code: asm(
		i24(vm.OpCloop, 10000), // 0
		r1(vm.OpInc, 0),        // 4
		r1(vm.OpPrti, 0),       // 8
		i24(vm.OpPrts, 0),      // 12
		r1(vm.OpPush, 0),       // 16
		i24(vm.OpCall, 36),     // 20
		r1(vm.OpPop, 1),        // 24
		i24(vm.OpLoop, 4),      // 28
		op(vm.OpHlt),           // 32
		r3(vm.OpAdd, 0, 0, 2),  // 36: f
		op(vm.OpRet),           // 40
	)}
	m, err := vm.New(vm.Config{Output: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := m.Load(p); err != nil {
			t.Fatal(err)
		}
		mustRun(t, m)
	})
	if allocs > 1 { // the event log grows now and then
		t.Errorf("%v allocations per run of %d instructions", allocs, m.Steps())
	}
}

// meddler is the Output, the HeapAccount and the Runtime of a VM, and
// from the first call out tries every call that would change the VM's
// program or start another run on it, keeping what they return.
type meddler struct {
	fakeRuntime
	m    *vm.VM
	errs []error
}

func (d *meddler) meddle() {
	if d.errs != nil {
		return // once: a run it started would call out again
	}
	long := make([][4]byte, 100) // a longer program than the one running: new storage
	for i := range long {
		long[i] = op(vm.OpNop)
	}
	d.errs = append(d.errs,
		d.m.Load(&vm.Program{Code: asm(long...)}),
		d.m.Append(&vm.Program{Code: asm(op(vm.OpHlt))}),
		d.m.ClearProgram())
	_, err := d.m.Run()
	d.errs = append(d.errs, err)
	_, err = d.m.RunContext(context.Background())
	d.errs = append(d.errs, err)
	_, err = d.m.Resume(0)
	d.errs = append(d.errs, err)
}

func (d *meddler) Write(b []byte) (int, error) { d.meddle(); return len(b), nil }
func (d *meddler) Take(int) bool               { d.meddle(); return true }
func (d *meddler) Give(int)                    {}
func (d *meddler) Spawn(int32, *vm.VM, int) (int32, bool, bool) {
	d.meddle()
	return 2, true, false
}

// TestProgramKeptWhileRunning: code the VM calls out to during a run (its
// Output, HeapAccount or Runtime, on the goroutine that runs it) cannot
// load, append, clear or start a run: each call gets ErrRunning, and the
// run goes on with its own program to its end. The loop reads its
// entries without bounds checks, so a program changed under it would run
// whatever memory its old addresses then named.
func TestProgramKeptWhileRunning(t *testing.T) {
	end := [][4]byte{ld(2, 7), op(vm.OpHlt)} // what each program ends with
	tests := []struct {
		name string
		code [][4]byte
	}{
		// The jump's address, 12, is past the end of the 100-NOP program
		// the meddler tries to load, and in the program that runs.
		{"Output, at PRTI", [][4]byte{ld(1, 12), r1(vm.OpPrti, 1), r1(vm.OpJmp, 1)}},
		{"HeapAccount, at ALOC", [][4]byte{ld(1, 64), r1(vm.OpAloc, 1)}},
		{"HeapAccount, at a CALL that grows the stack", [][4]byte{i24(vm.OpCall, 12), i24(vm.OpDjmp, 16), op(vm.OpRet)}},
		{"Runtime, at SPAWN", [][4]byte{ld(2, 0), r3(vm.OpSpawn, 0, 2, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &meddler{}
			m, err := vm.New(vm.Config{Output: d, HeapAccount: d, Runtime: d})
			if err != nil {
				t.Fatal(err)
			}
			d.m = m
			p := &vm.Program{Code: asm(append(tt.code, end...)...)}
			if err := m.Load(p); err != nil {
				t.Fatal(err)
			}
			if code, err := m.Run(); code != 0 || err != nil || m.Registers()[2] != 7 {
				t.Fatalf("Run = %d, %v, $2 = %d; want 0, nil, 7", code, err, m.Registers()[2])
			}
			if len(d.errs) == 0 {
				t.Fatal("the run never called out")
			}
			for i, err := range d.errs {
				if !errors.Is(err, vm.ErrRunning) {
					t.Errorf("call %d from inside the run: %v, want ErrRunning", i%6, err)
				}
			}
			if !bytes.Equal(m.Program().Code, p.Code) {
				t.Errorf("the program changed during the run")
			}
			// Once the run is over, the same calls work.
			if err := m.ClearProgram(); err != nil {
				t.Errorf("ClearProgram after the run: %v", err)
			}
		})
	}
}
