// Package cluster joins Iridium nodes into a full-mesh cluster over TCP
// (SPEC.md section 8). A Manager, one per node, listens for other nodes,
// joins clusters, keeps exactly one connection to every other member and
// drops members that leave, close their connection or fall silent. The
// package knows nothing of the VM: *Manager satisfies the VM's small
// interface{ Alias() string; MemberAliases() []string }.
//
// # Wire format
//
// Every message travels in a frame
//
//	uint32 big-endian L | uint8 type | L-1 bytes of MessagePack body
//
// (codec.go). L = 0 or L above Config.MaxFrameSize (1 MiB by default; L
// equal to it is allowed) closes the connection; an unknown type gets an
// Error frame and closes it. Bodies are the msgp-generated structs of
// messages.go; unknown fields are skipped, lists hold at most MaxNodes
// entries and strings have caps (MaxAliasLen, MaxIPLen, MaxErrorLen).
//
// # Handshake
//
// The accepting node sends Challenge{16 random bytes}; the connecting node
// answers Hello (it joins through this node) or Join (another member told it
// of this node) with its alias, its listening port, its own nonce and
// HMAC-SHA256(cookie, challenge || alias). The acceptor checks the proof in
// constant time and refuses, with an Error frame and nothing else, a wrong
// proof, a missing or invalid alias, its own alias, or an alias that a live
// member holds at another address (IP seen on the connection + announced
// port). Otherwise it records the member and answers HelloAck{itself, every
// other member, HMAC(cookie, connector's nonce || acceptor's alias)} or
// JoinAck{itself, proof}; the connector checks that proof too. Every step
// has a deadline of Config.HandshakeTimeout.
//
// # Building the mesh
//
// A node that registers a new connection (as acceptor or connector) sends
// Members{that member} to its other peers; a node that hears of a member it
// has no connection to connects to it with Join. After HelloAck the joiner
// connects to every listed member at once, and Manager.Join returns when all
// of them are connected. This makes any two members with a common neighbour
// meet, so concurrent joins through different members still end in a full
// mesh. A node that hears of a member with a smaller alias waits 50 ms
// before connecting, leaving the first move to the node whose connection
// would win the tie-break.
//
// # One connection per pair: the tie-break
//
// When a second connection to a member at the same address completes, both
// ends decide alike: if both connections were opened by the same node, the
// newer replaces the older (the node restarted or reconnected); otherwise the
// connection opened by the node with the smaller alias (byte-wise string
// order) is kept and the other is closed ("duplicate connection"). An
// acceptor can therefore refuse a restarted node while it still holds the
// stale connection of the node's previous life; the restarted node retries
// for up to HandshakeTimeout, and the stale connection is dropped as soon as
// its close is read.
//
// # Liveness and leaving
//
// A connection that wrote nothing during a HeartbeatInterval sends a Ping;
// every Ping is answered with a Pong of the same seq. A peer that sends
// nothing for HeartbeatTimeout is dropped, as is one whose connection closes
// or that sends a Leave. Manager.Leave sends Leave to every peer, closes every
// connection and the listener; the node can Start or Join again, on the same
// port. Manager.Shutdown closes everything without a Leave and waits for
// every goroutine; peers see the connections close and drop the node at
// once. Dropped members are not redialled: a member that comes back joins
// again.
package cluster
