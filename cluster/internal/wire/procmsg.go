package wire

//go:generate go tool msgp -file=$GOFILE

// This file holds the messages of processes across the cluster: starting a
// program on another member, messages and exit notices between processes,
// monitors, kills, process listings and output. They travel only on
// authenticated connections; the same rules as for messages.go hold (the
// msg tags are the protocol's field names, unknown fields are skipped,
// nothing is ever renumbered or renamed).
//
// Processes are named by pid on their own node: a message's From is a pid
// on the sender's node, To a pid on the receiver's. Each node translates
// the other members' pids into handles of its own.

// WARNING: ONLY APPEND TO THIS LIST! (See the list in messages.go.)
const (
	MsgSpawn         MsgType = 11
	MsgSpawnAck      MsgType = 12
	MsgSend          MsgType = 13
	MsgExit          MsgType = 14
	MsgMonitor       MsgType = 15
	MsgKill          MsgType = 16
	MsgKillAck       MsgType = 17
	MsgListProcesses MsgType = 18
	MsgProcesses     MsgType = 19
	MsgOutput        MsgType = 20
)

// Limits of the process messages, enforced by DecodeMessage.
const (
	HashLen        = 32   // bytes of a program's SHA-256
	MaxNameLen     = 1024 // bytes of a process's program name
	MaxEvents      = 1024 // events in one Exit (a VM keeps at most that many)
	MaxProcesses   = 4096 // entries in one Processes frame (a listing takes several)
	MaxOutputChunk = 64 << 10
)

// Spawn asks the receiver to start a process: the program whose SHA-256 is
// Hash, from code address Entry, with the registers Regs and FRegs. Program
// is the program as a bytecode file, sent only when the receiver may not
// hold it yet; a receiver that does not answers SpawnAck with
// SpawnUnknownProgram, and the sender asks again with Program. Parent is
// the starter's pid on the sender. The process's output goes to sink Sink
// on the member SinkNode (the sender, or the member the sender's own
// output goes to). With Report set, the process's exit notice to its
// parent carries its fault and its events.
type Spawn struct {
	Ref      uint64      `msg:"ref"`
	Parent   int32       `msg:"parent"`
	Name     string      `msg:"name"`
	Hash     [32]byte    `msg:"hash"`
	Program  []byte      `msg:"program"`
	Entry    int32       `msg:"entry"`
	Regs     [32]int32   `msg:"regs"`
	FRegs    [32]float64 `msg:"fregs"`
	SinkNode string      `msg:"sink_node"`
	Sink     int32       `msg:"sink"`
	Report   bool        `msg:"report"`
}

// SpawnCode is a SpawnAck's answer.
type SpawnCode uint8

// WARNING: ONLY APPEND TO THIS LIST! Nodes act on these codes.
const (
	SpawnOK             SpawnCode = 0 // started: PID is the new process
	SpawnUnknownProgram SpawnCode = 1 // the receiver does not hold the program: send it
	SpawnRefused        SpawnCode = 2 // the receiver refuses remote spawns (--remote-spawn=false)
	SpawnTooMany        SpawnCode = 3 // the receiver runs its maximum of processes
	SpawnBadProgram     SpawnCode = 4 // the program is not valid bytecode, or its hash is wrong
	SpawnBadEntry       SpawnCode = 5 // the entry is not an instruction of the program
	SpawnClosing        SpawnCode = 6 // the receiver is shutting down
	SpawnNoPIDs         SpawnCode = 7 // the receiver has given every pid and gives none twice
	SpawnNoMemory       SpawnCode = 8 // the program does not fit in the receiver's memory total for processes
)

// SpawnAck answers the Spawn with the same Ref.
type SpawnAck struct {
	Ref  uint64    `msg:"ref"`
	PID  int32     `msg:"pid"`
	Code SpawnCode `msg:"code"`
}

// Send is one message from process From to process To.
type Send struct {
	From  int32 `msg:"from"`
	To    int32 `msg:"to"`
	Value int32 `msg:"value"`
}

// Exit tells process To that process From has ended with Status (0 ended,
// 1 fault, 2 killed, 4 no such process). Parent says it is the notice to
// the process that started From (Spawn), not to a monitor. Fault is the
// fault's text, if any; Events are From's events, for a spawn that asked
// for Report.
type Exit struct {
	From   int32       `msg:"from"`
	To     int32       `msg:"to"`
	Status int32       `msg:"status"`
	Parent bool        `msg:"parent"`
	Fault  string      `msg:"fault"`
	Events []ExitEvent `msg:"events,limit=1024"`
}

// ExitEvent is one entry of a process's event log: when (Unix
// nanoseconds), its kind (1 start, 2 stop, 3 crash), the exit code and the
// fault's text.
type ExitEvent struct {
	At    int64  `msg:"at"`
	Kind  uint8  `msg:"kind"`
	Code  int32  `msg:"code"`
	Fault string `msg:"fault"`
}

// Monitor asks for an exit notice to process Watcher (on the sender) when
// process Target (on the receiver) ends; at once, status 4, if there is no
// such process.
type Monitor struct {
	Watcher int32 `msg:"watcher"`
	Target  int32 `msg:"target"`
}

// Kill interrupts process PID (status 2); KillAck with the same Ref says
// whether there was such a process.
type Kill struct {
	Ref uint64 `msg:"ref"`
	PID int32  `msg:"pid"`
}

// KillAck answers Kill.
type KillAck struct {
	Ref   uint64 `msg:"ref"`
	Found bool   `msg:"found"`
}

// ListProcesses asks for the receiver's processes: it answers with
// Processes frames of the same Ref, the last one with Done set.
type ListProcesses struct {
	Ref uint64 `msg:"ref"`
}

// Processes is part of a listing.
type Processes struct {
	Ref   uint64        `msg:"ref"`
	Procs []ProcessInfo `msg:"procs,limit=4096"`
	Done  bool          `msg:"done"`
}

// ProcessInfo is one process in a listing: its pid, its state (0 queued,
// 1 running, 2 waiting), its program, its mailbox length and how many
// messages to it were dropped.
type ProcessInfo struct {
	PID     int32  `msg:"pid"`
	State   uint8  `msg:"state"`
	Name    string `msg:"name"`
	Mailbox uint32 `msg:"mailbox"`
	Dropped uint64 `msg:"dropped"`
}

// Output is what process From (on the sender) printed, for sink Sink on
// the receiver; the chunks of one process arrive in the order printed.
type Output struct {
	Sink int32  `msg:"sink"`
	From int32  `msg:"from"`
	Data []byte `msg:"data"`
}
