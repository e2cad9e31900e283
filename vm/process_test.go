package vm_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// fakeRuntime records what the process instructions ask of it.
type fakeRuntime struct {
	self, parent, nodes int32
	mailbox             []vm.Message
	sent                [][2]int32 // to, value
	monitored           []int32
	spawned             []struct {
		member int32
		entry  int
		child  *vm.VM
	}
	spawnOK      bool
	spawnPending int // the next Spawns that answer pending
}

func (f *fakeRuntime) Self() int32   { return f.self }
func (f *fakeRuntime) Parent() int32 { return f.parent }
func (f *fakeRuntime) Nodes() int32  { return f.nodes }
func (f *fakeRuntime) Spawn(member int32, parent *vm.VM, entry int) (int32, bool, bool) {
	if f.spawnPending > 0 {
		f.spawnPending--
		return 0, false, true
	}
	if !f.spawnOK {
		return 0, false, false
	}
	// The child is bounded like a fuzzed program: it may spin for ever.
	child, err := parent.Fork(entry, vm.Config{Budget: 10_000, HeapLimit: 1 << 16, StackLimit: 1 << 12})
	if err != nil {
		panic(err)
	}
	f.spawned = append(f.spawned, struct {
		member int32
		entry  int
		child  *vm.VM
	}{member, entry, child})
	return 77, true, false
}
func (f *fakeRuntime) Send(to, value int32) { f.sent = append(f.sent, [2]int32{to, value}) }
func (f *fakeRuntime) Receive() (vm.Message, bool) {
	if len(f.mailbox) == 0 {
		return vm.Message{}, false
	}
	m := f.mailbox[0]
	f.mailbox = f.mailbox[1:]
	return m, true
}
func (f *fakeRuntime) Monitor(h int32) { f.monitored = append(f.monitored, h) }

