package vm

import (
	"strconv"
	"time"
)

// EventKind says what happened to a VM.
type EventKind uint8

const (
	EventStart        EventKind = iota + 1 // a Run began
	EventGracefulStop                      // a Run ended normally; Event.Code is the exit code
	EventCrash                             // a Run ended with a fault; Event.Err is the *Fault
)

func (k EventKind) String() string {
	switch k {
	case EventStart:
		return "Start"
	case EventGracefulStop:
		return "GracefulStop"
	case EventCrash:
		return "Crash"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one entry of a VM's event log (see VM.Events).
type Event struct {
	Kind EventKind
	At   time.Time
	Code int   // exit code, for EventGracefulStop and EventCrash
	Err  error // the fault, for EventCrash
}

func (e Event) String() string {
	s := e.At.Format(time.RFC3339Nano) + " " + e.Kind.String()
	switch e.Kind {
	case EventGracefulStop:
		s += " code=" + strconv.Itoa(e.Code)
	case EventCrash:
		s += " code=" + strconv.Itoa(e.Code)
		if e.Err != nil {
			s += ": " + e.Err.Error()
		}
	}
	return s
}

// maxEvents bounds the event log of a long-lived VM (a REPL runs one line
// after another on it); when it is full the older half is dropped.
const maxEvents = 1024

func (m *VM) record(kind EventKind, code int, err error) {
	if len(m.events) == maxEvents {
		n := copy(m.events, m.events[maxEvents/2:])
		clear(m.events[n:])
		m.events = m.events[:n]
	}
	m.events = append(m.events, Event{Kind: kind, At: time.Now(), Code: code, Err: err})
}
