package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/iridium-go/iridium/internal/testutil"
)

// sampleMessages has one message of every type, every field set.
func sampleMessages() []Message {
	n1 := NodeInfo{Alias: "n1", IP: "127.0.0.1", Port: 2254}
	n2 := NodeInfo{Alias: "n2", IP: "::1", Port: 65535}
	nonce := bytes.Repeat([]byte{7}, 16)
	proof := bytes.Repeat([]byte{9}, 32)
	return []Message{
		&Hello{Alias: "alpha", Port: 2254, Nonce: nonce, Proof: proof, Heartbeat: 2000},
		&HelloAck{Node: n1, Nodes: []NodeInfo{n2, n1}, Proof: proof, Ticket: bytes.Repeat([]byte{4}, 110), TicketKey: bytes.Repeat([]byte{5}, TicketKeySize), Heartbeat: 2000},
		&Join{Alias: "beta", Port: 1, Nonce: nonce, Proof: proof, Heartbeat: 800},
		&JoinAck{Node: n2, Proof: proof, Ticket: bytes.Repeat([]byte{4}, 110), Heartbeat: 800},
		&Ping{Seq: 1<<64 - 1, Digest: 0x0123456789abcdef},
		&Pong{Seq: 42, Digest: 1<<64 - 1},
		&Leave{Alias: "gamma"},
		&Members{Nodes: []NodeInfo{n1, n2}, Digest: 5},
		&Challenge{Nonce: nonce, Alias: "delta"},
		&Error{Message: "nope", Code: CodeAuth},
		&Spawn{Ref: 7, Parent: 3, Name: "split.iasm", Hash: [32]byte{1, 2, 3}, Program: []byte("EPIE\x01"),
			Entry: 64, Regs: [32]int32{1, -2, 3}, FRegs: [32]float64{0.5, -1}, SinkNode: "alpha", Sink: 2, Report: true},
		&SpawnAck{Ref: 7, PID: 12, Code: SpawnTooMany},
		&Send{From: 3, To: 12, Value: -1},
		&Exit{From: 12, To: 3, Status: 1, Parent: true, Fault: "division by zero at pc 0x0010 (DIV)",
			Events: []ExitEvent{{At: 1700000000000000000, Kind: 1}, {At: 1700000000000001000, Kind: 3, Code: 1, Fault: "boom"}}},
		&Monitor{Watcher: 3, Target: 12},
		&Kill{Ref: 8, PID: 12},
		&KillAck{Ref: 8, Found: true},
		&ListProcesses{Ref: 9},
		&Processes{Ref: 9, Procs: []ProcessInfo{{PID: 1, State: 2, Name: "repl", Mailbox: 3, Dropped: 4}}, Done: true},
		&Output{Sink: 2, From: 12, Data: []byte("42\n")},
	}
}

func frame(t MsgType, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)+1))
	b = append(b, byte(t))
	return append(b, body...)
}

func TestMsgTypeNumbers(t *testing.T) {
	// The numbers are the protocol's (cluster package documentation).
	want := map[MsgType]uint8{MsgHello: 1, MsgHelloAck: 2, MsgJoin: 3, MsgJoinAck: 4, MsgPing: 5,
		MsgPong: 6, MsgLeave: 7, MsgMembers: 8, MsgChallenge: 9, MsgError: 10,
		MsgSpawn: 11, MsgSpawnAck: 12, MsgSend: 13, MsgExit: 14, MsgMonitor: 15, MsgKill: 16, MsgKillAck: 17,
		MsgListProcesses: 18, MsgProcesses: 19, MsgOutput: 20}
	for typ, n := range want {
		if uint8(typ) != n {
			t.Errorf("%s = %d, want %d", typ, uint8(typ), n)
		}
	}
	for _, m := range sampleMessages() {
		if m.Type().String() != reflect.TypeOf(m).Elem().Name() {
			t.Errorf("%T has type %s", m, m.Type())
		}
	}
	if got := MsgType(0).String(); got != "MsgType(0)" {
		t.Errorf("MsgType(0).String() = %q", got)
	}
}

