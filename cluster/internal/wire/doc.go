// Package wire is the cluster protocol's wire format: the frames, the
// msgp-generated message bodies, their limits, and the handshake proofs.
// It knows nothing of members or connections; package cluster drives it.
//
// Every message travels in a frame
//
//	uint32 big-endian L | uint8 type | L-1 bytes of MessagePack body
//
// L = 0 or L above the reader's limit closes the connection (L equal to
// it is allowed); an unknown type is reported without reading the body.
// The limit is PreAuthFrameSize (4 KiB) until a connection is
// authenticated, then DefaultMaxFrameSize (1 MiB) or the node's setting.
// Bodies are the structs of messages.go (the cluster's own, 1-10) and
// procmsg.go (processes across the cluster, 11-20); unknown fields are
// skipped, and DecodeMessage enforces the caps on lists and strings
// (MaxNodes, MaxAliasLen, MaxIPLen, MaxErrorLen, MaxProcesses, ...).
// DecodeInto decodes into a message the caller reuses, which for the
// fixed-size process messages (Send, Monitor, ...) allocates nothing.
// Ping, Pong and Members carry the sender's member-list digest, defined in
// digest.go.
package wire
