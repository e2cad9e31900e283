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
// here. It accepts the groups every TLS 1.3 client offers one of:
// P-256, X25519 and X25519MLKEM768 (Go's first choice). A server picks a
// group the client sent a key share for, in crypto/tls's own order of
// preference (it ignores the order of these lists), so a client needs no
// extra round trip. Not P-384 or P-521, which no client offers alone and
// cost 10 and 40 times P-256's key exchange: a stranger could replay one
// ClientHello to make the node spend that before any proof. See README
// "Security" for the trade.
var (
	offerCurves  = []tls.CurveID{tls.CurveP256}
	acceptCurves = []tls.CurveID{tls.CurveP256, tls.X25519, tls.X25519MLKEM768}
)

// tlsConfigs returns the configurations of the accepting and the
// connecting side. The connector skips verification on purpose: the
// certificate proves nothing here (anyone can make one); the cookie-bound
// proofs of the handshake do. A node accepting does not ask for the
// connector's certificate (it would cost every handshake a signature and
// its check, for nothing), but a node connecting presents its own when
// asked, so that an acceptor on another implementation that requires one
// lets it in. Each connection uses a clone of one of them, with its
// ticket slot (resumption.accepting, resumption.connecting).
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
		Certificates:       []tls.Certificate{cert},
	}
	return server, client
}

// Session resumption. In a full TLS 1.3 handshake the server sends its
// certificate and signs the handshake with its key, and the client parses
// the certificate and checks the signature, for a certificate that proves
// nothing here. A resumed handshake has neither (the server presents no
// certificate: the accepting node presents its certificate in full
// handshakes only) and still makes a fresh key exchange (crypto/tls
// resumes only with one), so E is still unique to the connection and the
// proofs bind to it as before. A full mesh makes one connection per pair
// of members; resuming all but a node's first takes a connection from
// about 0.95 to 0.85 ms of CPU (README "A mesh of 100 and 200 nodes").
//
// Tickets are sealed under random keys, never under anything derived
// from the cookie: a ticket, which a resumed hello carries in the clear,
// says nothing about the cookie. There are two kinds:
//   - The ticket crypto/tls sends at the end of every handshake, before
//     anyone has proved anything, is sealed under the node's local key,
//     which never leaves it: it resumes at this node only, so a stranger
//     who gets one cannot test whether other nodes share its keys.
//   - The cluster ticket, the same session sealed under the cluster key,
//     travels in HelloAck or JoinAck, to a connector whose proof checked.
//     The connector takes it, and a HelloAck's key, only once the
//     acceptor's own proof checks, and offers it when it dials members
//     (Join), never to an address a user gave (Hello): whoever holds a
//     cluster ticket can tell, by offering it, which nodes hold the key.
//     The cluster key is the first node's, which each joiner adopts from
//     the HelloAck of the member that greets it, so every member that
//     joined through a settled member opens it.
//
// A node that leaves forgets its ticket and makes new keys.
type resumption struct {
	server *tls.Config // the accepting side's template: seals under local, opens under every key below
	client *tls.Config // the connecting side's template
	sealer *tls.Config // seals cluster tickets, under cluster

	mu      sync.Mutex
	local   [wire.TicketKeySize]byte // never leaves this node
	own     [wire.TicketKeySize]byte // the cluster key while this node has adopted none
	cluster [wire.TicketKeySize]byte // own, or the one the greeter's HelloAck brought
	ticket  *tls.ClientSessionState  // the cluster ticket this node offers; nil: none
}

// maxTicket bounds a cluster ticket this node keeps. crypto/tls's own are
// about 110 bytes: they hold the session's secret, not certificates.
const maxTicket = 1024

func newResumption(server, client *tls.Config) *resumption {
	r := &resumption{server: server, client: client, sealer: &tls.Config{}}
	r.forget()
	return r
}

// forget drops the cluster ticket and key and makes new keys: a node that
// leaves its cluster keeps nothing that would open or link that cluster's
// tickets.
func (r *resumption) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	rand.Read(r.local[:]) // never fails (crypto/rand, Go 1.24+)
	rand.Read(r.own[:])
	r.cluster, r.ticket = r.own, nil
	r.setKeys()
}

// setKeys gives the configurations the keys of r (r.mu held).
func (r *resumption) setKeys() {
	keys := [][wire.TicketKeySize]byte{r.local, r.cluster}
	if r.cluster != r.own {
		keys = append(keys, r.own) // a node it greeted before it joined may hold it
	}
	r.server.SetSessionTicketKeys(keys)
	r.sealer.SetSessionTicketKeys([][wire.TicketKeySize]byte{r.cluster})
}

