package vm_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// Instruction builders, so that tests read like assembly. The assembler is
// another package; these tests build code from the encoding helpers only.
func op(o vm.Opcode) [4]byte                     { return vm.Encode(o, 0, 0, 0) }
func r1(o vm.Opcode, a uint8) [4]byte            { return vm.Encode(o, a, 0, 0) }
func r2(o vm.Opcode, a, b uint8) [4]byte         { return vm.Encode(o, a, b, 0) }
func r3(o vm.Opcode, a, b, c uint8) [4]byte      { return vm.Encode(o, a, b, c) }
func ld(r uint8, v uint16) [4]byte               { return vm.EncodeImm16(vm.OpLoad, r, v) }
func i16(o vm.Opcode, r uint8, v uint16) [4]byte { return vm.EncodeImm16(o, r, v) }
func i24(o vm.Opcode, v uint32) [4]byte          { return vm.EncodeImm24(o, v) }

// asm concatenates encoded instructions into code.
func asm(ins ...[4]byte) []byte {
	code := make([]byte, 0, 4*len(ins))
	for _, in := range ins {
		code = append(code, in[:]...)
	}
	return code
}

// newVM makes a VM writing to a fresh buffer.
func newVM(t testing.TB, cfg vm.Config) (*vm.VM, *bytes.Buffer) {
	t.Helper()
	out := new(bytes.Buffer)
	cfg.Output = out
	m, err := vm.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, out
}

// load makes a VM and loads p into it.
func load(t testing.TB, cfg vm.Config, p *vm.Program) (*vm.VM, *bytes.Buffer) {
	t.Helper()
	m, out := newVM(t, cfg)
	if err := m.Load(p); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m, out
}

// wantFault checks that err is a *Fault at pc on op wrapping sentinel.
func wantFault(t testing.TB, err error, sentinel error, pc int, o vm.Opcode) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want %v", err, sentinel)
	}
	var f *vm.Fault
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *vm.Fault", err, err)
	}
	if f.PC != pc || f.Op != o {
		t.Fatalf("fault at pc %s (%v), want pc %s (%v): %v", vm.FormatAddress(f.PC), f.Op, vm.FormatAddress(pc), o, err)
	}
}

// state is what a test expects of a VM after a run; nil maps and pointers
// are not checked.
type state struct {
	regs   map[int]int32
	fregs  map[int]float64
	flag   *bool
	rem    *int32
	pc     *int
	out    *string
	depth  *int
	heap   *int
	loopCt *int
}

func ptr[T any](v T) *T { return &v }

func (s state) check(t testing.TB, m *vm.VM, out string) {
	t.Helper()
	regs, fregs := m.Registers(), m.FloatRegisters()
	for i, v := range s.regs {
		if regs[i] != v {
			t.Errorf("$%d = %d, want %d", i, regs[i], v)
		}
	}
	for i, v := range s.fregs {
		if got := fregs[i]; got != v && !(math.IsNaN(got) && math.IsNaN(v)) {
			t.Errorf("float $%d = %v, want %v", i, got, v)
		}
	}
	if s.flag != nil && m.Flag() != *s.flag {
		t.Errorf("flag = %v, want %v", m.Flag(), *s.flag)
	}
	if s.rem != nil && m.Remainder() != *s.rem {
		t.Errorf("remainder = %d, want %d", m.Remainder(), *s.rem)
	}
	if s.pc != nil && m.PC() != *s.pc {
		t.Errorf("pc = %s, want %s", vm.FormatAddress(m.PC()), vm.FormatAddress(*s.pc))
	}
	if s.out != nil && out != *s.out {
		t.Errorf("output = %q, want %q", out, *s.out)
	}
	if s.depth != nil && m.StackDepth() != *s.depth {
		t.Errorf("stack depth = %d, want %d", m.StackDepth(), *s.depth)
	}
	if s.heap != nil && m.HeapSize() != *s.heap {
		t.Errorf("heap size = %d, want %d", m.HeapSize(), *s.heap)
	}
	if s.loopCt != nil && m.LoopCounter() != *s.loopCt {
		t.Errorf("loop counter = %d, want %d", m.LoopCounter(), *s.loopCt)
	}
}
