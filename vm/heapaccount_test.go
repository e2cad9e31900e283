package vm_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// account is a HeapAccount of at most total bytes.
type account struct {
	mu          sync.Mutex
	total, used int
}

func (a *account) Take(n int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used+n > a.total {
		return false
	}
	a.used += n
	return true
}

func (a *account) Give(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used -= n
}

func (a *account) inUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}

// A heap grows within its VM's HeapAccount: with room to double while the
// total allows, exactly what ALOC asks when only that fits, and not at all
// past the total (ALOC faults, the heap stays as it was). The account
// always holds what the heap's storage takes.
func TestHeapAccount(t *testing.T) {
	const kib = 1024
	tests := []struct {
		name        string
		total       int
		alocs       []uint16 // KiB each, one ALOC each
		err         error    // of the last ALOC
		heap, inUse int      // KiB afterwards
	}{
		{"within", 1024, []uint16{300, 300}, nil, 600, 600},
		{"room to double", 1024, []uint16{300, 100}, nil, 400, 600},
		{"what fits of the room to double", 1024, []uint16{600, 300}, nil, 900, 975},
		{"past the total", 1024, []uint16{600, 600}, vm.ErrHeapTotal, 600, 600},
		{"first past the total", 512, []uint16{600}, vm.ErrHeapTotal, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acct := &account{total: tc.total * kib}
			cfg := vm.DefaultConfig()
			cfg.HeapAccount = acct
			var code [][4]byte
			for _, k := range tc.alocs {
				// $1 = k KiB: LOAD k, then SHL by 10.
				code = append(code, ld(1, k), i16(vm.OpShl, 1, 10<<8), r1(vm.OpAloc, 1))
			}
			m, _ := load(t, cfg, &vm.Program{Code: asm(code...)})
			_, err := m.Run()
			if tc.err == nil && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.err != nil {
				wantFault(t, err, tc.err, 12*len(tc.alocs)-4, vm.OpAloc)
			}
			if m.HeapSize() != tc.heap*kib || acct.inUse() != tc.inUse*kib {
				t.Errorf("heap %d, account %d; want %d, %d", m.HeapSize(), acct.inUse(), tc.heap*kib, tc.inUse*kib)
			}
			m.Release()
			if m.HeapSize() != 0 || acct.inUse() != 0 {
				t.Errorf("after Release: heap %d, account %d; want 0, 0", m.HeapSize(), acct.inUse())
			}
		})
	}
}

// Near the total, small ALOCs grow into the room the last growth took as
// far as the account allowed, rather than each copying the whole heap into
// an array of exactly its new size.
func TestHeapAccountNearTheTotal(t *testing.T) {
	cfg := vm.DefaultConfig()
	cfg.HeapAccount = &account{total: 1 << 20}
	code := [][4]byte{ld(1, 600), i16(vm.OpShl, 1, 10<<8), r1(vm.OpAloc, 1),
		ld(1, 300), i16(vm.OpShl, 1, 10<<8), r1(vm.OpAloc, 1), ld(1, 1024)}
	for range 70 {
		code = append(code, r1(vm.OpAloc, 1)) // 1 KiB each, to 970 KiB
	}
	m, _ := load(t, cfg, &vm.Program{Code: asm(code...)})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := m.Run(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("%d bytes allocated for a 970 KiB heap, want at most 4 MiB (no copy per ALOC)", got)
	}
}

// What a VM's heap holds goes back to the account when the heap's storage
// goes (Load and ClearProgram drop a heap over 1 MiB), and a forked VM
// takes from the same account.
func TestHeapAccountGivesBack(t *testing.T) {
	acct := &account{total: 8 << 20}
	cfg := vm.DefaultConfig()
	cfg.HeapAccount = acct
	twoMiB := &vm.Program{Code: asm(ld(1, 2), i16(vm.OpShl, 1, 20<<8), r1(vm.OpAloc, 1))}
	m, _ := load(t, cfg, twoMiB)
	run := func(m *vm.VM, want int) {
		t.Helper()
		if _, err := m.Run(); err != nil {
			t.Fatal(err)
		}
		if acct.inUse() != want {
			t.Fatalf("account %d, want %d", acct.inUse(), want)
		}
	}
	run(m, 2<<20)
	if err := m.Load(twoMiB); err != nil || acct.inUse() != 0 {
		t.Fatalf("after Load: %v, account %d; want 0", err, acct.inUse())
	}
	run(m, 2<<20)
	m.ClearProgram()
	if acct.inUse() != 0 {
		t.Fatalf("after ClearProgram: account %d, want 0", acct.inUse())
	}
	if err := m.Load(twoMiB); err != nil {
		t.Fatal(err)
	}
	child, err := m.Fork(0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(m, 2<<20)
	run(child, 4<<20)
	child.Release()
	m.Release()
	if acct.inUse() != 0 {
		t.Fatalf("account %d after both released, want 0", acct.inUse())
	}
}

// The stack's storage counts in the HeapAccount as the heap's does: a
// PUSH or a CALL that needs more stack than the account allows faults
// with ErrStackTotal (far below StackLimit here), and the account never
// holds more than its total. Release gives it all back.
func TestStackAccount(t *testing.T) {
	const total = 64 << 10            // 16,384 entries
	pushes := func(n uint32) []byte { // CLOOP n-1; PUSH $1; LOOP; HLT
		return asm(i24(vm.OpCloop, n-1), r1(vm.OpPush, 1), i24(vm.OpLoop, 4), op(vm.OpHlt))
	}
	tests := []struct {
		name  string
		code  []byte
		err   error // of the run
		pc    int   // of the fault
		op    vm.Opcode
		depth int // the stack's depth afterwards, with no fault
	}{
		{"pushes within the total", pushes(1000), nil, 0, 0, 1000},
		{"pushes past the total", pushes(100_000), vm.ErrStackTotal, 4, vm.OpPush, 0},
		{"calls past the total", asm(i24(vm.OpCall, 0)), vm.ErrStackTotal, 0, vm.OpCall, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acct := &account{total: total}
			cfg := vm.DefaultConfig()
			cfg.HeapAccount = acct
			m, _ := load(t, cfg, &vm.Program{Code: tc.code})
			_, err := m.Run()
			switch {
			case tc.err != nil:
				wantFault(t, err, tc.err, tc.pc, tc.op)
			case err != nil:
				t.Fatalf("Run: %v", err)
			case m.StackDepth() != tc.depth:
				t.Errorf("stack depth %d, want %d", m.StackDepth(), tc.depth)
			}
			if used := acct.inUse(); used < 4*m.StackDepth() || used > total {
				t.Errorf("account holds %d bytes for a stack of %d entries, total %d", used, m.StackDepth(), total)
			}
			m.Release()
			if m.StackDepth() != 0 || acct.inUse() != 0 {
				t.Errorf("after Release: stack %d, account %d; want 0, 0", m.StackDepth(), acct.inUse())
			}
		})
	}
}
