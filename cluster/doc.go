// Package cluster joins Iridium nodes into a full-mesh cluster over TLS. A
// Manager, one per node, listens for other nodes, joins clusters, keeps
// exactly one connection to every other member and drops members that
// leave, close their connection or fall silent. It also carries the frames
// of the node's process runtime to other members and hands it theirs
// (procs.go), but knows nothing of the VM or of processes: package dist
// joins the two.
//
// # Files
//
//	manager.go    the Manager: Start, Join, Leave, Shutdown, Members; sessions, accepting
//	member.go     the member state machine: every member's one state, every transition
//	handshake.go  both sides of the handshake, on top of tls.go
//	dial.go       which members to dial and when; the maintenance loop (redials, heartbeats, gossip)
//	peer.go       one authenticated connection: its reader, its writer, heartbeats
//	procs.go      process traffic: the API the process runtime uses, ProcessHandler
//	procpeer.go   a connection's process queue, its batches, its requests
//	internal/wire the frames, the msgp-generated messages, their limits, the proofs
//
// # Wire format (protocol version 2)
//
// Every connection is TLS 1.3 (tls.go: P-256 offered, X25519 and ML-KEM accepted,
// sessions resumed between members under a random cluster ticket key).
// Every message travels in a frame
//
//	uint32 big-endian L | uint8 type | L-1 bytes of MessagePack body
//
// L = 0 or L over the limit closes the connection; L equal to it is
// allowed. The limit is 4 KiB until the connection is authenticated, then
// Config.MaxFrameSize (1 MiB by default). An unknown type gets an Error
// frame and closes the connection. Unknown fields are skipped, and a
// top-level field given as MessagePack's nil counts as left out; lists hold
// at most 4096 entries and strings have caps. The messages (MessagePack
// field names in quotes):
//
//	1  Hello      "alias" str, "port" uint16, "nonce" bin, "proof" bin,
//	              "heartbeat" uint32 (an extension)
//	2  HelloAck   "node" NodeInfo, "nodes" [NodeInfo], "proof" bin,
//	              "ticket" bin, "ticket_key" bin (32), "heartbeat" uint32
//	              (extensions, see below)
//	3  Join       "alias" str, "port" uint16, "nonce" bin, "proof" bin,
//	              "heartbeat" uint32 (an extension)
//	4  JoinAck    "node" NodeInfo, "proof" bin, "ticket" bin,
//	              "heartbeat" uint32 (extensions)
//	5  Ping       "seq" uint64, "digest" uint64
//	6  Pong       "seq" uint64 (the Ping's), "digest" uint64
//	7  Leave      "alias" str
//	8  Members    "nodes" [NodeInfo], "digest" uint64
//	9  Challenge  "nonce" bin (16 random bytes), "alias" str (the acceptor's)
//	10 Error      "message" str (for people), "code" uint (for programs)
//
// and, only on an authenticated connection, the process messages (see
// Processes below):
//
//	11 Spawn          "ref" uint, "parent" int, "name" str, "hash" bin (32),
//	                  "program" bin, "entry" int, "regs" [32 int],
//	                  "fregs" [32 float], "sink_node" str, "sink" int, "report" bool
//	12 SpawnAck       "ref" uint, "pid" int, "code" uint
//	13 Send           "from" int, "to" int, "value" int
//	14 Exit           "from" int, "to" int, "status" int, "parent" bool,
//	                  "fault" str, "events" [{"at" int, "kind" uint, "code" int, "fault" str}]
//	15 Monitor        "watcher" int, "target" int
//	16 Kill           "ref" uint, "pid" int
//	17 KillAck        "ref" uint, "found" bool
//	18 ListProcesses  "ref" uint
//	19 Processes      "ref" uint, "procs" [{"pid" int, "state" uint, "name" str,
//	                  "mailbox" uint, "dropped" uint}], "done" bool
//	20 Output         "sink" int, "from" int, "data" bin
//
// NodeInfo is a map of "alias" str, "ip" str, "port" uint16 (a listening
// port, never an ephemeral one). "digest" is the sender's member-list
// digest: the sum modulo 2^64, over the sender and every member it has a
// connection to, of the first 8 bytes of SHA-256(alias) read big-endian
// (wire.AliasHash); 0 means none (a node that keeps none sends none, and
// its Pings and Pongs still work). In Members, a digest says that "nodes"
// is the sender's whole member list; Members without one (a newcomer
// announced, two clusters merging) may name any part of it. The Error
// codes, an append-only list:
//
//	0 unspecified       1 authentication failed   2 alias taken
//	3 duplicate conn.   4 protocol violation      5 over capacity
//	6 refused (the node is leaving)
//
// Nodes act on the code, never on the message text: 1 and 2 are final (a
// Join reports them, redials back off to the longest interval), 3 is
// retried at once, the others count as passing. This node closes a pending
// handshake it evicts without a word, so it sends no 5; another
// implementation may.
//
// # Handshake
//
// After the TLS handshake both ends compute E, 32 bytes of the
// connection's exported keying material (label "EXPORTER-iridium-cluster").
// The acceptor sends Challenge{nonce, its alias}. A connector that dials a
// member it knows (Join) hangs up unless the alias is that member's; one
// that finds its own alias hangs up too (this node itself, or a twin). The
// connector answers Hello (it joins through this node) or Join (another
// member told it of this node) with its alias, listening port, nonce and
// proof; the acceptor checks the proof in constant time and refuses, with
// an Error frame and nothing else, a wrong proof, a missing or invalid
// alias, its own alias, or an alias that a live member holds at another
// address. Otherwise it records the member and answers HelloAck{itself,
// every other member, proof} or JoinAck{itself, proof}; the connector
// checks that proof before it sends anything else, and hangs up without
// a word (no Error frame) on an answer that is wrong in any way. Only
// then does it keep
// the ack's cluster ticket (its TLS session, sealed under the cluster's
// ticket key) and, from a HelloAck, that key, which it seals the tickets
// of its own acks under from then on: the members that joined through one
// member share a key, and a node resumes its TLS session with every
// member that shares it when it dials it with Join (never in a Hello:
// tls.go says why, and why resuming is as safe as a full handshake). The
// proofs
// (internal/wire/proof.go) are HMAC-SHA256 under the cookie of
// length-prefixed fields: the kind of message, E, both nonces, both aliases
// and the connector's port. Being bound to E, a proof is worth nothing on
// any other connection: a stranger who relays a member's handshake to
// another member gets a refusal.
//
// Every step has a deadline of Config.HandshakeTimeout. At most
// Config.MaxPendingHandshakes (256) incoming connections may be in their
// handshake; when the limit is reached one of them is closed to make
// room, so that connections that never speak cannot lock a joining node
// out: the oldest of those still in their TLS handshake, else the oldest
// of all, so that a flood of bare connects closes its own connections
// rather than a real connector's handshake under way.
//
// # Members and their states
//
// A node keeps one record per other member it knows of, in one map, with
// one state (member.go):
//
//	              listed by a peer                   its dial is due (at most MaxDials at once)
//	(unknown) ─────────────────────► announced ─────────────────────────────► dialing
//	    │                             ▲   │                                    │  │
//	    │                             │   └─ nobody lists it: forgotten        │  │
//	    │                             └────── the dial failed (backoff) ◄──────┘  │
//	    │  a handshake completes (either side)                                    │ the dial succeeded
//	    └───────────────────────────────────────────► connected ◄─────────────────┘
//	                                                    │  │  │
//	          its connection failed or fell silent      │  │  │ it sent Leave
//	     lost ◄─────────────────────────────────────────┘  │  └────────────► left ── after a while: forgotten
//	       │ redialled (lost ⇄ dialing) for RedialFor       │
//	       └─ then forgotten, unless the node is alone      └─ it broke the protocol: forgotten
//
// Any member that is not connected becomes connected as soon as a handshake
// with it completes, whoever dialled. A member that left is not dialled on a
// peer's word for a while (the peer may not have heard of the Leave). Only
// the maintenance loop and the ends of handshakes, dials and connections
// change states, each through one method of the table, under the Manager's
// mutex; no lock is held across listening, dialling, network I/O or a log
// call.
//
// # Building the mesh
//
// After HelloAck the joiner connects to every listed member at once, and
// Manager.Join returns when all of them are connected. A node that hears of
// a member it has no connection to (Members) connects to it with Join.
// Nothing dials the node's own listening address, whatever a Members
// message says, and at most Config.MaxDials dials are in flight; one that
// fails holds its place until the next maintenance tick, so that
// addresses that refuse at once are not dialled as fast as they refuse.
//
// Members messages go only where they are needed. A newcomer greeted with
// Hello got every other member in its HelloAck and connects to each itself,
// so nobody is told about it. When any other connection registers (a Join
// accepted, or one this node opened), the node tells the newcomers it
// greeted within the last 3 × HandshakeTimeout, who may not have met that
// member: two nodes joining at the same time through different members
// meet this way. A node that says Hello while it already has peers (two
// clusters merging) tells them about every member its HelloAck listed.
// Whatever a failed handshake left out is repaired by comparing digests:
// every Ping and Pong carries the sender's, so two members learn within a
// heartbeat or two whether they list the same members, without sending
// the lists. A node sends its whole member list (Members with its digest)
// to a peer whose digest differs from its own, at most once per
// GossipInterval (2 s by default), once its own list has not changed for
// a GossipInterval and the peer has said its digest since: while members
// join, lists differ everywhere for a moment, and the joins themselves
// tell everybody what they need. A node that receives a list carrying its own digest skips
// it whole. A settled cluster sends no member lists at all; a node that
// cannot reach a member the others have gets their lists, and sends its
// own, every GossipInterval for as long as that lasts. A peer that sends
// no digest (an older node) is sent the list every GossipInterval, as it
// sends its own.
//
// # One connection per pair: the tie-break
//
// When a second connection to a member at the same address completes, both
// ends decide alike (keepNew): if both connections were opened by the same
// node, the newer replaces the older (the node restarted or reconnected); a
// connection opened by a Hello replaces one opened by a Join, since a node
// says Hello only when it joins and then holds no connection to the node it
// says it to; otherwise the connection opened by the node with the smaller
// alias (byte-wise string order) is kept and the other is closed
// ("duplicate connection"). An acceptor can therefore refuse the Join of a
// restarted node while it still holds the stale connection it opened to the
// node's previous life; the restarted node retries for up to
// HandshakeTimeout, and the stale connection is dropped as soon as its
// close is read.
//
// # Liveness and leaving
//
// Every frame received counts as a sign of life. One end of each
// connection keeps it alive, the one with the smaller alias (the other end
// relies on it only if its handshake's "heartbeat" field, in
// milliseconds, says it Pings at least as often as this node would: a
// node of another implementation, which leaves the field out, or one
// with slower heartbeats, is Pinged from both ends): it Pings when
// it has heard nothing, or sent nothing, for pingAfter (1.75 s with the
// defaults), and every Ping is answered at once with a Pong of the same
// seq. The maintenance loop looks at all its peers once per
// HeartbeatInterval, on the multiples of the interval since the Unix epoch
// (every node ticks together), so an idle connection carries a Ping and a
// Pong every fourth tick, 2 s, leaving each end half a second of slack
// before the 2.5 s timeout. While the node's member list changes (within
// a GossipInterval), it Pings after two intervals instead, 1.5 s of
// slack: a forming mesh keeps nodes busy with handshakes, and late. A
// busy connection carries none (but a Ping
// when the node's digest has not gone out for a GossipInterval). The
// maintenance loop and the reader write heartbeats themselves when the
// connection's writer has nothing to do (peer.tryHeartbeat), and sockets
// are read and written with raw system calls (rawSocket): an idle node
// wakes once per tick and once per heartbeat it receives, with no writer
// goroutine or runtime thread woken besides. A peer
// that sends nothing for HeartbeatTimeout is dropped (a killed host, a cut
// link, a stopped process), as is one whose connection closes (at once) or
// that sends a Leave (at once). When the timeout passes between two
// frames, the reader reads once more without waiting before it drops the
// peer: on a machine too busy to run it in time the deadline fires late,
// and a frame that came in the meantime shows the peer alive. A write that
// cannot complete within HeartbeatTimeout, or a send queue of maxQueue
// messages, drops the peer too: a peer that reads nothing cannot block the
// node. The defaults (500 ms / 2.5 s) drop a dead peer within 2.5 s and
// leave a busy but live one alone. Manager.Leave sends Leave to every
// peer, closes every connection and the listener; the node can Start or
// Join again, on the same port. Manager.Shutdown closes everything without
// a Leave and waits for every goroutine. No goroutine and no connection
// outlives Shutdown.
//
// A lost member is redialled with a backoff from HeartbeatInterval
// doubling to RedialMaxInterval (2 s by default) with ±20 % jitter, for
// RedialFor (10 min); a node that has no peer left keeps redialling its
// lost members until Leave or Shutdown. So a host whose link was cut, or a
// process that was stopped and resumed, meets the cluster again by itself.
//
// # Processes
//
// A process is named by its pid on its own node: in Send, Exit and
// Monitor, "from" and "watcher" are pids on the sender, "to" and "target"
// pids on the receiver; each node's process runtime turns the other
// members' pids into handles of its own. A pid is positive: a frame
// naming pid 0 or less is a protocol violation, except a Kill's (looked
// up: not found) and a Spawn's "parent", an Exit's "to" and a Monitor's
// "watcher", which may be 0: a process started with no parent still
// reports its end to the node that started it. What one process sends
// another arrives in order, its exit notice last, because a member's frames travel
// on its one connection in the order they were queued.
//
// Spawn starts a process on the receiver: the program (a bytecode file)
// whose SHA-256 is "hash", from "entry", with the registers sent, its
// output going to sink "sink" of member "sink_node" in Output frames, in
// order. A connection sends each program once: later spawns carry the hash
// alone. The receiver keeps a bounded cache of programs; when it no longer
// holds one it answers SpawnAck code 1, and the sender sends the spawn
// again with the program. A program too large for one frame is refused by
// the sender (ErrProgramTooLarge) and never sent. SpawnAck goes out before
// anything the new process sends; Exit with "parent" set goes to the
// spawner when the process ends. Monitor asks the receiver for an Exit
// without "parent" when "target" ends, at once with status 4 if it has no
// such process. The receiver sends every Exit it was asked for, so a
// spawner that also monitored the process would be sent two; "one notice
// of each end" is kept by the watcher's node, which sends no
// Monitor for a process one of its processes spawned or monitors already,
// and delivers an Exit only to a watch it holds, which the Exit ends. The
// SpawnAck codes, an append-only list:
//
//	0 started           1 unknown program (send it)   2 refused (--remote-spawn=false)
//	3 too many processes (--max-processes)            4 bad program
//	5 bad entry         6 shutting down               7 every pid given (restart it)
//	8 no memory (the program would pass the memory total of --max-heap)
//
// Limits a receiver enforces (a frame past one is malformed: Error code 4,
// and the sender is dropped): "hash" 32 bytes, a program name 1024 bytes,
// 1024 events in an Exit, 4096 entries in a Processes frame, 64 KiB of
// "data" in an Output frame (a node splits longer output into several).
//
// Kill answers KillAck; ListProcesses answers Processes frames of at most
// 4096 entries each, the last one with "done". The node that asked waits
// for them as long as its caller's context allows.
//
// Process frames wait in a queue of their own per connection, written in
// batches (one flush when the queue empties) behind the connection's own
// frames, which get their turn after every 64 KiB, so that Pings and Pongs
// are never held back by more than one batch. The queue is bounded (65,536
// frames or 16 MiB): a Send that does not fit is dropped and counted
// (Manager.DroppedProcessFrames), an Output refused (the process runtime
// tries it again later, so that no output is lost), a Spawn refused as busy;
// an Output queued right behind the same process's Output for the same
// sink joins it, up to MaxOutputChunk (written in frames that fit
// MaxFrameSize); answers,
// exit notices, monitors and kills are kept up to four times the bounds,
// past which the member is dropped. Each write of the connection has
// HeartbeatTimeout to complete and the kernel's send buffer is 512 KiB: a
// member that reads slowly keeps its connection, one that reads nothing
// loses it. On the reading side, the heartbeat timeout counts silence:
// a frame still arriving (a large Spawn over a slow link) keeps the
// connection however long it takes, as long as no HeartbeatTimeout passes
// without a TLS record.
//
// When a member is lost (it left, its connection closed or fell silent,
// this node left, or it came back on a new connection, which may have lost
// frames), the handler hears MemberLost, and requests waiting for its
// answers fail with ErrMemberLost: the process runtime gives every process
// that waits for an exit notice from there status 3.
//
// # Hostile peers
//
// Nothing of the member list goes to a connection before its proof checked
// out. Frames of length 0 or over the limit, truncated frames, garbage,
// unknown types, bodies of the wrong shape and fields over their caps close
// the connection (with an Error frame where the frame could be read) and
// touch nothing else. A frame body is read as it arrives, so announcing a
// large frame costs no memory until the bytes come. Bytes injected into a
// connection by someone on the path fail TLS's record check and close that
// connection only; it is made again like any lost one.
package cluster
