package proc

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// A node's processes share HeapTotal, heaps and stacks alike: children
// that each fill 1 MiB of heap, or push 1 MiB of stack, and wait fit three
// to 3 MiB, and the fourth child's ALOC faults (vm.ErrHeapTotal), or its
// PUSH (vm.ErrStackTotal), while the others live on. What an ended
// process held is free again. The parent starts a child once the one
// before has its memory: stacks grow by doubling, and four growing at once
// could leave two of them short.
func TestHeapTotal(t *testing.T) {
	tests := []struct {
		name, fill string // the child's 1 MiB
		err        error
	}{
		{"heap", `
	load $1 #16
	shl $1 #16         ; 1 MiB
	aloc $1`, vm.ErrHeapTotal},
		{"stack", `
	cloop #262143
fill:
	push $1            ; 262,144 entries: 1 MiB
	loop @fill`, vm.ErrStackTotal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(Config{Alias: "test", Threads: 2, HeapTotal: 3 << 20})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(n.Close)
			faults := make(chan error, 4) // OnFault may run after the parent heard of the end
			n.cfg.OnFault = func(_ string, _ int32, err error) { faults <- err }
			p, out := start(t, n, `
	load $1 #0
	load $2 @child
	load $9 #0
	spawn $1 $2 $3
	recv $7 $8
	add $7 $9 $9
	spawn $1 $2 $3
	recv $7 $8
	add $7 $9 $9
	spawn $1 $2 $3
	recv $7 $8
	add $7 $9 $9
	spawn $1 $2 $3
	recv $7 $8
	add $7 $9 $9
	prti $9            ; three children send 7, the fourth ends with status 1
	hlt
child:`+tc.fill+`
	parent $2
	load $4 #7
	send $2 $4
	recv $5 $6         ; holds its memory until killed
`)
			if status, err := ended(t, p); status != StatusOK || out.String() != "22" {
				t.Fatalf("parent: status %d (%v), output %q; want 22", status, err, out.String())
			}
			// OnFault runs once the faulting child has given its memory back.
			select {
			case err := <-faults:
				if !errors.Is(err, tc.err) {
					t.Errorf("fault %v, want %v", err, tc.err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no fault reported")
			}
			account := n.cfg.VMConfig.HeapAccount.(*heapTotal)
			if used := account.used.Load(); used != 3<<20 {
				t.Errorf("%d bytes held by three waiting children, want %d", used, 3<<20)
			}
			for pid := p.PID() + 1; pid <= p.PID()+4; pid++ {
				if c, ok := n.Lookup(pid); ok {
					c.Kill()
					ended(t, c)
				}
			}
			if used := account.used.Load(); used != 0 {
				t.Errorf("%d bytes held after every child ended, want 0", used)
			}
			if len(faults) != 0 {
				t.Errorf("%d more faults, want none", len(faults))
			}
		})
	}
}

// A foreground process that was ended runs no more: RunContext says so.
func TestForegroundEndedRunsNoMore(t *testing.T) {
	n, err := New(Config{Alias: "test", Threads: 2, HeapTotal: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	fg, err := n.Foreground(Spec{Name: "fg"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	fg.End(StatusOK, nil)
	if _, err := fg.RunContext(context.Background()); !errors.Is(err, ErrEnded) {
		t.Errorf("RunContext after End: %v, want ErrEnded", err)
	}
}
