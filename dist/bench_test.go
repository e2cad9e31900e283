package dist

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/proc"
)

// The benchmarks of processes across two members on loopback, each member
// a cluster manager and a process runtime of one worker, both in this
// process, talking over TLS as separate nodes do. bench/dist.sh runs them
// beside their Erlang twins (bench/dist.escript).

// BenchmarkRemoteRoundTrip: a process passes a counter back and forth
// with an echo process on the other member; one op is one round trip.
func BenchmarkRemoteRoundTrip(b *testing.B) {
	benchRemote(b, `
	load $1 #1
	load $2 @echo
	spawn $1 $2 $3
	load $5 #%d          ; b.N, in two halves
	lui $5 #%d
	load $6 #0
loop:
	send $3 $6
	recv $6 $8
	inc $6
	lt $6 $5
	djmpe @loop
	hlt
echo:
	recv $1 $2
	send $2 $1
	djmp @echo
`)
}

// BenchmarkRemoteSpawnExit: spawn a process on the other member that
// halts at once, and receive its exit notice; one op is both.
func BenchmarkRemoteSpawnExit(b *testing.B) {
	benchRemote(b, `
	load $1 #1
	load $2 @child
	load $5 #%d
	lui $5 #%d
	load $6 #0
loop:
	spawn $1 $2 $3
	recv $7 $8
	inc $6
	lt $6 $5
	djmpe @loop
	hlt
child:
	hlt
`)
}

// BenchmarkRemoteSendThroughput: one process sends to a counting process
// on the other member, which acknowledges every 10,000 messages; the
// sender keeps at most two such batches unacknowledged, so that no queue
// overflows. One op is one message; msgs/s is the rate.
func BenchmarkRemoteSendThroughput(b *testing.B) {
	benchRemote(b, `
	load $10 #10000      ; a batch (the counter gets it too)
	load $1 #1
	load $2 @counter
	spawn $1 $2 $3
	load $5 #%d          ; b.N
	lui $5 #%d
	load $6 #0           ; sent
	load $11 #0          ; acknowledged batches
	load $12 #0          ; sent batches
	load $13 #2          ; the window
	load $9 #0
loop:
	send $3 $6
	inc $6
	div $6 $10 $14
	load $15 #0
	rem $14
	neq $14 $15
	djmpe @next
	inc $12              ; a batch is out: wait while two are unacknowledged
window:
	sub $12 $11 $16
	lt $16 $13
	djmpe @next
	recv $7 $8
	inc $11
	djmp @window
next:
	lt $6 $5
	djmpe @loop
	load $7 #-1          ; done: the counter answers with its count
	send $3 $7
last:
	recv $7 $8
	neq $7 $5
	djmpe @last          ; a batch's acknowledgement; the count is b.N
	hlt
counter:                 ; counts, acknowledges every batch, answers -1 with the count
	load $6 #0
	load $9 #-1
	load $15 #0
count:
	recv $1 $2
	eq $1 $9
	djmpe @answer
	inc $6
	div $6 $10 $14
	rem $14
	neq $14 $15
	djmpe @count
	send $2 $6
	djmp @count
answer:
	send $2 $6
	hlt
`)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchRemote runs src, formatted with the upper and lower half of b.N,
// on member a of a two-member cluster, timing it whole.
func benchRemote(b *testing.B, src string) {
	nodes := mesh(b, proc.Config{Threads: 1}, "a", "b")
	prog, err := assembler.Assemble(fmt.Sprintf(src, b.N>>16, b.N&0xffff))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	p, err := nodes[0].n.Start(proc.Spec{Name: "bench"}, prog, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if status, err := ended(b, p, 10*time.Minute); status != proc.StatusOK {
		b.Fatal(status, err)
	}
	b.StopTimer()
	if d := nodes[0].m.DroppedProcessFrames("b") + nodes[1].m.DroppedProcessFrames("a"); d > 0 {
		b.Fatalf("%d frames dropped", d)
	}
}
