package cluster

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// handshakeOver runs both ends of a TLS handshake over a pipe, lets the
// client read what the server sends after it (its session ticket), and
// returns whether the client resumed and each end's E.
func handshakeOver(t *testing.T, client, server *tls.Config) (resumed bool, clientE, serverE []byte) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	type end struct {
		e   []byte
		err error
	}
	done := make(chan end, 1)
	go func() {
		s := tls.Server(b, server)
		if err := s.Handshake(); err != nil {
			done <- end{err: err}
			return
		}
		st := s.ConnectionState()
		e, err := st.ExportKeyingMaterial(wire.ExporterLabel, nil, wire.ExporterSize)
		if err == nil {
			_, err = s.Write([]byte{1})
		}
		done <- end{e, err}
	}()
	c := tls.Client(a, client)
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil { // the ticket comes first
		t.Fatalf("client read: %v", err)
	}
	st := c.ConnectionState()
	ce, err := st.ExportKeyingMaterial(wire.ExporterLabel, nil, wire.ExporterSize)
	if err != nil {
		t.Fatal(err)
	}
	s := <-done
	if s.err != nil {
		t.Fatalf("server: %v", s.err)
	}
	return st.DidResume, ce, s.e
}

// A node's first connection is a full handshake; after it, its
// connections to any member of its cluster resume with the ticket, and
// each still has an E of its own that both ends agree on. A node of
// another cluster (another cookie) cannot open the ticket and makes a full
// handshake.
func TestTicketsResumeAcrossMembers(t *testing.T) {
	node := func(cookie string) (server, client *tls.Config) {
		server, client, err := tlsConfigs(testCert(), []byte(cookie))
		if err != nil {
			t.Fatal(err)
		}
		return server, client
	}
	_, dialer := node("secret")
	b, _ := node("secret")
	c, _ := node("secret")
	stranger, _ := node("other")
	steps := []struct {
		name   string
		server *tls.Config
		resume bool
	}{
		{"first connection, to b", b, false},
		{"to c, with b's ticket", c, true},
		{"to b again, with c's ticket", b, true},
		{"to a node of another cluster", stranger, false},
		{"to b, with the stranger's ticket", b, false},
		{"to c, with b's new ticket", c, true},
	}
	seen := map[string]bool{}
	for _, s := range steps {
		resumed, ce, se := handshakeOver(t, dialer, s.server)
		if resumed != s.resume {
			t.Errorf("%s: resumed %v, want %v", s.name, resumed, s.resume)
		}
		if !bytes.Equal(ce, se) {
			t.Errorf("%s: the two ends' E differ", s.name)
		}
		if seen[string(ce)] {
			t.Errorf("%s: E repeats an earlier connection's", s.name)
		}
		seen[string(ce)] = true
	}
}