// TestWireFieldNames pins the MessagePack field names of the protocol.
func TestWireFieldNames(t *testing.T) {
	want := map[MsgType][]string{
		MsgHello:         {"alias", "port", "nonce", "proof", "heartbeat"},
		MsgHelloAck:      {"node", "nodes", "proof", "ticket", "ticket_key", "heartbeat"},
		MsgJoin:          {"alias", "port", "nonce", "proof", "heartbeat"},
		MsgJoinAck:       {"node", "proof", "ticket", "heartbeat"},
		MsgPing:          {"seq", "digest"},
		MsgPong:          {"seq", "digest"},
		MsgLeave:         {"alias"},
		MsgMembers:       {"nodes", "digest"},
		MsgChallenge:     {"nonce", "alias"},
		MsgError:         {"message", "code"},
		MsgSpawn:         {"ref", "parent", "name", "hash", "program", "entry", "regs", "fregs", "sink_node", "sink", "report"},
		MsgSpawnAck:      {"ref", "pid", "code"},
		MsgSend:          {"from", "to", "value"},
		MsgExit:          {"from", "to", "status", "parent", "fault", "events"},
		MsgMonitor:       {"watcher", "target"},
		MsgKill:          {"ref", "pid"},
		MsgKillAck:       {"ref", "found"},
		MsgListProcesses: {"ref"},
		MsgProcesses:     {"ref", "procs", "done"},
		MsgOutput:        {"sink", "from", "data"},
	}
	for _, m := range sampleMessages() {
		b, err := m.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		i, _, err := msgp.ReadIntfBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		v := i.(map[string]any)
		var keys []string
		for k := range v {
			keys = append(keys, k)
		}
		if !sameSet(keys, want[m.Type()]) {
			t.Errorf("%s fields %v, want %v", m.Type(), keys, want[m.Type()])
		}
		if node, ok := v["node"].(map[string]any); ok {
			var nk []string
			for k := range node {
				nk = append(nk, k)
			}
			if !sameSet(nk, []string{"alias", "ip", "port"}) {
				t.Errorf("NodeInfo fields %v", nk)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf, 0)
	msgs := sampleMessages()
	for _, m := range msgs {
		if err := fw.WriteMessage(m); err != nil {
			t.Fatalf("write %s: %v", m.Type(), err)
		}
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	fr := NewFrameReader(&buf, 0)
	for _, want := range msgs {
		got, err := fr.ReadMessage()
		if err != nil {
			t.Fatalf("read %s: %v", want.Type(), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip %s:\n got %#v\nwant %#v", want.Type(), got, want)
		}
	}
	if _, err := fr.ReadMessage(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameHeader(t *testing.T) {
	b, err := AppendFrame(nil, &Ping{Seq: 5}, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := (&Ping{Seq: 5}).MarshalMsg(nil)
	if want := frame(MsgPing, body); !bytes.Equal(b, want) {
		t.Errorf("frame = % x, want % x", b, want)
	}
}

func TestFrameRejects(t *testing.T) {
	ping, _ := (&Ping{Seq: 1}).MarshalMsg(nil)
	const limit = 2048
	atLimit := make([]byte, limit-1) // L == limit: allowed
	for i := range atLimit {
		atLimit[i] = 0xc0 // msgpack nil, any byte will do for the frame layer
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr error // nil: the frame is read
	}{
		{"L=0", []byte{0, 0, 0, 0, byte(MsgPing)}, ErrEmptyFrame},
		{"L>limit", binary.BigEndian.AppendUint32(nil, limit+1), ErrFrameTooLarge},
		{"L=max uint32", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameTooLarge},
		{"L==limit", frame(MsgError, atLimit), nil},
		{"truncated header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"no type byte", []byte{0, 0, 0, 5}, io.ErrUnexpectedEOF},
		{"truncated body", frame(MsgPing, ping)[:6], io.ErrUnexpectedEOF},
		{"unknown type 0", frame(0, ping), ErrUnknownType},
		{"unknown type 200", frame(200, ping), ErrUnknownType},
		{"unknown type 255", frame(255, ping), ErrUnknownType},
		{"empty stream", nil, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := NewFrameReader(bytes.NewReader(tc.in), limit)
			_, _, err := fr.ReadFrame()
			if !errors.Is(err, tc.wantErr) && (tc.wantErr != nil || err != nil) {
				t.Errorf("ReadFrame = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestDefaultLimitAllowsExactlyOneMiB(t *testing.T) {
	body := make([]byte, DefaultMaxFrameSize-1)
	fr := NewFrameReader(bytes.NewReader(frame(MsgError, body)), 0)
	if _, _, err := fr.ReadFrame(); err != nil {
		t.Errorf("L = 1 MiB: %v", err)
	}
	fr = NewFrameReader(bytes.NewReader(frame(MsgError, append(body, 0))), 0)
	if _, _, err := fr.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("L = 1 MiB + 1: %v, want ErrFrameTooLarge", err)
	}
}

func TestWriteTooLarge(t *testing.T) {
	fw := NewFrameWriter(io.Discard, MinMaxFrameSize)
	err := fw.WriteMessage(&Error{Message: strings.Repeat("x", MinMaxFrameSize)})
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized write: %v", err)
	}
	if err := fw.WriteMessage(&Ping{}); err != nil {
		t.Errorf("write after an oversized one: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	enc := func(m Message) []byte {
		b, err := m.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := make([]NodeInfo, MaxNodes+1)
	for i := range many {
		many[i] = NodeInfo{Alias: "x", IP: "1.2.3.4", Port: 1}
	}
	tests := []struct {
		name string
		t    MsgType
		body []byte
		want error
	}{
		{"too many nodes in Members", MsgMembers, enc(&Members{Nodes: many}), ErrMalformed},
		{"too many nodes in HelloAck", MsgHelloAck, enc(&HelloAck{Nodes: many}), ErrMalformed},
		{"long alias", MsgHello, enc(&Hello{Alias: strings.Repeat("a", MaxAliasLen+1)}), ErrFieldTooLong},
		{"long ip", MsgMembers, enc(&Members{Nodes: []NodeInfo{{Alias: "a", IP: strings.Repeat("1", MaxIPLen+1)}}}), ErrFieldTooLong},
		{"long nonce", MsgChallenge, enc(&Challenge{Nonce: make([]byte, MaxNonceLen+1)}), ErrFieldTooLong},
		{"long proof", MsgJoin, enc(&Join{Proof: make([]byte, MaxProofLen+1)}), ErrFieldTooLong},
		{"long error", MsgError, enc(&Error{Message: strings.Repeat("e", MaxErrorLen+1)}), ErrFieldTooLong},
		{"port over uint16", MsgHello, msgp.AppendUint32(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "port"), 70000), ErrMalformed},
		{"array instead of map", MsgPing, msgp.AppendArrayHeader(nil, 0), ErrMalformed},
		{"trailing bytes", MsgPing, append(enc(&Ping{}), 0xc0), ErrTrailingBytes},
		{"empty body", MsgPing, nil, ErrMalformed},
		{"unknown type", 77, nil, ErrUnknownType},
		{"Send from pid 0", MsgSend, enc(&Send{From: 0, To: 1}), ErrBadPID},
		{"Send to a negative pid", MsgSend, enc(&Send{From: 1, To: -5}), ErrBadPID},
		{"Exit to a negative pid", MsgExit, enc(&Exit{From: 1, To: -1}), ErrBadPID},
		{"Exit from a negative pid", MsgExit, enc(&Exit{From: -1, To: 1}), ErrBadPID},
		{"Monitor for watcher -1", MsgMonitor, enc(&Monitor{Watcher: -1, Target: 1}), ErrBadPID},
		{"Monitor of pid 0", MsgMonitor, enc(&Monitor{Watcher: 1, Target: 0}), ErrBadPID},
		{"Spawn for a negative parent", MsgSpawn, enc(&Spawn{Parent: -1}), ErrBadPID},
		{"SpawnAck starting pid -7", MsgSpawnAck, enc(&SpawnAck{Code: SpawnOK, PID: -7}), ErrBadPID},
		{"Output from pid 0", MsgOutput, enc(&Output{Sink: 1, From: 0}), ErrBadPID},
		{"a listed process with pid 0", MsgProcesses, enc(&Processes{Procs: []ProcessInfo{{PID: 0}}}), ErrBadPID},
		{"huge array header", MsgMembers, msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "nodes"), 1<<31), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeMessage(tc.t, tc.body); !errors.Is(err, tc.want) {
				t.Errorf("DecodeMessage = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodeAcceptsPIDs: the pid checks refuse only what names no
// process; a refused spawn carries no pid, a Kill's pid is looked up, and
// a process started with no parent has parent 0 and reports to watcher 0.
func TestDecodeAcceptsPIDs(t *testing.T) {
	for _, m := range []Message{
		&Send{From: 1, To: 2},
		&Exit{From: 3, To: 4, Status: 4},
		&Exit{From: 3, To: 0}, // to the node: a !spawn_on report
		&Monitor{Watcher: 0, Target: 2},
		&Monitor{Watcher: 1, Target: 3},
		&Spawn{Parent: 0},
		&SpawnAck{Code: SpawnRefused},
		&Kill{PID: 0},
		&Output{Sink: 0, From: 1},
	} {
		b, err := m.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeMessage(m.Type(), b); err != nil {
			t.Errorf("%s %+v: %v", m.Type(), m, err)
		}
	}
}

func TestDecodeSkipsUnknownFields(t *testing.T) {
	// A newer node's Ping with an extra field, before and after seq.
	b := msgp.AppendMapHeader(nil, 3)
	b = msgp.AppendString(b, "future")
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendInt(b, 1)
	b = msgp.AppendString(b, "x")
	b = msgp.AppendString(b, "seq")
	b = msgp.AppendUint64(b, 99)
	b = msgp.AppendString(b, "more")
	b = msgp.AppendMapHeader(b, 0)
	m, err := DecodeMessage(MsgPing, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.(*Ping).Seq != 99 {
		t.Errorf("seq = %d", m.(*Ping).Seq)
	}
}

// TestDecodeTakesNilAsLeftOut: a field given as MessagePack's nil, as
// some encoders write an empty list or byte string, decodes as if it were
// left out, wherever it stands among the fields; nil inside a list, or
// under a name that is not a string, is still malformed.
func TestDecodeTakesNilAsLeftOut(t *testing.T) {
	field := func(b []byte, name string) []byte { return msgp.AppendString(b, name) }
	node := func(b []byte, n NodeInfo) []byte {
		b, err := n.MarshalMsg(b)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		t    MsgType
		body []byte
		want Message
	}{
		{"Members with nodes nil", MsgMembers,
			msgp.AppendNil(field(msgp.AppendMapHeader(nil, 1), "nodes")),
			&Members{}},
		{"HelloAck with nodes nil after node", MsgHelloAck,
			msgp.AppendNil(field(msgp.AppendBytes(field(
				node(field(msgp.AppendMapHeader(nil, 3), "node"), NodeInfo{Alias: "a", IP: "127.0.0.1", Port: 1}),
				"proof"), []byte{1, 2}), "nodes")),
			&HelloAck{Node: NodeInfo{Alias: "a", IP: "127.0.0.1", Port: 1}, Proof: []byte{1, 2}}},
		{"Ping with seq nil and a digest", MsgPing,
			msgp.AppendUint64(field(msgp.AppendNil(field(msgp.AppendMapHeader(nil, 2), "seq")), "digest"), 7),
			&Ping{Digest: 7}},
		{"Spawn by hash with program nil", MsgSpawn,
			msgp.AppendInt32(field(msgp.AppendNil(field(msgp.AppendUint64(field(msgp.AppendMapHeader(nil, 3), "ref"), 9), "program")), "entry"), 8),
			&Spawn{Ref: 9, Entry: 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage(tc.t, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, tc.want) {
				t.Errorf("decoded %+v, want %+v", m, tc.want)
			}
		})
	}

	// Into a message reused from an earlier frame: nothing of it is left.
	reused := &Members{Nodes: []NodeInfo{{Alias: "old", IP: "10.0.0.1", Port: 2}}}
	body := msgp.AppendNil(field(msgp.AppendMapHeader(nil, 1), "nodes"))
	if err := DecodeInto(reused, body); err != nil || len(reused.Nodes) != 0 {
		t.Errorf("DecodeInto = %v, nodes %v; want no error, no nodes", err, reused.Nodes)
	}

	inList := msgp.AppendNil(msgp.AppendArrayHeader(field(msgp.AppendMapHeader(nil, 1), "nodes"), 1))
	if _, err := DecodeMessage(MsgMembers, inList); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil as a list's NodeInfo: %v, want %v", err, ErrMalformed)
	}
	intKey := msgp.AppendNil(msgp.AppendInt(msgp.AppendMapHeader(nil, 1), 5))
	if _, err := DecodeMessage(MsgPing, intKey); !errors.Is(err, ErrMalformed) {
		t.Errorf("a field named by an integer, given nil: %v, want %v", err, ErrMalformed)
	}
	wrong := msgp.AppendString(field(msgp.AppendMapHeader(nil, 1), "nodes"), "x")
	if _, err := DecodeMessage(MsgMembers, wrong); !errors.Is(err, ErrMalformed) {
		t.Errorf("a string as nodes: %v, want %v", err, ErrMalformed)
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	for _, m := range sampleMessages() {
		fw := NewFrameWriter(io.Discard, 0)
		fw.WriteMessage(m) // grow the buffer once
		allocs := testing.AllocsPerRun(100, func() {
			if err := fw.WriteMessage(m); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per encode, want 0", m.Type(), allocs)
		}
	}
}

func TestDecodedMessageOwnsItsMemory(t *testing.T) {
	b, _ := AppendFrame(nil, &Challenge{Nonce: []byte("0123456789abcdef")}, DefaultMaxFrameSize)
	b = append(b, b...)
	fr := NewFrameReader(bytes.NewReader(b), 0)
	m1, err := fr.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fr.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if got := string(m1.(*Challenge).Nonce); got != "0123456789abcdef" {
		t.Errorf("nonce changed by the next read: %q", got)
	}
}

// TestReadFrameBetweenFrames: a read error before the first byte of a
// frame leaves the reader where it was, and reading goes on; one inside a
// frame does not.
func TestReadFrameBetweenFrames(t *testing.T) {
	ping, _ := (&Ping{Seq: 3}).MarshalMsg(nil)
	f := frame(MsgPing, ping)
	for _, tc := range []struct {
		name    string
		chunks  [][]byte // what each Read returns; nil: a timeout
		between bool
	}{
		{"timeout before the frame", [][]byte{nil, f}, true},
		{"timeout inside the header", [][]byte{f[:2], nil, f[2:]}, false},
		{"timeout inside the body", [][]byte{f[:6], nil, f[6:]}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := NewFrameReader(&testutil.ChunkReader{Chunks: tc.chunks}, 0)
			if _, _, err := fr.ReadFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("first read: %v, want the timeout", err)
			}
			if fr.BetweenFrames() != tc.between {
				t.Fatalf("BetweenFrames() = %v, want %v", fr.BetweenFrames(), tc.between)
			}
			if !tc.between {
				return
			}
			typ, body, err := fr.ReadFrame()
			if err != nil || typ != MsgPing || !bytes.Equal(body, ping) || !fr.BetweenFrames() {
				t.Fatalf("read after the timeout: %v %x %v", typ, body, err)
			}
		})
	}
}
