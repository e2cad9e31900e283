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
	"sync"
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
// proofs of the handshake do. The server issues session tickets under
// keys that newResumption sets; the client offers them per connection
// (Manager.secure), never from a cache of its own.
func tlsConfigs(cert tls.Certificate) (server, client *tls.Config) {
	server = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		CurvePreferences: acceptCurves,
	}
	client = &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		CurvePreferences:   offerCurves,
	}
	return server, client
}

// Session resumption. A full TLS 1.3 handshake has the server sign its
// certificate and the client check the signature, for a certificate that
// proves nothing here; a resumed one skips both and still makes a fresh
// key exchange (crypto/tls resumes only with one), so E is still unique
// to the connection and the proofs bind to it as before. A full mesh
// makes one connection per pair of members, so a node that resumes all
// but its first spends about a third less CPU forming it (README
// "Security").
//
// What keeps it as safe as the full handshake:
//   - Tickets are sealed under random keys, never under anything derived
//     from the cookie: a ticket, which TLS gives to whoever completes a
//     handshake and which a resumed hello carries in the clear, says
//     nothing about the cookie.
//   - Each node makes its own key; a joiner adopts the key of the member
//     that greets it, which HelloAck carries inside the TLS connection, so
//     only a node that proved it holds the cookie learns it, and only
//     after the greeter's own proof checks.
//   - A node offers a ticket only if a member that proved it holds the
//     cookie gave it: what a stranger's server sends is dropped with its
//     connection, so nobody outside the cluster can make a node offer a
//     ticket of their choosing (one too large for a hello would cut it
//     off from its members).
type resumption struct {
	server *tls.Config // whose ticket keys seal and open this node's tickets
	own    [wire.TicketKeySize]byte

	mu     sync.Mutex
	seal   [wire.TicketKeySize]byte // own, or the key the greeter's HelloAck brought
	ticket *tls.ClientSessionState  // the last ticket a member that proved itself gave this node
}

// maxTicket bounds a ticket this node offers. crypto/tls's own are about
// 150 bytes: they hold the session's secret, not certificates.
const maxTicket = 1024

func newResumption(server *tls.Config) (*resumption, error) {
	r := &resumption{server: server}
	if _, err := rand.Read(r.own[:]); err != nil {
		return nil, err
	}
	r.forget()
	return r, nil
}

// key is the key this node seals tickets with, for a HelloAck.
func (r *resumption) key() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.seal[:]...)
}

// adoptKey seals this node's tickets under key from now on, and keeps
// opening those sealed under its own. A key of another length (a HelloAck
// from an implementation without the extension) changes nothing.
func (r *resumption) adoptKey(key []byte) {
	if len(key) != wire.TicketKeySize {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if [wire.TicketKeySize]byte(key) == r.seal {
		return
	}
	r.seal = [wire.TicketKeySize]byte(key)
	r.server.SetSessionTicketKeys([][wire.TicketKeySize]byte{r.seal, r.own})
}

// forget drops the ticket and the adopted key, when the node leaves its
// cluster: neither is of use in another one.
func (r *resumption) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seal, r.ticket = r.own, nil
	r.server.SetSessionTicketKeys([][wire.TicketKeySize]byte{r.own})
}

// slot is the session cache of a new outgoing connection.
func (r *resumption) slot() *ticketSlot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &ticketSlot{offer: r.ticket}
}

// keep makes the ticket that slot's server sent the one this node offers
// next. The caller has checked that server's proof.
func (r *resumption) keep(slot *ticketSlot) {
	if slot == nil {
		return
	}
	slot.mu.Lock()
	cs := slot.got
	slot.mu.Unlock()
	if cs == nil {
		return
	}
	if t, _, err := cs.ResumptionState(); err != nil || len(t) > maxTicket {
		return
	}
	r.mu.Lock()
	r.ticket = cs
	r.mu.Unlock()
}

// ticketSlot is the tls.ClientSessionCache of one outgoing connection: it
// offers the node's ticket and holds what the server sends, until
// resumption.keep takes it. crypto/tls calls Put from whichever goroutine
// reads the connection, hence the lock.
type ticketSlot struct {
	offer *tls.ClientSessionState

	mu  sync.Mutex
	got *tls.ClientSessionState
}

func (s *ticketSlot) Get(string) (*tls.ClientSessionState, bool) { return s.offer, s.offer != nil }

// Put keeps the ticket; a nil one (crypto/tls found the offer expired)
// leaves it to the next ticket to replace the offer.
func (s *ticketSlot) Put(_ string, cs *tls.ClientSessionState) {
	if cs == nil {
		return
	}
	s.mu.Lock()
	s.got = cs
	s.mu.Unlock()
}

// secure runs the TLS handshake on conn (as the server when accept is set)
// and returns the TLS connection and its exported keying material E; on
// the connecting side also the connection's ticket slot, for
// resumption.keep once the server has proved itself. The caller has set
// conn's deadline.
func (m *Manager) secure(ctx context.Context, conn net.Conn, accept bool) (net.Conn, []byte, *ticketSlot, error) {
	if m.secureHook != nil {
		c, e, err := m.secureHook(ctx, conn, accept)
		return c, e, nil, err
	}
	var (
		tc   *tls.Conn
		slot *ticketSlot
	)
	conn = newRawSocket(conn)
	if accept {
		tc = tls.Server(conn, m.tlsServer)
	} else {
		cfg := m.tlsClient.Clone()
		slot = m.resume.slot()
		cfg.ClientSessionCache = slot
		tc = tls.Client(conn, cfg)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("TLS handshake: %w", err)
	}
	state := tc.ConnectionState()
	e, err := state.ExportKeyingMaterial(wire.ExporterLabel, nil, wire.ExporterSize)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("TLS exporter: %w", err)
	}
	return tc, e, slot, nil
}
