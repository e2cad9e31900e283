package proc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/testutil"
	"github.com/iridium-go/iridium/vm"
)

// quietRemote is the one other member, "there", of a node under the
// fuzzer: it takes everything the node sends it and starts nothing.
type quietRemote struct {
	mu    sync.Mutex
	exits []ExitNotice
}

func (*quietRemote) Members() []string { return []string{"there"} }
func (*quietRemote) Spawn(_ string, _ *SpawnOrder, done func(int32, error)) {
	go done(0, ErrLost)
}
func (*quietRemote) Send(string, int32, int32, int32) bool { return true }
func (r *quietRemote) Exit(_ string, e *ExitNotice) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.exits) < 1000 {
		r.exits = append(r.exits, *e)
	}
	return true
}
func (*quietRemote) Monitor(string, int32, int32) bool        { return true }
func (*quietRemote) Output(string, int32, int32, []byte) bool { return true }
func (*quietRemote) Kill(context.Context, string, int32) (bool, error) {
	return false, nil
}
func (*quietRemote) Processes(context.Context, string) ([]Info, error) { return nil, nil }

// fuzzImages are bytecode files the fuzzer's spawns pick from (by index),
// besides the bytes it makes up itself.
var fuzzImages = sync.OnceValue(func() [][]byte {
	var out [][]byte
	for _, src := range []string{
		"parent $1\nload $2 #7\nsend $1 $2\nprti $2\nhlt",
		"loop: recv $1 $2\ndjmpe @loop\nsend $2 $1\ndjmp @loop",
		"self $1\nmonitor $1\nload $2 #1\nload $3 #0\nspawn $2 $3 $4\nrecvt $5 $6 $7\nhlt",
		".data\ns: .asciiz 'out\\n'\n.code\nprts @s\nload $1 #100\nx: dec $1\nload $2 #0\nneq $1 $2\ndjmpe @x\nigl",
		"load $1 #0\nload $2 #1\ndiv $2 $1 $3",
	} {
		p, err := assembler.Assemble(src)
		if err != nil {
			panic(err)
		}
		b, _ := p.MarshalBinary()
		out = append(out, b)
	}
	return out
})

// opReader takes the fuzzer's bytes a few at a time; past the end it
// gives zeros.
type opReader struct{ b []byte }

func (r *opReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *opReader) int32() int32 {
	var w [4]byte
	for i := range w {
		w[i] = r.byte()
	}
	v := int32(binary.BigEndian.Uint32(w[:]))
	// Small numbers name the processes there are; keep most of them small.
	if v >= 0 && v < 1<<24 {
		v %= 8
	}
	return v
}

// entry is a code address: most of them near the programs' ends (up to
// 63), some anywhere.
func (r *opReader) entry() int32 {
	v := r.int32()
	if v >= 0 && v < 8 {
		v = v*8 + int32(r.byte()%8)
	}
	return v
}

