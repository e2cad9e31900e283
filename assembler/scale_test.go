package assembler

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/vm"
)

// wideLoadChain is the worst case for sizing two-instruction LOADs: k lines
// "load $1 @Li" at the top, then nops up to the labels L1..Lk, one
// instruction apart, placed so that Lk alone is past 65535 while every LOAD
// is one instruction. Lk's LOAD becomes two instructions, which pushes
// L(k-1) past 65535, whose LOAD then grows, and so on down the chain. tail
// instructions follow the labels, so that every look at the whole program
// costs more. k is at most 8192 (the labels must fit below 65536).
func wideLoadChain(k, tail int) string {
	var b strings.Builder
	for i := 1; i <= k; i++ {
		fmt.Fprintf(&b, "    load $1 @L%d\n", i)
	}
	// Addresses with every LOAD narrow: the LOADs take 0..4k-4, the nops
	// 4k up to L1, and Li = 65536 - 4(k-i), so Lk = 65536.
	for range (math.MaxUint16+1)/vm.InstructionSize - 2*k + 1 {
		b.WriteString("    nop\n")
	}
	for i := 1; i <= k; i++ {
		fmt.Fprintf(&b, "L%d: inc $2\n", i)
	}
	for i := range tail {
		fmt.Fprintf(&b, "    add $%d $%d $%d\n", i%32, (i+1)%32, (i+2)%32)
	}
	b.WriteString("    hlt\n")
	return b.String()
}

// asciizSource is n short lines of labelled .asciiz strings, a quarter of
// them with an escape, and a little code that prints the first. Short
// lines are the hard case: what the assembler keeps per label and per
// string weighs most against the source.
func asciizSource(n int) string {
	var b strings.Builder
	b.WriteString(".data\n")
	for i := range n {
		if i%4 == 0 {
			fmt.Fprintf(&b, "s%d: .asciiz 'hi %d\\n'\n", i, i)
		} else {
			fmt.Fprintf(&b, "s%d: .asciiz 'hi %d'\n", i, i)
		}
	}
	b.WriteString(".code\n    prts @s0\n    hlt\n")
	return b.String()
}

// instrSource is n lines of ordinary instructions of every operand shape,
// a label every 16 lines and jumps back to it.
func instrSource(n int) string {
	var b strings.Builder
	for i := range n {
		r := i % 32
		switch i % 16 {
		case 0:
			fmt.Fprintf(&b, "top%d: load $%d #%d\n", i, r, i%70000)
		case 1:
			fmt.Fprintf(&b, "    add $%d $%d $%d\n", r, (r+1)%32, (r+2)%32)
		case 2:
			fmt.Fprintf(&b, "    inc $%d ; count\n", r)
		case 3:
			fmt.Fprintf(&b, "    lt $%d $%d\n", r, (r+3)%32)
		case 4:
			fmt.Fprintf(&b, "    djmpe @top%d\n", i-4)
		case 5:
			fmt.Fprintf(&b, "    load $%d @top%d\n", r, i-5)
		case 6:
			fmt.Fprintf(&b, "    shl $%d #3\n", r)
		case 7:
			fmt.Fprintf(&b, "    mul $%d $%d $%d\n", r, (r+5)%32, (r+7)%32)
		case 8:
			fmt.Fprintf(&b, "    push $%d\n", r)
		case 9:
			fmt.Fprintf(&b, "    pop $%d\n", r)
		case 10:
			fmt.Fprintf(&b, "    call @top%d\n", i-10)
		case 11:
			b.WriteString("    nop\n")
		default:
			fmt.Fprintf(&b, "    sub $%d $%d $%d\n", r, (r+9)%32, (r+11)%32)
		}
	}
	b.WriteString("    hlt\n")
	return b.String()
}

// sourceOfSize repeats make(n) with n doubling until the source has at
// least size bytes.
func sourceOfSize(size int, make func(n int) string) string {
	n := 1024
	src := make(n)
	for len(src) < size {
		n *= 2
		src = make(n)
	}
	return src
}

