package wire

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// fuzzLimit keeps fuzzed frames small.
const fuzzLimit = 64 << 10

func allTypes() []MsgType {
	var ts []MsgType
	for t := range MsgType(255) {
		if t.Known() {
			ts = append(ts, t)
		}
	}
	return ts
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame reader and every frame
// body to every message decoder: nothing may panic, and whatever decodes must
// survive an encode/decode round trip unchanged.
func FuzzDecodeFrame(f *testing.F) {
	for _, m := range sampleMessages() {
		b, err := AppendFrame(nil, m, fuzzLimit)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 5})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFrameReader(bytes.NewReader(data), fuzzLimit)
		for {
			typ, body, err := fr.ReadFrame()
			if err != nil {
				return
			}
			for _, t2 := range allTypes() {
				checkDecode(t, t2, body)
			}
			if _, err := DecodeMessage(typ, body); err == nil && !typ.Known() {
				t.Fatalf("decoded unknown type %d", typ)
			}
		}
	})
}

// FuzzDecodeMessage decodes arbitrary bodies as any message type, with both
// generated decoders (bytes and stream).
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		b, _ := m.MarshalMsg(nil)
		f.Add(uint8(m.Type()), b)
	}
	f.Add(uint8(MsgMembers), msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "nodes"), 1<<31))
	f.Add(uint8(0), []byte{0x80})
	f.Add(uint8(MsgHelloAck), msgp.AppendNil(msgp.AppendString(msgp.AppendNil(msgp.AppendString(msgp.AppendMapHeader(nil, 2), "proof")), "nodes")))
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		checkDecode(t, MsgType(typ), body)
		if m, err := NewMessage(MsgType(typ)); err == nil {
			r := msgp.NewReader(bytes.NewReader(body))
			r.SetMaxElements(MaxNodes)
			r.SetMaxStringLength(MaxErrorLen)
			_ = m.(msgp.Decodable).DecodeMsg(r)
		}
	})
}

func checkDecode(t *testing.T, typ MsgType, body []byte) {
	m, err := DecodeMessage(typ, body)
	if err != nil {
		return
	}
	b, err := AppendFrame(nil, m, 4*fuzzLimit)
	if err != nil {
		t.Fatalf("re-encode %s: %v", typ, err)
	}
	m2, err := NewFrameReader(bytes.NewReader(b), 4*fuzzLimit).ReadMessage()
	if err != nil {
		t.Fatalf("decode re-encoded %s: %v", typ, err)
	}
	if !reflect.DeepEqual(normalize(m), normalize(m2)) {
		t.Fatalf("round trip %s:\n%#v\n%#v", typ, m, m2)
	}
}

// normalize treats nil and empty slices alike.
func normalize(m Message) Message {
	fix := func(b *[]byte) {
		if len(*b) == 0 {
			*b = nil
		}
	}
	switch m := m.(type) {
	case *Hello:
		fix(&m.Nonce)
		fix(&m.Proof)
	case *Join:
		fix(&m.Nonce)
		fix(&m.Proof)
	case *HelloAck:
		fix(&m.Proof)
		if len(m.Nodes) == 0 {
			m.Nodes = nil
		}
	case *JoinAck:
		fix(&m.Proof)
	case *Members:
		if len(m.Nodes) == 0 {
			m.Nodes = nil
		}
	case *Challenge:
		fix(&m.Nonce)
	case *Spawn:
		fix(&m.Program)
		for i, f := range m.FRegs { // NaN != NaN: compare the bits
			m.FRegs[i] = float64(math.Float64bits(f))
		}
	case *Output:
		fix(&m.Data)
	case *Exit:
		if len(m.Events) == 0 {
			m.Events = nil
		}
	case *Processes:
		if len(m.Procs) == 0 {
			m.Procs = nil
		}
	}
	return m
}