func (r *opReader) bytes() []byte {
	n := min(int(r.byte()), len(r.b))
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// The fuzzer's requests, one byte each, then their operands.
const (
	fzSpawn = iota
	fzSend
	fzExit
	fzMonitor
	fzKill
	fzOutput
	fzLost
	fzList
	fzOps
)

// spawnRefusals are the errors RemoteSpawn is documented to give.
var spawnRefusals = []error{ErrRemoteSpawnOff, ErrTooMany, ErrNoPIDs, ErrClosed, ErrUnknownProgram, ErrBadProgram, ErrBadEntry}

// remoteRequestSeeds are the seed corpus of FuzzRemoteRequests
// (testdata/fuzz/FuzzRemoteRequests, written by TestWriteSeedCorpus).
func remoteRequestSeeds() [][]byte {
	imgs := fuzzImages()
	var seeds [][]byte
	op := func(b ...byte) []byte { return b }
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	i32 := func(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	spawn := func(mode byte, img []byte, entry int32, sinkHere byte, sink int32) []byte {
		return cat(op(fzSpawn, mode), op(byte(len(img))), img, i32(entry), op(sinkHere), i32(sink), i32(1), op(0), op(3), []byte("job"))
	}
	seeds = append(seeds, cat(spawn(0, nil, 0, 1, 1)))                                                       // image 0, sink here
	seeds = append(seeds, cat(spawn(1, nil, 4, 0, 3), op(fzSend), i32(1), i32(2), i32(42)))                  // image 1, output there
	seeds = append(seeds, cat(spawn(2, nil, 0, 1, 1), spawn(0x82, nil, 0, 1, 1), op(fzLost, 0)))             // hash alone the second time
	seeds = append(seeds, cat(spawn(3, nil, 12, 1, 1), op(fzMonitor), i32(5), i32(2), op(fzKill), i32(2)))   // entry inside
	seeds = append(seeds, cat(spawn(4, nil, 1, 1, 1), spawn(4, nil, 400, 1, 1)))                             // bad entries
	seeds = append(seeds, cat(spawn(0x40, imgs[0][:70], 0, 1, 1), spawn(0x40, []byte("EPIE\x01"), 0, 1, 1))) // made-up images
	seeds = append(seeds, cat(spawn(1, nil, 0, 1, 1), op(fzExit), i32(3), i32(1), i32(1), op(1), op(5), []byte("fault"), op(2), op(1)))
	seeds = append(seeds, cat(op(fzOutput), i32(1), i32(3), op(5), []byte("hello"), op(fzList), op(fzLost, 1)))
	// An entry one instruction past the end of a program of 3 (12 bytes):
	// entry() reads 2, then 0, as 2*8+0.
	seeds = append(seeds, cat(op(fzSpawn, 4, 0), i32(2), op(0, 1), i32(1), i32(1), op(0, 3), []byte("job")))
	return seeds
}

// FuzzRemoteRequests plays another member: the requests its frames carry
// (section 9: Spawn with a program image or its hash alone, Send, Exit
// with a fault and events, Monitor, Kill, Output) and its loss, in any
// order with any values, reach a node with a running process and its
// sink. Nothing may panic; a spawn starts exactly when its image is
// valid bytecode (or was cached) and its entry is an instruction of it,
// and is refused otherwise with one of the documented errors; the node
// closes, every process with it, and leaves no goroutine behind.
func FuzzRemoteRequests(f *testing.F) {
	imgs := fuzzImages()
	for _, s := range remoteRequestSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := runtime.NumGoroutine()
		rem := &quietRemote{}
		n, err := New(Config{Alias: "here", Threads: 1, MaxProcesses: 16, CachePrograms: 2,
			VMConfig: vm.Config{Budget: 5000, HeapLimit: 1 << 12, StackLimit: 256}})
		if err != nil {
			t.Fatal(err)
		}
		n.SetRemote(rem)
		// A process here, pid 1, that takes messages and answers them; its
		// writer is sink 1.
		prog, err := assembler.Assemble("loop: recv $1 $2\ndjmpe @loop\nsend $2 $1\nprti $1\ndjmp @loop")
		if err != nil {
			t.Fatal(err)
		}
		out := &testutil.Buffer{}
		if _, err := n.Start(Spec{Name: "sink"}, prog, out); err != nil {
			t.Fatal(err)
		}
		r := &opReader{b: data}
		for len(r.b) > 0 {
			switch r.byte() % fzOps {
			case fzSpawn:
				mode := r.byte()
				img := r.bytes()
				if mode&0x40 == 0 {
					img = imgs[int(mode&0x3f)%len(imgs)]
				}
				o := &SpawnOrder{Image: img, Hash: sha256.Sum256(img), Entry: r.entry(), Sink: 0, Parent: 0}
				if r.byte()&1 == 1 {
					o.SinkNode = "here"
				} else {
					o.SinkNode = "there"
				}
				o.Sink, o.Parent = r.int32(), r.int32()
				o.Report = r.byte()&1 == 1
				o.Name = string(r.bytes())
				if mode&0x80 != 0 {
					o.Image = nil // the hash alone
				}
				o.Regs[1] = 1
				pid, start, err := n.RemoteSpawn("there", o)
				var want error
				if o.Image != nil {
					p, perr := vm.ParseBytecode(o.Image)
					switch {
					case perr != nil:
						want = ErrBadProgram
					case o.Entry < 0 || int(o.Entry) > len(p.Code) || o.Entry%4 != 0:
						want = ErrBadEntry
					}
				}
				switch {
				case err == nil && want != nil:
					t.Fatalf("spawn of %x at %d started (pid %d), want %v", o.Image, o.Entry, pid, want)
				case err == nil:
					if pid <= 0 || start == nil {
						t.Fatalf("spawn: pid %d, start %v", pid, start != nil)
					}
					start()
				case want != nil && !errors.Is(err, want) && !errors.Is(err, ErrTooMany):
					t.Fatalf("spawn of %x at %d: %v, want %v", o.Image, o.Entry, err, want)
				case want == nil && o.Image != nil && !errors.Is(err, ErrTooMany):
					t.Fatalf("spawn of valid %x at %d refused: %v", o.Image, o.Entry, err)
				case !isOneOf(err, spawnRefusals):
					t.Fatalf("spawn: undocumented refusal %v", err)
				}
			case fzSend:
				n.RemoteSend("there", r.int32(), r.int32(), r.int32())
			case fzExit:
				e := &ExitNotice{From: r.int32(), To: r.int32(), Status: int(r.int32()), Parent: r.byte()&1 == 1,
					Fault: string(r.bytes())}
				for range r.byte() % 4 {
					e.Events = append(e.Events, vm.Event{Kind: vm.EventKind(r.byte()), At: time.Unix(0, int64(r.int32())), Code: int(r.int32())})
				}
				n.RemoteExit("there", e)
			case fzMonitor:
				n.RemoteMonitor("there", r.int32(), r.int32())
			case fzKill:
				n.RemoteKill(r.int32())
			case fzOutput:
				n.RemoteOutput("there", r.int32(), r.int32(), r.bytes())
			case fzLost:
				n.MemberLost("there", r.byte()&1 == 1)
			case fzList:
				for _, p := range n.Processes() {
					if p.PID <= 0 {
						t.Fatalf("process with pid %d", p.PID)
					}
				}
			}
		}
		closed := make(chan struct{})
		go func() { n.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		if ps := n.Processes(); len(ps) != 0 {
			t.Fatalf("%d processes after Close", len(ps))
		}
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if g := runtime.NumGoroutine(); g > before {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before\n%s", g, before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func isOneOf(err error, list []error) bool {
	for _, e := range list {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzRemoteRequests from
// remoteRequestSeeds when PROC_WRITE_CORPUS is set; otherwise it checks
// the files are there.
func TestWriteSeedCorpus(t *testing.T) {
	var seeds []testutil.Seed
	for _, s := range remoteRequestSeeds() {
		seeds = append(seeds, testutil.Seed{Target: "FuzzRemoteRequests", Args: []string{testutil.Bytes(s)}})
	}
	testutil.SeedCorpus(t, "PROC_WRITE_CORPUS", seeds)
}
