package proc

import (
	"fmt"
	"slices"
	"testing"
)

// A watchList holds each watcher once, in the order they came, whether it
// is short or long enough to keep a set; pruning drops only what gone
// names, and take empties it.
func TestWatchList(t *testing.T) {
	tests := []struct {
		name string
		adds []int32
		gone func(int32) bool
		want []int32
	}{
		{"none", nil, nil, nil},
		{"twice the same", []int32{7, 7}, nil, []int32{7}},
		{"order kept", []int32{3, 1, 2, 1, 3}, nil, []int32{3, 1, 2}},
		{"past the index", append(span(1, 40, 1), span(1, 40, 1)...), nil, span(1, 40, 1)},
		// Odd watchers are gone: the prune at 32 drops those among the
		// first 32; the later ones stay until the next prune.
		{"pruned once long", span(1, 40, 1), func(w int32) bool { return w%2 == 1 },
			append(span(2, 32, 2), span(33, 40, 1)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l watchList[int32]
			for _, w := range tc.adds {
				l.add(w, tc.gone)
			}
			if !slices.Equal(l.list, tc.want) {
				t.Errorf("list %v, want %v", l.list, tc.want)
			}
			if l.index != nil && len(l.index.has) != len(l.list) {
				t.Errorf("set of %d for a list of %d", len(l.index.has), len(l.list))
			}
			l.remove(func(w int32) bool { return w > 2 })
			if got := l.take(); slices.ContainsFunc(got, func(w int32) bool { return w > 2 }) {
				t.Errorf("after remove, take gives %v", got)
			}
			if l.len() != 0 || l.index != nil {
				t.Errorf("take left %v", l)
			}
		})
	}
}

// span is from, from+step, ... up to to.
func span(from, to, step int32) []int32 {
	var out []int32
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// A process that lives long, monitored by one short-lived process after
// another, keeps about as many watchers as are alive, not one for every
// process that ever monitored it (5,000 here); a live one still gets its
// notice.
func TestEndedWatchersDoNotPileUp(t *testing.T) {
	n := newNode(t, 1)
	server, _ := start(t, n, "recv $1 $2\nhlt")
	clients, _ := start(t, n, fmt.Sprintf(`
	load $10 #%d         ; the server
	load $11 #0
	load $12 #5000
	load $1 #0
	load $2 @client
loop:
	spawn $1 $2 $3
	recv $4 $5           ; the client's end
	inc $11
	lt $11 $12
	djmpe @loop
	hlt
client:
	monitor $10
	hlt
`, server.PID()))
	ended(t, clients)
	n.mu.Lock()
	kept := server.watchers.len()
	n.mu.Unlock()
	if kept > 2*watchSetFrom {
		t.Errorf("the server keeps %d watchers, none of them alive", kept)
	}
	last, out := start(t, n, fmt.Sprintf(`
	load $10 #%d
	monitor $10
	send $10 $10         ; let the server end
	recv $4 $5
	prti $5
	hlt
`, server.PID()))
	ended(t, last)
	if out.String() != fmt.Sprint(server.PID()) {
		t.Fatalf("output %q, want the server's notice", out.String())
	}
}

// Many processes here watch one process on another member, more than a
// localWatches keeps without its index, and some end before it: each
// that is alive when it ends gets its notice exactly once.
func TestManyWatchersOfARemoteProcess(t *testing.T) {
	c := newFakeCluster(t, Config{Threads: 2}, "a", "b")
	p, out := startOn(t, c.nodes["a"], `
	load $1 #1
	load $2 @server
	spawn $1 $2 $3          ; $3: the server, on b
	load $10 #0
	load $11 #40            ; clients
	load $13 #3
	load $1 #0
	load $2 @client
loop:
	mod $10 $13 $6          ; $6 = i mod 3: a client with 0 ends at once
	spawn $1 $2 $14
	inc $10
	lt $10 $11
	djmpe @loop
	load $12 #0
wait:                       ; each client monitors the server, then says so
	recv $4 $5
	djmpe @wait             ; the notice of a client that ended
	inc $12
	lt $12 $11
	djmpe @wait
	send $3 $3              ; let the server end
	load $12 #0
	load $15 #26            ; the clients still alive
	load $16 #7
count:
	recv $4 $5
	djmpe @count
	eq $4 $16
	djmpne @bad
	inc $12
	lt $12 $15
	djmpe @count
	prti $12
	hlt
bad:
	prti $4
	hlt
server:
	recv $1 $2
	hlt
client:
	monitor $3
	parent $8
	send $8 $8              ; watching
	load $9 #0
	eq $6 $9
	djmpe @quit
	recv $4 $5              ; the server's notice
	load $9 #7
	load $7 #50
	recvt $4 $5 $7          ; a second one?
	djmpne @report
	load $9 #8
report:
	send $8 $9
quit:
	hlt
`)
	if status, err := ended(t, p); status != StatusOK || out.String() != "26" {
		t.Fatalf("status %d, %v, output %q (26: every live client got one notice)", status, err, out)
	}
}

// localWatches finds, adds and removes the same with and without its
// index.
func TestLocalWatches(t *testing.T) {
	for _, n := range []int{3, 40} {
		var ws localWatches
		for i := range n {
			ws.add(localWatch{pid: int32(i), parent: i%2 == 0})
		}
		for i := 0; i < n; i += 3 {
			j := ws.find(watchKey{int32(i), i%2 == 0})
			if j < 0 {
				t.Fatalf("n=%d: watch %d not found", n, i)
			}
			ws.removeAt(j)
		}
		for i := range n {
			found := ws.find(watchKey{int32(i), i%2 == 0}) >= 0
			if found != (i%3 != 0) || ws.find(watchKey{int32(i), i%2 != 0}) >= 0 {
				t.Errorf("n=%d: watch %d found %v", n, i, found)
			}
		}
		if ws.index != nil && len(ws.index) != len(ws.list) {
			t.Errorf("n=%d: index of %d for %d watches", n, len(ws.index), len(ws.list))
		}
	}
}
