package cluster

import (
	"crypto/tls"
	"net"
	"reflect"
	"testing"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// pipePeer is a peer of a node that is not started, writing over TLS to
// one end of a pipe with the frame limit given (0: the default); the test
// reads the other end, returned.
func pipePeer(t *testing.T, limit int) (*peer, *tls.Conn) {
	t.Helper()
	cfg := testConfig(t, "w")
	cfg.MaxFrameSize = limit
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	server := make(chan *tls.Conn, 1)
	go func() {
		tc, _ := tlsEnd(t, c2, true)
		server <- tc
	}()
	tc, _ := tlsEnd(t, c1, false)
	return m.newPeer(nil, c1, tc, nil, "x", "127.0.0.1", 1, "w"), <-server
}

func TestWriterMergesMembers(t *testing.T) {
	p, c2 := pipePeer(t, 0)
	n := func(a string) wire.NodeInfo { return wire.NodeInfo{Alias: a, IP: "127.0.0.1", Port: 7} }
	errc := make(chan error, 1)
	go func() {
		errc <- p.write(&wire.Members{Nodes: []wire.NodeInfo{n("a")}}, &wire.Pong{Seq: 3},
			&wire.Members{Nodes: []wire.NodeInfo{n("b"), n("a")}}, &wire.Members{Nodes: []wire.NodeInfo{n("c")}})
	}()
	fr := wire.NewFrameReader(c2, 0)
	got1, err := fr.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	got2, err := fr.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want1 := &wire.Members{Nodes: []wire.NodeInfo{n("a"), n("b"), n("c")}}
	if !reflect.DeepEqual(got1, want1) || !reflect.DeepEqual(got2, &wire.Pong{Seq: 3}) {
		t.Errorf("wrote %#v, %#v", got1, got2)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