// TestProcessOpcodes runs each of opcodes 53-64 on a VM with a fake
// runtime (and, where it matters, without one) and checks the registers,
// the flag, the output and what the runtime was asked.
func TestProcessOpcodes(t *testing.T) {
	type setup func(m *vm.VM)
	reg := func(i int, v int32) setup { return func(m *vm.VM) { m.SetRegister(i, v) } }
	freg := func(i int, v float64) setup { return func(m *vm.VM) { m.SetFloatRegister(i, v) } }
	cases := []struct {
		name  string
		code  [][4]byte
		rt    *fakeRuntime // nil: no runtime
		setup []setup
		check func(t *testing.T, m *vm.VM, rt *fakeRuntime, out string, err error)
	}{
		{"SELF", [][4]byte{vm.Encode(vm.OpSelf, 3, 0, 0)}, &fakeRuntime{self: 9}, nil,
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 3, 9) }},
		{"SELF without a runtime", [][4]byte{vm.Encode(vm.OpSelf, 3, 0, 0)}, nil, []setup{reg(3, 5)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 3, 0) }},
		{"PARENT", [][4]byte{vm.Encode(vm.OpParent, 1, 0, 0)}, &fakeRuntime{parent: -4}, nil,
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 1, -4) }},
		{"NODES", [][4]byte{vm.Encode(vm.OpNodes, 2, 0, 0)}, &fakeRuntime{nodes: 3}, nil,
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 2, 3) }},
		{"NODES without a runtime", [][4]byte{vm.Encode(vm.OpNodes, 2, 0, 0)}, nil, nil,
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 2, 1) }},
		{"SPAWN", [][4]byte{vm.Encode(vm.OpSpawn, 1, 2, 3), vm.Encode(vm.OpHlt, 0, 0, 0)},
			&fakeRuntime{spawnOK: true}, []setup{reg(1, 0), reg(2, 4), reg(9, 99), freg(9, 1.5)},
			func(t *testing.T, m *vm.VM, rt *fakeRuntime, _ string, err error) {
				wantReg(t, m, 3, 77)
				if !m.Flag() || len(rt.spawned) != 1 || rt.spawned[0].entry != 4 {
					t.Fatalf("flag %v, spawned %+v", m.Flag(), rt.spawned)
				}
				c := rt.spawned[0].child
				if c.PC() != 4 || c.Registers()[9] != 99 || c.FloatRegisters()[9] != 1.5 || c.StackDepth() != 0 {
					t.Errorf("child pc %d regs %v", c.PC(), c.Registers())
				}
			}},
		{"SPAWN pending parks at the SPAWN; run again, it takes the answer", [][4]byte{vm.Encode(vm.OpNop, 0, 0, 0),
			vm.Encode(vm.OpSpawn, 1, 2, 3), vm.Encode(vm.OpHlt, 0, 0, 0)},
			&fakeRuntime{spawnOK: true, spawnPending: 1}, []setup{reg(1, 2), reg(2, 8)},
			func(t *testing.T, m *vm.VM, rt *fakeRuntime, _ string, err error) {
				var w *vm.Wait
				if !errors.As(err, &w) || w.PC != 4 || w.Op != vm.OpSpawn || w.Timeout != 0 || m.PC() != 4 {
					t.Fatalf("err %v pc %d", err, m.PC())
				}
				if _, err := m.Resume(0); err != nil {
					t.Fatalf("after the answer: %v", err)
				}
				wantReg(t, m, 3, 77)
				if !m.Flag() || len(rt.spawned) != 1 {
					t.Fatalf("flag %v, spawned %+v", m.Flag(), rt.spawned)
				}
			}},
		{"SPAWN refused", [][4]byte{vm.Encode(vm.OpSpawn, 1, 2, 3)}, &fakeRuntime{}, []setup{reg(2, 0), reg(3, 5)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) {
				wantReg(t, m, 3, 0)
				if m.Flag() {
					t.Error("flag set")
				}
			}},
		{"SPAWN at a bad entry faults before anything", [][4]byte{vm.Encode(vm.OpSpawn, 1, 2, 3)}, &fakeRuntime{spawnOK: true},
			[]setup{reg(2, 6)},
			func(t *testing.T, _ *vm.VM, rt *fakeRuntime, _ string, err error) {
				if !errors.Is(err, vm.ErrBadEntry) || !strings.Contains(err.Error(), "0x0006") || len(rt.spawned) != 0 {
					t.Fatalf("err %v, spawned %d", err, len(rt.spawned))
				}
			}},
		{"SPAWN past the code faults", [][4]byte{vm.Encode(vm.OpSpawn, 1, 2, 3)}, &fakeRuntime{spawnOK: true},
			[]setup{reg(2, 4)},
			func(t *testing.T, _ *vm.VM, _ *fakeRuntime, _ string, err error) {
				if !errors.Is(err, vm.ErrBadEntry) {
					t.Fatalf("err %v", err)
				}
			}},
		{"SEND", [][4]byte{vm.Encode(vm.OpSend, 1, 2, 0)}, &fakeRuntime{}, []setup{reg(1, 5), reg(2, -9)},
			func(t *testing.T, _ *vm.VM, rt *fakeRuntime, _ string, err error) {
				if err != nil || len(rt.sent) != 1 || rt.sent[0] != [2]int32{5, -9} {
					t.Fatalf("err %v sent %v", err, rt.sent)
				}
			}},
		{"SEND without a runtime is dropped", [][4]byte{vm.Encode(vm.OpSend, 1, 2, 0)}, nil, nil,
			func(t *testing.T, _ *vm.VM, _ *fakeRuntime, _ string, err error) {
				if err != nil {
					t.Fatal(err)
				}
			}},
		{"RECV a message", [][4]byte{vm.Encode(vm.OpRecv, 1, 2, 0)}, &fakeRuntime{mailbox: []vm.Message{{Value: 42, From: 7}}},
			[]setup{func(m *vm.VM) {}},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) {
				wantReg(t, m, 1, 42)
				wantReg(t, m, 2, 7)
				if m.Flag() {
					t.Error("flag set for an ordinary message")
				}
			}},
		{"RECV an exit notice", [][4]byte{vm.Encode(vm.OpRecv, 1, 2, 0)}, &fakeRuntime{mailbox: []vm.Message{{Value: 1, From: 3, Exit: true}}}, nil,
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) {
				wantReg(t, m, 1, 1)
				wantReg(t, m, 2, 3)
				if !m.Flag() {
					t.Error("flag clear for an exit notice")
				}
			}},
		{"RECV with an empty mailbox waits at the RECV", [][4]byte{vm.Encode(vm.OpNop, 0, 0, 0), vm.Encode(vm.OpRecv, 1, 2, 0)}, &fakeRuntime{}, nil,
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, err error) {
				var w *vm.Wait
				if !errors.As(err, &w) || w.PC != 4 || w.Op != vm.OpRecv || w.Timeout != 0 || m.PC() != 4 {
					t.Fatalf("err %v pc %d", err, m.PC())
				}
			}},
		{"RECVT with a message", [][4]byte{vm.Encode(vm.OpRecvt, 1, 2, 3)}, &fakeRuntime{mailbox: []vm.Message{{Value: 5, From: 6}}}, []setup{reg(3, 100)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) {
				wantReg(t, m, 1, 5)
				wantReg(t, m, 2, 6)
			}},
		{"RECVT 0 ms with nothing: b = 0, a unchanged, flag clear", [][4]byte{vm.Encode(vm.OpEq, 0, 0, 0), vm.Encode(vm.OpRecvt, 1, 2, 3)}, &fakeRuntime{},
			[]setup{reg(1, 11), reg(2, 12), reg(3, 0)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, err error) {
				if err != nil || m.Flag() {
					t.Fatalf("err %v flag %v", err, m.Flag())
				}
				wantReg(t, m, 1, 11)
				wantReg(t, m, 2, 0)
			}},
		{"RECVT negative: does not wait", [][4]byte{vm.Encode(vm.OpRecvt, 1, 2, 3)}, &fakeRuntime{}, []setup{reg(3, -5), reg(2, 4)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, err error) {
				if err != nil {
					t.Fatal(err)
				}
				wantReg(t, m, 2, 0)
			}},
		{"RECVT waits with its timeout", [][4]byte{vm.Encode(vm.OpRecvt, 1, 2, 3)}, &fakeRuntime{}, []setup{reg(3, 250)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, err error) {
				var w *vm.Wait
				if !errors.As(err, &w) || w.Timeout != 250*time.Millisecond {
					t.Fatalf("err %v", err)
				}
				m.TimeOut()
				if _, err := m.Resume(0); err != nil {
					t.Fatalf("after the timeout: %v", err)
				}
				wantReg(t, m, 2, 0)
			}},
		{"MONITOR", [][4]byte{vm.Encode(vm.OpMonitor, 4, 0, 0)}, &fakeRuntime{}, []setup{reg(4, 12)},
			func(t *testing.T, _ *vm.VM, rt *fakeRuntime, _ string, _ error) {
				if len(rt.monitored) != 1 || rt.monitored[0] != 12 {
					t.Fatalf("monitored %v", rt.monitored)
				}
			}},
		{"ITOF", [][4]byte{vm.Encode(vm.OpItof, 1, 2, 0)}, nil, []setup{reg(1, -7)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) {
				if f := m.FloatRegisters()[2]; f != -7 {
					t.Fatalf("f = %v", f)
				}
			}},
		{"FTOI truncates", [][4]byte{vm.Encode(vm.OpFtoi, 1, 2, 0)}, nil, []setup{freg(1, -2.9)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 2, -2) }},
		{"FTOI saturates high", [][4]byte{vm.Encode(vm.OpFtoi, 1, 2, 0)}, nil, []setup{freg(1, 1e300)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 2, math.MaxInt32) }},
		{"FTOI saturates low", [][4]byte{vm.Encode(vm.OpFtoi, 1, 2, 0)}, nil, []setup{freg(1, math.Inf(-1))},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 2, math.MinInt32) }},
		{"FTOI of NaN is 0", [][4]byte{vm.Encode(vm.OpFtoi, 1, 2, 0)}, nil, []setup{freg(1, math.NaN()), reg(2, 8)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) { wantReg(t, m, 2, 0) }},
		{"PRTF", [][4]byte{vm.Encode(vm.OpPrtf, 1, 0, 0), vm.Encode(vm.OpPrtf, 2, 0, 0)}, nil, []setup{freg(1, 0.1), freg(2, -1e21)},
			func(t *testing.T, _ *vm.VM, _ *fakeRuntime, out string, _ error) {
				if out != "0.1-1e+21" {
					t.Fatalf("output %q", out)
				}
			}},
		{"REM", [][4]byte{vm.Encode(vm.OpDiv, 1, 2, 3), vm.Encode(vm.OpRem, 4, 0, 0)}, nil, []setup{reg(1, -7), reg(2, 2)},
			func(t *testing.T, m *vm.VM, _ *fakeRuntime, _ string, _ error) {
				wantReg(t, m, 3, -3)
				wantReg(t, m, 4, -1)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cfg := vm.Config{Output: &out}
			if tc.rt != nil {
				cfg.Runtime = tc.rt
			}
			m, err := vm.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var code []byte
			for _, w := range tc.code {
				code = append(code, w[:]...)
			}
			if err := m.Load(&vm.Program{Code: code}); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.setup {
				s(m)
			}
			_, err = m.Run()
			tc.check(t, m, tc.rt, out.String(), err)
		})
	}
}

