package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

func hmacOf(cookie []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, cookie)
	h.Write(bytes.Join(parts, nil))
	return h.Sum(nil)
}

// TestProofLayout checks the proofs byte for byte against the message M
// the protocol describes, built here by hand, so that another
// implementation that follows the description interoperates.
func TestProofLayout(t *testing.T) {
	cookie := []byte("secret")
	e := bytes.Repeat([]byte{0xEE}, ExporterSize)
	challenge := []byte("0123456789abcdef")
	nonce := []byte("fedcba9876543210")
	hello := hmacOf(cookie,
		[]byte{13}, []byte("iridium-hello"), e,
		[]byte{16}, challenge, []byte{16}, nonce,
		[]byte{4}, []byte("acc1"), []byte{5}, []byte("conn1"),
		[]byte{0x08, 0xCE}) // port 2254
	if got := ConnectorProof(cookie, HelloLabel, e, challenge, nonce, "acc1", "conn1", 2254); !bytes.Equal(got, hello) {
		t.Errorf("Hello proof %x, want %x", got, hello)
	}
	join := hmacOf(cookie,
		[]byte{12}, []byte("iridium-join"), e,
		[]byte{16}, challenge, []byte{16}, nonce,
		[]byte{4}, []byte("acc1"), []byte{5}, []byte("conn1"),
		[]byte{0x08, 0xCE})
	if got := ConnectorProof(cookie, JoinLabel, e, challenge, nonce, "acc1", "conn1", 2254); !bytes.Equal(got, join) {
		t.Errorf("Join proof %x, want %x", got, join)
	}
	ack := hmacOf(cookie,
		[]byte{11}, []byte("iridium-ack"), e,
		[]byte{16}, nonce, []byte{4}, []byte("acc1"), []byte{5}, []byte("conn1"))
	if got := AcceptorProof(cookie, e, nonce, "acc1", "conn1"); !bytes.Equal(got, ack) {
		t.Errorf("ack proof %x, want %x", got, ack)
	}
}

// TestProofBindsEveryField: changing any one input changes the proof, so a
// proof made for one connection, message, pair of nodes or port is
// worthless for another.
func TestProofBindsEveryField(t *testing.T) {
	cookie, e := []byte("secret"), bytes.Repeat([]byte{1}, ExporterSize)
	ch, n := []byte("challenge-nonce!"), []byte("connector-nonce!")
	base := ConnectorProof(cookie, HelloLabel, e, ch, n, "a", "b", 7)
	other := bytes.Repeat([]byte{2}, ExporterSize)
	variants := map[string][]byte{
		"cookie":         ConnectorProof([]byte("other"), HelloLabel, e, ch, n, "a", "b", 7),
		"label":          ConnectorProof(cookie, JoinLabel, e, ch, n, "a", "b", 7),
		"E":              ConnectorProof(cookie, HelloLabel, other, ch, n, "a", "b", 7),
		"challenge":      ConnectorProof(cookie, HelloLabel, e, n, n, "a", "b", 7),
		"own nonce":      ConnectorProof(cookie, HelloLabel, e, ch, ch, "a", "b", 7),
		"acceptor alias": ConnectorProof(cookie, HelloLabel, e, ch, n, "c", "b", 7),
		"own alias":      ConnectorProof(cookie, HelloLabel, e, ch, n, "a", "c", 7),
		"port":           ConnectorProof(cookie, HelloLabel, e, ch, n, "a", "b", 8),
		// The length prefixes keep field boundaries: "a"+"bc" is not "ab"+"c".
		"boundary": ConnectorProof(cookie, HelloLabel, e, ch, n, "ab", "", 7),
		"ack":      AcceptorProof(cookie, e, n, "a", "b"),
	}
	for name, p := range variants {
		if bytes.Equal(p, base) {
			t.Errorf("changing the %s leaves the proof unchanged", name)
		}
	}
	if !bytes.Equal(ConnectorProof(cookie, HelloLabel, e, ch, n, "a", "b", 7), base) {
		t.Error("the same inputs give another proof")
	}
}
