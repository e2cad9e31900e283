package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// The proofs of the handshake bind the cookie to one TLS connection. E is
// 32 bytes of that connection's exported keying material, which both ends
// compute alike and nobody else can: a proof relayed to another connection
// does not check there. Every proof is HMAC-SHA256(cookie, M), where M
// concatenates length-prefixed fields: lp(x) is one byte holding len(x),
// then x (aliases, nonces and labels are all under 256 bytes).
//
//	connector (Hello, Join): lp(label) E lp(challenge nonce) lp(own nonce)
//	                         lp(acceptor alias) lp(own alias) port (uint16 BE)
//	acceptor (HelloAck, JoinAck): lp("iridium-ack") E lp(connector nonce)
//	                         lp(acceptor alias) lp(connector alias)
//
// The label says which message the proof is for, so that a Hello proof is
// no Join proof; both aliases say who speaks to whom; the port is the one
// the connector announces.
const (
	ExporterLabel = "EXPORTER-iridium-cluster" // TLS exporter label of E
	ExporterSize  = 32                         // bytes of E

	HelloLabel = "iridium-hello"
	JoinLabel  = "iridium-join"
	AckLabel   = "iridium-ack"
)

// ConnectorProof is the proof of a Hello (label HelloLabel) or a Join
// (JoinLabel).
func ConnectorProof(cookie []byte, label string, e, challenge, nonce []byte, acceptor, alias string, port uint16) []byte {
	h := hmac.New(sha256.New, cookie)
	var b []byte
	b = lp(b, []byte(label))
	b = append(b, e...)
	b = lp(b, challenge)
	b = lp(b, nonce)
	b = lp(b, []byte(acceptor))
	b = lp(b, []byte(alias))
	b = binary.BigEndian.AppendUint16(b, port)
	h.Write(b)
	return h.Sum(nil)
}

// AcceptorProof is the proof of a HelloAck or a JoinAck.
func AcceptorProof(cookie []byte, e, nonce []byte, acceptor, connector string) []byte {
	h := hmac.New(sha256.New, cookie)
	var b []byte
	b = lp(b, []byte(AckLabel))
	b = append(b, e...)
	b = lp(b, nonce)
	b = lp(b, []byte(acceptor))
	b = lp(b, []byte(connector))
	h.Write(b)
	return h.Sum(nil)
}

// lp appends x with a one-byte length prefix. Callers bound every field
// below 256 bytes (MaxAliasLen, MaxNonceLen); a longer one is cut, which
// can only make a proof fail.
func lp(b, x []byte) []byte {
	if len(x) > 255 {
		x = x[:255]
	}
	return append(append(b, byte(len(x))), x...)
}