func wantReg(t *testing.T, m *vm.VM, i int, want int32) {
	t.Helper()
	if got := m.Registers()[i]; got != want {
		t.Errorf("$%d = %d, want %d", i, got, want)
	}
}

// TestShareAndForkWith: the program Share hands out stays as it was
// while the VM changes its own; ForkWith runs a template's program from
// the entry with the registers given, and refuses an entry that is no
// instruction.
func TestShareAndForkWith(t *testing.T) {
	code := func(ops ...[4]byte) []byte {
		var b []byte
		for _, w := range ops {
			b = append(b, w[:]...)
		}
		return b
	}
	m, _ := vm.New(vm.Config{})
	first := code(vm.EncodeImm16(vm.OpLoad, 1, 5), vm.Encode(vm.OpPrti, 2, 0, 0))
	if err := m.Load(&vm.Program{Code: first, ROData: []byte("ro")}); err != nil {
		t.Fatal(err)
	}
	ro, shared := m.Share()
	if err := m.Load(&vm.Program{Code: code(vm.Encode(vm.OpHlt, 0, 0, 0), vm.Encode(vm.OpHlt, 0, 0, 0))}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, first) || string(ro) != "ro" {
		t.Fatalf("the shared program changed: %x %q", shared, ro)
	}

	tmpl, _ := vm.New(vm.Config{})
	if err := tmpl.Load(&vm.Program{Code: first}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var regs [32]int32
	regs[2] = 41
	c, err := tmpl.ForkWith(4, regs, [32]float64{3: 0.5}, vm.Config{Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(); err != nil || out.String() != "41" || c.FloatRegisters()[3] != 0.5 {
		t.Fatalf("err %v, printed %q, f3 %v", err, out.String(), c.FloatRegisters()[3])
	}
	for _, entry := range []int{-4, 2, 12, 1 << 30} {
		if _, err := tmpl.ForkWith(entry, regs, [32]float64{}, vm.Config{}); !errors.Is(err, vm.ErrBadEntry) {
			t.Errorf("entry %d: %v, want ErrBadEntry", entry, err)
		}
	}
	// The end of the code: the program ends at once, as one with no code.
	out.Reset()
	end, err := tmpl.ForkWith(len(first), regs, [32]float64{}, vm.Config{Output: &out})
	if err != nil {
		t.Fatalf("entry at the end: %v", err)
	}
	if _, err := end.Run(); err != nil || out.Len() != 0 {
		t.Errorf("from the end: %v, printed %q", err, out.String())
	}
	// Fork leaves the entry to its caller; a run from past the end is a
	// fault, not a read of whatever lies there.
	for _, entry := range []int{-4, len(first) + 4, 1 << 30} {
		c, err := tmpl.Fork(entry, vm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if code, err := c.Run(); code != 1 || !errors.Is(err, vm.ErrBadJump) {
			t.Errorf("Fork(%d).Run() = %d, %v; want 1, ErrBadJump", entry, code, err)
		}
	}
}

// TestForkHasItsOwnFloatRegisters: float instructions in a forked VM
// work on its own float registers, which start as a copy of the parent's,
// and the parent's stay as they were.
func TestForkHasItsOwnFloatRegisters(t *testing.T) {
	m, _ := vm.New(vm.Config{})
	// $3 = $1 + $2; $4 = float($5); $6 = int($3)
	prog := &vm.Program{Code: asm(r3(vm.OpAddF64, 1, 2, 3), r2(vm.OpItof, 5, 4), r2(vm.OpFtoi, 3, 6))}
	if err := m.Load(prog); err != nil {
		t.Fatal(err)
	}
	m.SetFloatRegister(1, 1.5)
	m.SetFloatRegister(2, 2)
	m.SetRegister(5, 9)
	c, err := m.Fork(0, vm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if f := c.FloatRegisters(); f[3] != 3.5 || f[4] != 9 || c.Registers()[6] != 3 {
		t.Errorf("the fork computed f3 %v, f4 %v, $6 %d; want 3.5, 9, 3", f[3], f[4], c.Registers()[6])
	}
	if f := m.FloatRegisters(); f[3] != 0 || f[4] != 0 {
		t.Errorf("the fork wrote its parent's float registers: f3 %v, f4 %v", f[3], f[4])
	}
	if _, err := m.Run(); err != nil || m.FloatRegisters()[3] != 3.5 {
		t.Errorf("the parent, run after its fork: %v, f3 %v", err, m.FloatRegisters()[3])
	}
}

// TestForkSharesTheProgramSafely: a forked VM runs the program as it was,
// whatever its parent does to its own program afterwards.
func TestForkSharesTheProgramSafely(t *testing.T) {
	var out bytes.Buffer
	parent, _ := vm.New(vm.Config{Output: &out})
	prog := func(ops ...[4]byte) *vm.Program {
		var code []byte
		for _, w := range ops {
			code = append(code, w[:]...)
		}
		return &vm.Program{Code: code}
	}
	if err := parent.Load(prog(vm.EncodeImm16(vm.OpLoad, 1, 5), vm.Encode(vm.OpPrti, 1, 0, 0))); err != nil {
		t.Fatal(err)
	}
	child, err := parent.Fork(0, vm.Config{Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	// The parent appends an instruction that would change the output.
	if err := parent.Append(prog(vm.Encode(vm.OpPrti, 1, 0, 0))); err != nil {
		t.Fatal(err)
	}
	if _, err := child.Run(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "5" {
		t.Fatalf("the child printed %q, want 5 (its program changed under it)", out.String())
	}
	parent.ClearProgram()
	if err := child.Append(prog(vm.Encode(vm.OpPrti, 1, 0, 0))); err != nil {
		t.Fatal(err)
	}
}

// A slice ends after slowCalls (4096) SPAWN, SEND or MONITOR, whatever
// its length in instructions: each asks the runtime for something that
// takes a microsecond, and a loop of them would keep its worker from the
// queued processes (and a kill of one of them waiting) for a long time.
func TestSliceOfSlowCalls(t *testing.T) {
	const slowCalls = 4096
	loop := func(in [4]byte) []byte { return asm(in, i24(vm.OpDjmp, 0)) } // in, then a jump back to it
	tests := []struct {
		name  string
		code  []byte
		calls func(rt *fakeRuntime) int
		want  int // calls in a slice
	}{
		{"SEND", loop(r2(vm.OpSend, 1, 2)), func(rt *fakeRuntime) int { return len(rt.sent) }, slowCalls},
		{"MONITOR", loop(r1(vm.OpMonitor, 1)), func(rt *fakeRuntime) int { return len(rt.monitored) }, slowCalls},
		{"SPAWN", loop(r3(vm.OpSpawn, 0, 3, 4)), func(rt *fakeRuntime) int { return len(rt.spawned) }, slowCalls},
		{"SELF is not one", loop(r1(vm.OpSelf, 1)), func(*fakeRuntime) int { return 0 }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &fakeRuntime{spawnOK: true}
			m, _ := load(t, vm.Config{Runtime: rt}, &vm.Program{Code: tc.code})
			m.SetRegister(3, 4) // SPAWN's entry: the DJMP
			const slice = 1 << 20
			if _, err := m.Resume(slice); err != vm.ErrSliceDone {
				t.Fatalf("Resume: %v, want ErrSliceDone", err)
			}
			if got := tc.calls(rt); got != tc.want {
				t.Errorf("%d calls in the first slice, want %d", got, tc.want)
			}
			if tc.want == 0 && m.Steps() < slice {
				t.Errorf("the slice ran %d instructions, want at least %d", m.Steps(), slice)
			}
			// The next slice gets as many.
			before := tc.calls(rt)
			if _, err := m.Resume(slice); err != vm.ErrSliceDone {
				t.Fatalf("second Resume: %v", err)
			}
			if got := tc.calls(rt) - before; got != tc.want {
				t.Errorf("%d calls in the second slice, want %d", got, tc.want)
			}
		})
	}
}

// fullOutput refuses the first `refuse` writes with ErrOutputFull, then
// takes everything.
type fullOutput struct {
	refuse int
	bytes.Buffer
}

func (o *fullOutput) Write(p []byte) (int, error) {
	if o.refuse > 0 {
		o.refuse--
		return 0, vm.ErrOutputFull
	}
	return o.Buffer.Write(p)
}

// TestOutputFullWaits: a PRT* whose output refuses with ErrOutputFull
// waits at that instruction (a *Wait with Output set, nothing run past
// it), and writes its bytes once when the VM runs again; with an output
// buffer, ErrOutputFull is a write failure.
func TestOutputFullWaits(t *testing.T) {
	tests := []struct {
		name string
		code [][4]byte
		want string
	}{
		{"PRTI", [][4]byte{ld(1, 42), r1(vm.OpPrti, 1), ld(2, 1)}, "42"},
		{"PRTS", [][4]byte{ld(1, 42), i24(vm.OpPrts, 0), ld(2, 1)}, "hi"},
		{"PRTF", [][4]byte{ld(1, 42), r2(vm.OpItof, 1, 3), r1(vm.OpPrtf, 3), ld(2, 1)}, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &fullOutput{refuse: 2}
			m, err := vm.New(vm.Config{Output: out})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Load(&vm.Program{ROData: []byte("hi\x00"), Code: asm(tt.code...)}); err != nil {
				t.Fatal(err)
			}
			prt := 4 * (len(tt.code) - 2)
			for i := 0; i < 2; i++ {
				_, err := m.Resume(0)
				var w *vm.Wait
				if !errors.As(err, &w) || !w.Output || w.PC != prt || m.PC() != prt {
					t.Fatalf("run %d: err %v, pc %d; want an output wait at %d", i, err, m.PC(), prt)
				}
				if m.Registers()[2] != 0 || out.Len() != 0 {
					t.Fatalf("run %d: ran past the wait: $2 = %d, output %q", i, m.Registers()[2], out.String())
				}
			}
			if exit, err := m.Resume(0); exit != 0 || err != nil {
				t.Fatalf("third run: %d %v", exit, err)
			}
			if out.String() != tt.want || m.Registers()[2] != 1 {
				t.Fatalf("output %q, $2 = %d; want %q, 1", out.String(), m.Registers()[2], tt.want)
			}
		})
	}
	t.Run("buffered", func(t *testing.T) {
		m, err := vm.New(vm.Config{Output: &fullOutput{refuse: 1}, OutputBuffer: 16})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Load(&vm.Program{Code: asm(ld(1, 42), r1(vm.OpPrti, 1))}); err != nil {
			t.Fatal(err)
		}
		exit, err := m.Resume(0)
		if exit != 1 || !errors.Is(err, vm.ErrOutput) || !errors.Is(err, vm.ErrOutputFull) {
			t.Fatalf("%d %v; want a fault wrapping ErrOutput and ErrOutputFull", exit, err)
		}
	})
}