// adoptKey makes key the cluster key. A key of another length (a HelloAck
// from an implementation without the extension) changes nothing.
func (r *resumption) adoptKey(key []byte) {
	if len(key) != wire.TicketKeySize {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cluster = [wire.TicketKeySize]byte(key)
	r.setKeys()
}

// accepting returns the configuration of one incoming connection and its
// slot, which holds the session crypto/tls makes its ticket of.
func (r *resumption) accepting() (*tls.Config, *ticketSlot) {
	slot := &ticketSlot{}
	cfg := r.server.Clone()
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		slot.mu.Lock()
		slot.served = ss
		slot.mu.Unlock()
		return r.server.EncryptTicket(cs, ss) // under local, the first key
	}
	return cfg, slot
}

// ack returns what an ack carries for slot, an incoming connection whose
// connector proved it holds the cookie: the connection's session sealed
// under the cluster key (nil if there is none, or no slot: a connection
// without TLS, in tests), and that key.
func (r *resumption) ack(slot *ticketSlot) (ticket, key []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key = append([]byte(nil), r.cluster[:]...)
	if slot == nil {
		return nil, key
	}
	ss, _ := slot.take()
	if ss == nil {
		return nil, key
	}
	ticket, err := r.sealer.EncryptTicket(tls.ConnectionState{}, ss)
	if err != nil {
		return nil, key
	}
	return ticket, key
}

// connecting returns the configuration of one outgoing connection, which
// offers the cluster ticket if offer is set, and its slot, which holds the
// session the server sends.
func (r *resumption) connecting(offer bool) (*tls.Config, *ticketSlot) {
	slot := &ticketSlot{drop: r.drop}
	if offer {
		r.mu.Lock()
		slot.offer = r.ticket
		r.mu.Unlock()
	}
	cfg := r.client.Clone()
	cfg.ClientSessionCache = slot
	return cfg, slot
}

// drop stops offering ticket, if it is still the one offered.
func (r *resumption) drop(ticket *tls.ClientSessionState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ticket == ticket {
		r.ticket = nil
	}
}

// keep makes ticket, the cluster ticket of the session in slot, the one
// this node offers from now on. The caller has checked the acceptor's
// proof; a ticket too large, or with no session to go with it, is
// ignored.
func (r *resumption) keep(slot *ticketSlot, ticket []byte) {
	if slot == nil || len(ticket) == 0 || len(ticket) > maxTicket {
		return
	}
	_, got := slot.take()
	if got == nil {
		return
	}
	_, state, err := got.ResumptionState()
	if err != nil {
		return
	}
	cs, err := tls.NewResumptionState(ticket, state)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.ticket = cs
	r.mu.Unlock()
}

// ticketSlot is one connection's share of resumption. On the accepting
// side it holds the session crypto/tls made a ticket of; on the
// connecting side it is the tls.ClientSessionCache, offering the node's
// cluster ticket and holding the session the server sent. crypto/tls may
// call Put from whichever goroutine reads the connection, hence the lock.
type ticketSlot struct {
	offer *tls.ClientSessionState
	drop  func(*tls.ClientSessionState) // resumption.drop

	mu     sync.Mutex
	served *tls.SessionState       // accepting side
	got    *tls.ClientSessionState // connecting side
}

func (s *ticketSlot) take() (*tls.SessionState, *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served, s.got
}

func (s *ticketSlot) Get(string) (*tls.ClientSessionState, bool) { return s.offer, s.offer != nil }

// Put keeps the session. A nil one means crypto/tls threw the offer away:
// it expired, or a handshake that offered it failed. The node then stops
// offering it: a ticket that opens at members but does not resume (a
// member's bug) would otherwise fail every connection to them.
func (s *ticketSlot) Put(_ string, cs *tls.ClientSessionState) {
	if cs == nil {
		if s.offer != nil && s.drop != nil {
			s.drop(s.offer)
		}
		return
	}
	s.mu.Lock()
	s.got = cs
	s.mu.Unlock()
}

// side is the end of a connection that Manager.secure makes.
type side int

const (
	acceptor     side = iota
	dialsMember       // offers the cluster ticket
	dialsAddress      // an address a user gave, which may be anyone's: offers none
)

// secure runs the TLS handshake of side on conn and returns the TLS
// connection, its exported keying material E and its ticket slot. The
// caller has set conn's deadline.
func (m *Manager) secure(ctx context.Context, conn net.Conn, side side) (net.Conn, []byte, *ticketSlot, error) {
	if m.secureHook != nil {
		c, e, err := m.secureHook(ctx, conn, side == acceptor)
		return c, e, nil, err
	}
	var (
		tc   *tls.Conn
		slot *ticketSlot
		cfg  *tls.Config
	)
	conn = newRawSocket(conn)
	if side == acceptor {
		cfg, slot = m.resume.accepting()
		tc = tls.Server(conn, cfg)
	} else {
		cfg, slot = m.resume.connecting(side == dialsMember)
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
