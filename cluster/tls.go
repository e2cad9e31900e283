package cluster

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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

// The key exchanges. Go's default list starts with post-quantum hybrids
// (X25519MLKEM768), which make every handshake about 60 % dearer, and a
// full mesh makes one handshake per pair of nodes. A node offers P-256
// alone, whose assembly makes a handshake about 7 % cheaper than X25519
// here, and accepts X25519 too: other clients (Go's and OpenSSL's
// defaults) send an X25519 key share, and a server picks a group the
// client sent a share for, so they need no extra round trip. crypto/tls
// ignores the order of these lists. See README "Security" for the trade.
var (
	offerCurves  = []tls.CurveID{tls.CurveP256}
	acceptCurves = []tls.CurveID{tls.CurveP256, tls.X25519}
)

// tlsConfigs returns the configurations of the accepting and the
// connecting side. The connector skips verification on purpose: the
// certificate proves nothing here (anyone can make one); the cookie-bound
// proofs of the handshake do. Session tickets are off: a ticket key every
// member could open would have to come from the cookie, and every ticket
// would then let anyone who reaches a node test guesses of the cookie
// offline (README "Security").
func tlsConfigs(cert tls.Certificate) (server, client *tls.Config) {
	server = &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{cert},
		CurvePreferences:       acceptCurves,
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		CurvePreferences:   offerCurves,
	}
	return server, client
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
