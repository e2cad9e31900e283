package vm_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name string
		regs map[int]int32
		ro   []byte
		code []byte
		cfg  vm.Config
		err  error
		pc   int
		op   vm.Opcode
	}{
		{name: "igl", code: asm(op(vm.OpNop), op(vm.OpIgl)), err: vm.ErrIllegalOpcode, pc: 4, op: vm.OpIgl},
		{name: "div by zero", regs: map[int]int32{1: 1}, code: asm(r3(vm.OpDiv, 1, 2, 3)),
			err: vm.ErrDivideByZero, pc: 0, op: vm.OpDiv},
		{name: "mod by zero", regs: map[int]int32{1: 1}, code: asm(op(vm.OpNop), r3(vm.OpMod, 1, 2, 3)),
			err: vm.ErrDivideByZero, pc: 4, op: vm.OpMod},
		{name: "jmp unaligned", regs: map[int]int32{1: 2}, code: asm(r1(vm.OpJmp, 1), op(vm.OpHlt)),
			err: vm.ErrBadJump, pc: 0, op: vm.OpJmp},
		{name: "jmp negative", regs: map[int]int32{1: -4}, code: asm(r1(vm.OpJmp, 1)),
			err: vm.ErrBadJump, pc: 0, op: vm.OpJmp},
		{name: "jmp past end", regs: map[int]int32{1: 8}, code: asm(r1(vm.OpJmp, 1)),
			err: vm.ErrBadJump, pc: 0, op: vm.OpJmp},
		{name: "jmp far", regs: map[int]int32{1: maxI32}, code: asm(r1(vm.OpJmp, 1)),
			err: vm.ErrBadJump, pc: 0, op: vm.OpJmp},
		{name: "jmpf past end", regs: map[int]int32{1: 100}, code: asm(op(vm.OpNop), r1(vm.OpJmpf, 1)),
			err: vm.ErrBadJump, pc: 4, op: vm.OpJmpf},
		{name: "jmpf overflow", regs: map[int]int32{1: maxI32}, code: asm(op(vm.OpNop), r1(vm.OpJmpf, 1)),
			err: vm.ErrBadJump, pc: 4, op: vm.OpJmpf},
		{name: "jmpf unaligned", regs: map[int]int32{1: 1}, code: asm(r1(vm.OpJmpf, 1), op(vm.OpHlt)),
			err: vm.ErrBadJump, pc: 0, op: vm.OpJmpf},
		{name: "jmpb before start", regs: map[int]int32{1: 8}, code: asm(op(vm.OpNop), r1(vm.OpJmpb, 1)),
			err: vm.ErrBadJump, pc: 4, op: vm.OpJmpb},
		{name: "jmpb min", regs: map[int]int32{1: minI32}, code: asm(op(vm.OpNop), r1(vm.OpJmpb, 1)),
			err: vm.ErrBadJump, pc: 4, op: vm.OpJmpb},
		{name: "jmpe taken bad target", regs: map[int]int32{3: 6},
			code: asm(r2(vm.OpEq, 1, 2), r1(vm.OpJmpe, 3), op(vm.OpHlt)), err: vm.ErrBadJump, pc: 4, op: vm.OpJmpe},
		{name: "aloc negative", regs: map[int]int32{1: -1}, code: asm(r1(vm.OpAloc, 1)),
			err: vm.ErrBadAlloc, pc: 0, op: vm.OpAloc},
		{name: "aloc past limit", regs: map[int]int32{1: 17}, cfg: vm.Config{HeapLimit: 16},
			code: asm(r1(vm.OpAloc, 1)), err: vm.ErrBadAlloc, pc: 0, op: vm.OpAloc},
		{name: "aloc past limit in steps", regs: map[int]int32{1: 9}, cfg: vm.Config{HeapLimit: 16},
			code: asm(r1(vm.OpAloc, 1), r1(vm.OpAloc, 1)), err: vm.ErrBadAlloc, pc: 4, op: vm.OpAloc},
		{name: "aloc past default limit", regs: map[int]int32{1: maxI32},
			code: asm(r1(vm.OpAloc, 1)), err: vm.ErrBadAlloc, pc: 0, op: vm.OpAloc},
		{name: "loadm empty heap", code: asm(r2(vm.OpLoadm, 1, 2)), err: vm.ErrHeapAccess, pc: 0, op: vm.OpLoadm},
		{name: "loadm negative", regs: map[int]int32{1: 8, 2: -1},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpLoadm, 2, 3)), err: vm.ErrHeapAccess, pc: 4, op: vm.OpLoadm},
		{name: "loadm straddles end", regs: map[int]int32{1: 8, 2: 5},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpLoadm, 2, 3)), err: vm.ErrHeapAccess, pc: 4, op: vm.OpLoadm},
		{name: "loadm min", regs: map[int]int32{1: 8, 2: minI32},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpLoadm, 2, 3)), err: vm.ErrHeapAccess, pc: 4, op: vm.OpLoadm},
		{name: "setm straddles end", regs: map[int]int32{1: 8, 2: 6},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpSetm, 2, 3)), err: vm.ErrHeapAccess, pc: 4, op: vm.OpSetm},
		{name: "setm max", regs: map[int]int32{1: 8, 2: maxI32},
			code: asm(r1(vm.OpAloc, 1), r2(vm.OpSetm, 2, 3)), err: vm.ErrHeapAccess, pc: 4, op: vm.OpSetm},
		{name: "push overflow", cfg: vm.Config{StackLimit: 2},
			code: asm(r1(vm.OpPush, 1), r1(vm.OpPush, 1), r1(vm.OpPush, 1)), err: vm.ErrStackOverflow, pc: 8, op: vm.OpPush},
		{name: "call overflow", cfg: vm.Config{StackLimit: 3},
			code: asm(r1(vm.OpPush, 1), r1(vm.OpPush, 1), i24(vm.OpCall, 12), op(vm.OpHlt)),
			err:  vm.ErrStackOverflow, pc: 8, op: vm.OpCall},
		{name: "infinite recursion", cfg: vm.Config{StackLimit: 1000},
			code: asm(i24(vm.OpCall, 0)), err: vm.ErrStackOverflow, pc: 0, op: vm.OpCall},
		{name: "pop empty", code: asm(r1(vm.OpPop, 1)), err: vm.ErrStackUnderflow, pc: 0, op: vm.OpPop},
		{name: "pop below frame", code: asm(
			r1(vm.OpPush, 1),   // 0
			i24(vm.OpCall, 12), // 4
			op(vm.OpHlt),       // 8
			r1(vm.OpPop, 1),    // 12: the caller's value is below the frame
		), err: vm.ErrStackUnderflow, pc: 12, op: vm.OpPop},
		{name: "ret with no frame", code: asm(op(vm.OpNop), op(vm.OpRet)), err: vm.ErrNoFrame, pc: 4, op: vm.OpRet},
		{name: "ret twice", code: asm(i24(vm.OpCall, 8), op(vm.OpRet), op(vm.OpRet)),
			err: vm.ErrNoFrame, pc: 4, op: vm.OpRet},
		{name: "prts past rodata", ro: []byte("a\x00"), code: asm(i24(vm.OpPrts, 3)),
			err: vm.ErrBadString, pc: 0, op: vm.OpPrts},
		{name: "prts at end of rodata", ro: []byte("a\x00"), code: asm(i24(vm.OpPrts, 2)),
			err: vm.ErrBadString, pc: 0, op: vm.OpPrts},
		{name: "prts no nul", ro: []byte("a\x00bc"), code: asm(i24(vm.OpPrts, 2)),
			err: vm.ErrBadString, pc: 0, op: vm.OpPrts},
		{name: "prts no rodata", code: asm(i24(vm.OpPrts, 0)), err: vm.ErrBadString, pc: 0, op: vm.OpPrts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newVM(t, tc.cfg)
			for i, v := range tc.regs {
				m.SetRegister(i, v)
			}
			if err := m.Load(&vm.Program{ROData: tc.ro, Code: tc.code}); err != nil {
				t.Fatalf("Load: %v", err)
			}
			code, err := m.Run()
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			wantFault(t, err, tc.err, tc.pc, tc.op)
			if m.PC() != tc.pc {
				t.Errorf("pc = %d after the fault, want %d", m.PC(), tc.pc)
			}
		})
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestOutputError(t *testing.T) {
	for _, code := range [][]byte{
		asm(op(vm.OpNop), i24(vm.OpPrts, 0)),
		asm(op(vm.OpNop), r1(vm.OpPrti, 0)),
	} {
		m, err := vm.New(vm.Config{Output: failWriter{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Load(&vm.Program{ROData: []byte("x\x00"), Code: code}); err != nil {
			t.Fatal(err)
		}
		_, err = m.Run()
		wantFault(t, err, vm.ErrOutput, 4, vm.Opcode(code[4]))
		if !errors.Is(err, errDiskFull) {
			t.Errorf("error %v does not wrap the writer's error", err)
		}
	}
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

// TestPanicBecomesFault: a panic (here from the host's writer) is turned
// into a Fault at the Run boundary instead of crashing the host.
func TestPanicBecomesFault(t *testing.T) {
	m, err := vm.New(vm.Config{Output: panicWriter{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(&vm.Program{Code: asm(r1(vm.OpPrti, 0))}); err != nil {
		t.Fatal(err)
	}
	code, err := m.Run()
	if code != 1 || !errors.Is(err, vm.ErrInternal) {
		t.Fatalf("Run = %d, %v; want 1, ErrInternal", code, err)
	}
	// The VM is still usable.
	if err := m.Load(&vm.Program{Code: asm(ld(0, 1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(); err != nil || m.Registers()[0] != 1 {
		t.Fatalf("Run after recovery: %v, $0 = %d", err, m.Registers()[0])
	}
}

// Faults name their pc as the disassembly listing prints addresses, so
// that the instruction is easy to find in it.
func TestFaultError(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	past16Bits := append(bytes.Repeat(asm(op(vm.OpNop)), 0x4000), asm(op(vm.OpIgl))...)
	run := func(code []byte, ctx context.Context) func() error {
		return func() error {
			m, _ := load(t, vm.Config{}, &vm.Program{Code: code})
			_, err := m.RunContext(ctx)
			return err
		}
	}
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"run-time fault", run(asm(op(vm.OpNop), r3(vm.OpDiv, 1, 2, 3)), context.Background()),
			"division by zero at pc 0x0004 (DIV)"},
		{"past 16 bits", run(past16Bits, context.Background()),
			"illegal instruction at pc 0x10000 (IGL)"},
		{"interrupted", run(asm(i24(vm.OpDjmp, 0)), cancelled),
			"interrupted: context canceled at pc 0x0000 (DJMP)"},
		{"verification", func() error { return vm.Verify(&vm.Program{Code: asm(op(vm.OpNop), i24(vm.OpDjmpe, 12))}) },
			"jump target outside the code or not a multiple of 4: 0x000c at pc 0x0004 (DJMPE)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatAddress(t *testing.T) {
	for addr, want := range map[int]string{0: "0x0000", 0x18: "0x0018", 0xffff: "0xffff", 0x10000: "0x10000", vm.MaxImm24: "0xffffff", -4: "-0x0004", math.MinInt32: "-0x80000000"} {
		if got := vm.FormatAddress(addr); got != want {
			t.Errorf("FormatAddress(%d) = %q, want %q", addr, got, want)
		}
	}
}
