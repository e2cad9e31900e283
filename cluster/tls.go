package cluster

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"

	"github.com/iridium-go/iridium/cluster/internal/wire"
)

// Every cluster connection is TLS 1.3. The certificates are self-made and
// nobody checks them: who may join is decided by the cookie, and each proof
// of the handshake is bound to its TLS connection through the exported
// keying material E (handshake.go), so a proof relayed to another
// connection fails. TLS gives what the cookie cannot: frames nobody on the
// path can read, change or inject.

// NewCertificate makes a self-signed ed25519 certificate for a node, valid
// for ten years, and returns it with its PEM encodings (certificate and
// PKCS #8 private key) for keeping in the data directory.
func NewCertificate(alias string) (cert tls.Certificate, certPEM, keyPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return cert, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return cert, nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "iridium node " + alias},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return cert, nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return cert, nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	return cert, certPEM, keyPEM, err
}

// The key exchanges. Go's default list starts with the post-quantum hybrid
// X25519MLKEM768, which makes every handshake about 60 % dearer, and a full
// mesh makes one handshake per pair of nodes. A node offers P-256, whose
// assembly makes a handshake about 10 % cheaper than X25519 here, and
// accepts X25519 too, which other clients (Go's and OpenSSL's defaults)
// send a key share for: they need no extra round trip. See README
// "Security" for the trade.
var (
	offerCurves  = []tls.CurveID{tls.CurveP256}
	acceptCurves = []tls.CurveID{tls.CurveP256, tls.X25519}
)

// tlsConfigs returns the configurations of the accepting and the
// connecting side. The connector skips verification on purpose: the
// certificate proves nothing here (anyone can make one); the cookie-bound
// proofs of the handshake do.
//
// Every member seals session tickets with one key derived from the cookie,
// and the connector offers the latest ticket it was given, by any member,
// to every member it dials: after its first connection a node's handshakes
// resume, with a fresh key exchange (TLS 1.3 resumes only with one, so E
// stays unique to the connection) but no certificate, signature or check
// of one. A ticket proves nothing either: it opens no door the cookie's
// proofs do not guard.
func tlsConfigs(cert tls.Certificate, cookie []byte) (server, client *tls.Config, err error) {
	key, err := hkdf.Key(sha256.New, cookie, nil, ticketKeyInfo, 32)
	if err != nil {
		return nil, nil, err
	}
	server = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		CurvePreferences: acceptCurves,
	}
	server.SetSessionTicketKeys([][32]byte{[32]byte(key)})
	client = &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		CurvePreferences:   offerCurves,
		ClientSessionCache: new(latestTicket),
	}
	return server, client, nil
}

// ticketKeyInfo is the HKDF info of the ticket key: the key is this
// implementation's affair, not the protocol's (a node that cannot open a
// ticket makes a full handshake).
const ticketKeyInfo = "iridium cluster session tickets"

// latestTicket is a client session cache of one entry, whatever the
// server: members share their ticket key, so a ticket from one resumes
// with all. Every handshake with a member brings a new ticket, so a ticket
// a server turned down (a node of another cluster) is not removed: the
// next member's replaces it.
type latestTicket struct {
	session atomic.Pointer[tls.ClientSessionState]
}

func (c *latestTicket) Get(string) (*tls.ClientSessionState, bool) {
	s := c.session.Load()
	return s, s != nil
}

func (c *latestTicket) Put(_ string, s *tls.ClientSessionState) {
	if s != nil {
		c.session.Store(s)
	}
}

// secure runs the TLS handshake on conn (as the server when accept is set)
// and returns the TLS connection and its exported keying material E. The
// caller has set conn's deadline.
func (m *Manager) secure(ctx context.Context, conn net.Conn, accept bool) (net.Conn, []byte, error) {
	if m.secureHook != nil {
		return m.secureHook(ctx, conn, accept)
	}
	var tc *tls.Conn
	conn = newRawSocket(conn)
	if accept {
		tc = tls.Server(conn, m.tlsServer)
	} else {
		tc = tls.Client(conn, m.tlsClient)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, nil, fmt.Errorf("TLS handshake: %w", err)
	}
	state := tc.ConnectionState()
	e, err := state.ExportKeyingMaterial(wire.ExporterLabel, nil, wire.ExporterSize)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS exporter: %w", err)
	}
	return tc, e, nil
}
