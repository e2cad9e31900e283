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
// After HelloAck the joiner connects to every listed member at once, and
// Manager.Join returns when all of them are connected. A node that hears
// of a member it has no connection to (a Members message) connects to it at
// once with Join.
//
// Members messages go only where they are needed. A newcomer greeted with
// Hello got every other member in its HelloAck and connects to each itself,
// so nobody is told about it. When any other connection registers (a Join
// accepted, or one this node opened), the node tells the newcomers it
// greeted within the last 3 × HandshakeTimeout, who may not have met that
// member: two nodes joining at the same time through different members
// meet this way, since each connects to the other's greeter, which either
// listed it in the other's HelloAck (it came first) or tells the other
// now. A node that says Hello while it already has peers (two clusters
// merging) tells them about every member its HelloAck listed. The periodic
// gossip (below) repairs whatever a failed handshake left out. Telling every peer about every new connection instead costs N²
// messages per join and a duplicate handshake per pair, as each told peer
// dials the newcomer while the newcomer dials it (see bench/README.md).
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
// A connection that wrote nothing during two HeartbeatIntervals (one, if
// HeartbeatTimeout is under four intervals) sends a Ping; every Ping is
// answered with a Pong of the same seq, so on an idle connection one side
// Pings and the other answers. The intervals are counted by the node's
// maintenance loop for all its peers at once, so an idle node wakes once
// per interval plus once per message it receives. A peer that sends
// nothing for HeartbeatTimeout is dropped (a killed host, a cut link, a
// stopped process), as is one whose connection closes (at once) or that
// sends a Leave (at once). A write that cannot complete within
// HeartbeatTimeout, or a send queue of maxQueue messages, drops the peer
// too: a peer that reads nothing cannot block the node. The defaults
// (500 ms / 2.5 s) drop a dead peer within 2.5 s, and leave a busy but live
// one alone (every core spinning, the race detector on: a Ping goes out
// every second at most, the timeout is 2.5 s, and Go's scheduler runs the
// heartbeat goroutines well within the difference). Manager.Leave sends Leave to every peer, closes
// every connection and the listener; the node can Start or Join again, on
// the same port. Manager.Shutdown closes everything without a Leave and
// waits for every goroutine; peers see the connections close and drop the
// node at once. No goroutine and no connection outlives Shutdown.
//
// # Redialling and anti-entropy
//
// A member dropped because its connection failed or fell silent (not one
// that sent Leave or broke the protocol) is "lost": the node redials it,
// with a backoff from HeartbeatInterval doubling to RedialMaxInterval (2 s
// by default) with ±20 % jitter, for RedialFor (10 min); a node that has no
// peer left keeps redialling its lost members until Leave or Shutdown. So a
// host whose link was cut, or a process that was stopped (SIGSTOP) and
// resumed, meets the cluster again by itself once it can: both sides
// redial, and the tie-break keeps one connection.
//
// A member heard of through Members whose dial fails is redialled the same
// way while some peer still announces it (for 3 × GossipInterval +
// HeartbeatTimeout after the last announcement). Every GossipInterval (2 s
// by default) each node sends its whole member list to every peer, so that
// a member missed because a handshake died at the wrong moment is announced
// again. A target is forgotten as soon as its member is connected, when
// another member is connected at its address (a new node on a reused port),
// or when a dial finds another alias there. Join, after HelloAck, waits up
// to HandshakeTimeout for a listed member whose first dial failed (it is
// redialled meanwhile) before it reports the ones it could not reach; a contact that does not answer
// makes Join fail after HandshakeTimeout with "no answer after ...".
//
// Redials and gossip run in one maintenance goroutine per session
// (redial.go); like every goroutine of the Manager it belongs to the
// session and is stopped and waited for by Leave and Shutdown. No lock is
// held during network I/O: the maintenance loop collects its dials and
// messages under the lock and makes them after releasing it.
//
// # Hostile peers
//
// Nothing of the member list (no HelloAck, JoinAck, Members or Ping) goes
// to a connection before its proof checked out; proofs are compared with
// hmac.Equal (constant time), and every Challenge is fresh, so a proof
// seen on the wire cannot be replayed. Frames of length 0 or over the
// limit, truncated frames, garbage, unknown types, bodies of the wrong
// shape and fields over their caps close the connection (with an Error
// frame where the frame could be read) and touch nothing else. A frame
// body is read as it arrives, so announcing a large frame costs no memory
// until the bytes come. At most maxAccepts (1024) incoming handshakes run
// at once; connections that never speak are closed at HandshakeTimeout.
package cluster
