package wire

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/tinylib/msgp/msgp"
)

func (*Spawn) Type() MsgType         { return MsgSpawn }
func (*SpawnAck) Type() MsgType      { return MsgSpawnAck }
func (*Send) Type() MsgType          { return MsgSend }
func (*Exit) Type() MsgType          { return MsgExit }
func (*Monitor) Type() MsgType       { return MsgMonitor }
func (*Kill) Type() MsgType          { return MsgKill }
func (*KillAck) Type() MsgType       { return MsgKillAck }
func (*ListProcesses) Type() MsgType { return MsgListProcesses }
func (*Processes) Type() MsgType     { return MsgProcesses }
func (*Output) Type() MsgType        { return MsgOutput }

var (
	_ Message = (*Spawn)(nil)
	_ Message = (*SpawnAck)(nil)
	_ Message = (*Send)(nil)
	_ Message = (*Exit)(nil)
	_ Message = (*Monitor)(nil)
	_ Message = (*Kill)(nil)
	_ Message = (*KillAck)(nil)
	_ Message = (*ListProcesses)(nil)
	_ Message = (*Processes)(nil)
	_ Message = (*Output)(nil)
)

// Process reports whether t is one of the process messages (11-20), which
// only an authenticated connection may carry.
func (t MsgType) Process() bool { return t >= MsgSpawn && t <= MsgOutput }

func newProcessMessage(t MsgType) (Message, error) {
	switch t {
	case MsgSpawn:
		return new(Spawn), nil
	case MsgSpawnAck:
		return new(SpawnAck), nil
	case MsgSend:
		return new(Send), nil
	case MsgExit:
		return new(Exit), nil
	case MsgMonitor:
		return new(Monitor), nil
	case MsgKill:
		return new(Kill), nil
	case MsgKillAck:
		return new(KillAck), nil
	case MsgListProcesses:
		return new(ListProcesses), nil
	case MsgProcesses:
		return new(Processes), nil
	case MsgOutput:
		return new(Output), nil
	}
	return nil, fmt.Errorf("%w %d", ErrUnknownType, uint8(t))
}

// validateProcess enforces the limits of the process messages, and that
// the pids in them name processes: a pid is positive. A starter (a
// Spawn's Parent) and a watcher (an Exit's To, a Monitor's Watcher) may
// also be 0: a process started with no parent (proc.Spec.Parent 0) still
// reports its end to the node that started it. A Kill's pid may be
// anything: it is looked up, and the answer says whether it was found.
func validateProcess(m Message) error {
	switch m := m.(type) {
	case *Send:
		return errors.Join(checkPID("from", m.From), checkPID("to", m.To))
	case *Monitor:
		return errors.Join(checkWatcher("watcher", m.Watcher), checkPID("target", m.Target))
	case *SpawnAck:
		if m.Code == SpawnOK {
			return checkPID("pid", m.PID)
		}
	case *Spawn:
		return errors.Join(checkWatcher("parent", m.Parent), checkStr("name", m.Name, MaxNameLen), checkStr("sink_node", m.SinkNode, MaxAliasLen))
	case *Exit:
		errs := []error{checkPID("from", m.From), checkWatcher("to", m.To), checkStr("fault", m.Fault, MaxErrorLen)}
		if len(m.Events) > MaxEvents {
			errs = append(errs, fmt.Errorf("%w: %d events, limit %d", ErrFieldTooLong, len(m.Events), MaxEvents))
		}
		for i := range m.Events {
			errs = append(errs, checkStr("fault", m.Events[i].Fault, MaxErrorLen))
		}
		return errors.Join(errs...)
	case *Processes:
		if len(m.Procs) > MaxProcesses {
			return fmt.Errorf("%w: %d processes, limit %d", ErrFieldTooLong, len(m.Procs), MaxProcesses)
		}
		for i := range m.Procs {
			if err := errors.Join(checkPID("pid", m.Procs[i].PID), checkStr("name", m.Procs[i].Name, MaxNameLen)); err != nil {
				return err
			}
		}
	case *Output:
		return errors.Join(checkPID("from", m.From), checkBin("data", m.Data, MaxOutputChunk))
	}
	return nil
}

func checkPID(field string, pid int32) error {
	if pid <= 0 {
		return fmt.Errorf("%w: %s %d", ErrBadPID, field, pid)
	}
	return nil
}

func checkWatcher(field string, pid int32) error {
	if pid < 0 {
		return fmt.Errorf("%w: %s %d", ErrBadPID, field, pid)
	}
	return nil
}

// DecodeInto decodes body into m, a message of the frame's type that the
// caller reuses from frame to frame, and checks its limits as
// DecodeMessage does. The caller zeroes m first: a field the body leaves
// out keeps m's value. For messages of fixed size (Send, Monitor, ...) it
// allocates nothing.
//
// A top-level field whose value is MessagePack's nil counts as left out
// (its zero value): some encoders write nil for an empty list or byte
// string, and the protocol lets any field be left out (package doc).
// Only such fields are dropped, and only when the body does not decode as
// it is, so a body that decodes costs nothing more.
func DecodeInto(m Message, body []byte) error {
	rest, err := m.UnmarshalMsg(body)
	if err != nil {
		if plain, ok := withoutNilFields(body); ok {
			reflect.ValueOf(m).Elem().SetZero() // the failed pass may have filled some fields
			rest, err = m.UnmarshalMsg(plain)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, m.Type(), err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %s: %d bytes", ErrTrailingBytes, m.Type(), len(rest))
	}
	if err := validate(m); err != nil {
		return fmt.Errorf("%s: %w", m.Type(), err)
	}
	return nil
}

// withoutNilFields is body, a MessagePack map (and whatever follows it),
// without the entries whose value is nil. It reports false when body is
// not a map of named fields or has no such entry.
func withoutNilFields(body []byte) ([]byte, bool) {
	n, rest, err := msgp.ReadMapHeaderBytes(body)
	if err != nil {
		return nil, false
	}
	var kept []byte
	var count uint32
	for range n {
		if t := msgp.NextType(rest); t != msgp.StrType && t != msgp.BinType {
			return nil, false // a field's name is a string: this is no message
		}
		val, err := msgp.Skip(rest)
		if err != nil {
			return nil, false
		}
		after, err := msgp.Skip(val)
		if err != nil {
			return nil, false
		}
		if !msgp.IsNil(val) {
			kept = append(kept, rest[:len(rest)-len(after)]...)
			count++
		}
		rest = after
	}
	if count == n {
		return nil, false
	}
	out := msgp.AppendMapHeader(make([]byte, 0, 5+len(kept)+len(rest)), count)
	return append(append(out, kept...), rest...), true
}
