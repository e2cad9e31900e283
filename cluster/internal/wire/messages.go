package wire

//go:generate go tool msgp -file=$GOFILE
//go:generate go tool stringer -type=MsgType -trimprefix=Msg -output=msgtype_string.go $GOFILE procmsg.go

// This file holds the wire messages of the cluster protocol. Every frame body is one of these structs, encoded by the msgp-generated
// code in messages_gen.go. The msg tags are the MessagePack field names the
// protocol fixes: change them and old nodes no longer understand new ones.
// Unknown fields are skipped when decoding, so new optional fields may be
// added; renumbering or renaming is never allowed.

//msgp:ignore MsgType

// MsgType is the one-byte message type that follows the frame length.
type MsgType uint8

// WARNING: ONLY APPEND TO THIS LIST! The numeric values are part of the wire
// protocol itself: changing one breaks every node that is already deployed.
const (
	MsgHello     MsgType = 1
	MsgHelloAck  MsgType = 2
	MsgJoin      MsgType = 3
	MsgJoinAck   MsgType = 4
	MsgPing      MsgType = 5
	MsgPong      MsgType = 6
	MsgLeave     MsgType = 7
	MsgMembers   MsgType = 8
	MsgChallenge MsgType = 9
	MsgError     MsgType = 10
)

// NodeInfo names one member: its alias, its IP address and the port it
// listens on (never an ephemeral source port).
type NodeInfo struct {
	Alias string `msg:"alias"`
	IP    string `msg:"ip"`
	Port  uint16 `msg:"port"`
}

// Hello is a connecting node's answer to Challenge when it joins the cluster
// through the accepting node. Port is the port the connecting node listens on;
// Nonce is its own fresh nonce; Proof is ConnectorProof with HelloLabel.
// Heartbeat is an extension of this implementation (others leave it out
// and ignore it): in milliseconds, the longest the sender lets the
// connection go quiet before it Pings, when its alias is the smaller of
// the two; the larger end then need not Ping. 0 (or left out) promises
// nothing: the other end Pings too. HelloAck, Join and JoinAck carry it
// likewise.
type Hello struct {
	Alias     string `msg:"alias"`
	Port      uint16 `msg:"port"`
	Nonce     []byte `msg:"nonce"`
	Proof     []byte `msg:"proof"`
	Heartbeat uint32 `msg:"heartbeat"`
}

// HelloAck accepts a Hello. Node is the accepting node, Nodes every other
// member it knows (neither itself nor the joiner), Proof is AcceptorProof.
// Ticket and TicketKey are extensions of this implementation (others
// leave them out and ignore them). Ticket is this connection's TLS
// session sealed under the cluster's ticket key, which the joiner offers
// when it dials members (Join), to resume those connections. TicketKey,
// TicketKeySize random bytes, is that key, which the joiner seals the
// tickets of its own acks under from then on.
type HelloAck struct {
	Node      NodeInfo   `msg:"node"`
	Nodes     []NodeInfo `msg:"nodes,limit=4096"`
	Proof     []byte     `msg:"proof"`
	Ticket    []byte     `msg:"ticket"`
	TicketKey []byte     `msg:"ticket_key"`
	Heartbeat uint32     `msg:"heartbeat"`
}

// TicketKeySize is the length of HelloAck.TicketKey: a key of
// crypto/tls's Config.SetSessionTicketKeys.
const TicketKeySize = 32

// Join is a connecting node's answer to Challenge when another member told it
// about the accepting node. Its fields mean what they mean in Hello; Proof
// is ConnectorProof with JoinLabel.
type Join struct {
	Alias     string `msg:"alias"`
	Port      uint16 `msg:"port"`
	Nonce     []byte `msg:"nonce"`
	Proof     []byte `msg:"proof"`
	Heartbeat uint32 `msg:"heartbeat"`
}

// JoinAck accepts a Join: like HelloAck without the member list and the
// ticket key.
type JoinAck struct {
	Node      NodeInfo `msg:"node"`
	Proof     []byte   `msg:"proof"`
	Ticket    []byte   `msg:"ticket"`
	Heartbeat uint32   `msg:"heartbeat"`
}

// Ping asks the peer for a Pong with the same Seq; it keeps idle connections
// alive. Digest is the sender's member-list digest (see Digest), 0 from a
// node that keeps none.
type Ping struct {
	Seq    uint64 `msg:"seq"`
	Digest uint64 `msg:"digest"`
}

// Pong answers a Ping; Digest is the answering node's, as in Ping.
type Pong struct {
	Seq    uint64 `msg:"seq"`
	Digest uint64 `msg:"digest"`
}

// Leave tells the peer that the sender leaves the cluster; the peer drops it
// at once.
type Leave struct {
	Alias string `msg:"alias"`
}

// Members tells a peer about members it may not have met yet. When Digest
// is set, Nodes is the sender's whole member list (every member it has a
// connection to) and Digest that list's digest, itself included; 0 means
// Nodes may be any part of it.
type Members struct {
	Nodes  []NodeInfo `msg:"nodes,limit=4096"`
	Digest uint64     `msg:"digest"`
}

// Challenge is the first frame on every new connection, sent by the
// accepting node: 16 fresh random bytes and the acceptor's alias.
type Challenge struct {
	Nonce []byte `msg:"nonce"`
	Alias string `msg:"alias"`
}

// Error tells the peer why the sender is about to close the connection.
// Code says it to a program (nodes act on it); Message says it to a person.
type Error struct {
	Message string    `msg:"message"`
	Code    ErrorCode `msg:"code"`
}

// ErrorCode is the machine-readable reason of an Error frame.
type ErrorCode uint

// WARNING: ONLY APPEND TO THIS LIST! The numbers are part of the protocol:
// a node acts on the code of an Error, never on its text.
const (
	CodeUnspecified  ErrorCode = 0 // a peer that set no code
	CodeAuth         ErrorCode = 1 // authentication failed: wrong proof (another cookie)
	CodeAliasTaken   ErrorCode = 2 // the alias is held by a live member at another address
	CodeDuplicate    ErrorCode = 3 // a connection between the two nodes already exists and wins
	CodeProtocol     ErrorCode = 4 // protocol violation: unexpected, malformed or unknown message
	CodeOverCapacity ErrorCode = 5 // too many connections or handshakes: try again later
	CodeRefused      ErrorCode = 6 // the node is leaving or not taking members
)
