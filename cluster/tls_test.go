package cluster

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// handshakeOver runs both ends of a TLS handshake over a pipe, lets the
// client read a byte from the server (a TLS 1.3 client takes in a session
// ticket only when it reads), and returns the client's view of the
// connection.
func handshakeOver(t *testing.T, client, server *tls.Config) tls.ConnectionState {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		_, err := tls.Server(b, server).Write([]byte{1}) // handshakes first
		done <- err
	}()
	c := tls.Client(a, client)
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	return c.ConnectionState()
}

// Nodes agree on P-256. A client with Go's defaults (an X25519 key share
// among others) gets X25519 at once, with no retry: an implementation of
// the protocol on another TLS stack pays no extra round trip. A node that
// dials such a server gets P-256, which every TLS 1.3 stack has. Nothing
// is ever resumed.
func TestKeyExchange(t *testing.T) {
	nodeServer, nodeClient := tlsConfigs(testCert())
	if !nodeServer.SessionTicketsDisabled || nodeClient.ClientSessionCache != nil {
		t.Error("a node issues or keeps session tickets")
	}
	defaultServer := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()}}
	defaultClient := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	tests := []struct {
		name           string
		client, server *tls.Config
		want           tls.CurveID
	}{
		{"node to node", nodeClient, nodeServer, tls.CurveP256},
		{"Go's default client to a node", defaultClient, nodeServer, tls.X25519},
		{"Go's default client to a node, again", defaultClient, nodeServer, tls.X25519},
		{"node to Go's default server", nodeClient, defaultServer, tls.CurveP256},
	}
	for _, tt := range tests {
		st := handshakeOver(t, tt.client, tt.server)
		if st.CurveID != tt.want || st.HelloRetryRequest {
			t.Errorf("%s: key exchange %v (retry %v), want %v without retry", tt.name, st.CurveID, st.HelloRetryRequest, tt.want)
		}
		if st.DidResume && tt.server == nodeServer {
			t.Errorf("%s: a node resumed a session", tt.name)
		}
	}
}
