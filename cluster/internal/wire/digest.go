package wire

import (
	"crypto/sha256"
	"encoding/binary"
)

// A member-list digest lets two nodes tell whether they list the same
// members with one number instead of the lists. A node's digest is the sum,
// modulo 2^64, of AliasHash over itself and every member it has a
// connection to: two nodes of a full mesh have the same digest, and a node
// keeps its own up to date with one addition or subtraction per change.
// 0 means "no digest". The hash is SHA-256's, so that a sum of different
// sets collides no more often than chance (about 2^-64), whatever the
// aliases look like (node001, node002, ... with a weaker hash would make
// {1, 4} and {2, 3} collide).

// AliasHash is one member's share of a digest: the first 8 bytes of
// SHA-256(alias), big-endian.
func AliasHash(alias string) uint64 {
	sum := sha256.Sum256([]byte(alias))
	return binary.BigEndian.Uint64(sum[:8])
}