// Layout of the chain gives the LOADs of the labels past 65535 two
// instructions, and the program is what the sizes imply.
func TestWideLoadChain(t *testing.T) {
	const k = 300
	src := wideLoadChain(k, 10)
	p, syms, err := AssembleFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// Each widening moved every label by 4: Li = 65536 - 4(k-i) + 4k.
	values := map[string]int{}
	for _, s := range syms {
		values[s.Name] = s.Value
	}
	for i := 1; i <= k; i++ {
		want := math.MaxUint16 + 1 + vm.InstructionSize*i
		if got := values[fmt.Sprintf("L%d", i)]; got != want {
			t.Fatalf("L%d = %d, want %d", i, got, want)
		}
	}
	for i := 1; i <= k; i++ {
		at := 8 * (i - 1)
		v := uint32(values[fmt.Sprintf("L%d", i)])
		load := vm.EncodeImm16(vm.OpLoad, 1, uint16(v>>16))
		lui := vm.EncodeImm16(vm.OpLui, 1, uint16(v))
		if got := p.Code[at : at+8]; string(got) != string(load[:])+string(lui[:]) {
			t.Fatalf("LOAD of L%d is % x", i, got)
		}
	}
}

// heapObjects is the runtime metric of the bytes in heap objects, live
// or not yet swept.
const heapObjects = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakHeap runs f once with the garbage collector at work nearly all the
// time (GOGC=5), so that the heap stays close to what is live, and returns
// the most heap seen above the heap before f (sampled every 100µs) and the
// heap left after f and a collection: about the most f held at once, and
// what it keeps.
func peakHeap(f func()) (peak, held uint64) {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	base := heapNow()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			peak = max(peak, heapNow())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	peak = max(peak, heapNow())
	runtime.GC()
	held = heapNow()
	return peak - min(peak, base), held - min(held, base)
}

// benchmarkAssemble assembles src per iteration and reports, per byte of
// source, the bytes allocated (alloc-B/src-B); then, from one more run,
// the most heap held at once (peak-B/src-B) and what the program and
// symbols keep (held-B/src-B).
func benchmarkAssemble(b *testing.B, src string) {
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if _, _, err := AssembleFile(src); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	var p *vm.Program
	var syms []Symbol
	peak, held := peakHeap(func() { p, syms, _ = AssembleFile(src) })
	runtime.KeepAlive(p)
	runtime.KeepAlive(syms)
	size := float64(len(src))
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/size, "alloc-B/src-B")
	b.ReportMetric(float64(peak)/size, "peak-B/src-B")
	b.ReportMetric(float64(held)/size, "held-B/src-B")
}

// go test -run='^$' -bench=Assemble -benchtime=5x ./assembler/
func BenchmarkAssembleWideLoadChain(b *testing.B) {
	for _, tc := range []struct{ k, tail int }{{500, 20000}, {2000, 20000}, {8000, 100000}} {
		src := wideLoadChain(tc.k, tc.tail)
		b.Run(fmt.Sprintf("k=%d/%dKB", tc.k, len(src)>>10), func(b *testing.B) { benchmarkAssemble(b, src) })
	}
}

func BenchmarkAssembleAsciiz(b *testing.B) {
	for _, size := range []int{1 << 20, 32 << 20} {
		src := sourceOfSize(size, asciizSource)
		b.Run(fmt.Sprintf("%dMB", len(src)>>20), func(b *testing.B) { benchmarkAssemble(b, src) })
	}
}

func BenchmarkAssembleInstructions(b *testing.B) {
	for _, size := range []int{1 << 20, 32 << 20} {
		src := sourceOfSize(size, instrSource)
		b.Run(fmt.Sprintf("%dMB", len(src)>>20), func(b *testing.B) { benchmarkAssemble(b, src) })
	}
}
