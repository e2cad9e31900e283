package cluster

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// The raw peers of the tests speak the protocol by hand over TLS, as
// another implementation would: a TLS 1.3 handshake, then frames, with
// proofs bound to the connection's exported keying material.

var testCert = sync.OnceValue(func() tls.Certificate {
	c, _, _, err := NewCertificate("raw")
	if err != nil {
		panic(err)
	}
	return c
})

// tlsEnd runs the TLS handshake on c, as the accepting side when server is
// set, and returns the TLS connection and its E.
func tlsEnd(t testing.TB, c net.Conn, server bool) (*tls.Conn, []byte) {
	t.Helper()
	var tc *tls.Conn
	if server {
		tc = tls.Server(c, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert()}})
	} else {
		tc = tls.Client(c, &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	c.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if st.Version != tls.VersionTLS13 {
		t.Fatalf("TLS version %x, want 1.3", st.Version)
	}
	e, err := st.ExportKeyingMaterial("EXPORTER-iridium-cluster", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	return tc, e
}

// dialTLS opens a TCP connection to addr and makes the connector's TLS
// handshake on it.
func dialTLS(t testing.TB, addr string) (*tls.Conn, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tc, e := tlsEnd(t, c, false)
	t.Cleanup(func() { c.Close() })
	return tc, e
}

// connectorProof is the proof of a Hello or Join (by kind) sent as alias,
// announcing port, on the connection of e, answering ch.
func connectorProof(cookie []byte, kind wire.MsgType, e []byte, ch *wire.Challenge, nonce []byte, alias string, port uint16) []byte {
	label := wire.JoinLabel
	if kind == wire.MsgHello {
		label = wire.HelloLabel
	}
	return wire.ConnectorProof(cookie, label, e, ch.Nonce, nonce, ch.Alias, alias, port)
}

// frame is a frame of type t with body as it is, right or wrong.
func frame(t wire.MsgType, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)+1))
	b = append(b, byte(t))
	return append(b, body...)
}
