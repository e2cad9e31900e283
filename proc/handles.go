package proc

// DefaultMaxHandles bounds the handles of other members' processes that a
// node keeps at once.
const DefaultMaxHandles = 1 << 20

// remoteKey names a process on another member: its alias and its pid there.
type remoteKey struct {
	alias string
	pid   int32
}

// handleTable gives the processes of other members the negative handles
// that programs on this node use for them. A process keeps its handle as
// long as the table knows it; a number is never given twice, so a handle
// whose process ended (or whose member was lost) reaches nothing, never
// another process. The table forgets a process when its exit notice came
// and nobody here waits for another, when its member is lost, or, past max
// entries, the oldest entry of the member with the most, so that its size
// is bounded whatever the other members send, and a member that floods
// this node with messages from new pids evicts its own handles, not those
// of the others. Guarded by the Node's mutex.
type handleTable struct {
	byKey    map[remoteKey]int32
	byHandle map[int32]remoteKey
	members  map[string]*memberHandles // by alias; a member with no handle has none
	last     int32                     // the last handle given; the next is last-1
	max      int
}

// memberHandles are one member's handles in the order given, some
// forgotten since: order[head:] may still be known, and known of them are.
type memberHandles struct {
	order []int32
	head  int
	known int
}

func newHandleTable(max int) handleTable {
	return handleTable{byKey: make(map[remoteKey]int32), byHandle: make(map[int32]remoteKey),
		members: make(map[string]*memberHandles), max: max}
}

// handle returns the handle of process k, giving it one if it has none.
// It returns 0 (no process) once every negative int32 has been given.
func (t *handleTable) handle(k remoteKey) int32 {
	if h, ok := t.byKey[k]; ok {
		return h
	}
	if t.last == -1<<31 {
		return 0
	}
	for len(t.byKey) >= t.max && t.evictOne() {
	}
	t.last--
	h := t.last
	t.byKey[k] = h
	t.byHandle[h] = k
	m := t.members[k.alias]
	if m == nil {
		m = &memberHandles{}
		t.members[k.alias] = m
	}
	if pending := len(m.order) - m.head; pending > 2*m.known+1024 || m.head > 1024 && m.head > pending {
		// Mostly handles forgotten or evicted since: keep the known ones,
		// in order, so that the list stays within a few times the table.
		kept := m.order[:0]
		for _, o := range m.order[m.head:] {
			if _, ok := t.byHandle[o]; ok {
				kept = append(kept, o)
			}
		}
		m.order, m.head = kept, 0
	}
	m.order = append(m.order, h)
	m.known++
	return h
}

// evictOne forgets the oldest handle of the member that holds the most,
// and reports whether there was one.
func (t *handleTable) evictOne() bool {
	var busiest *memberHandles
	for _, m := range t.members {
		if busiest == nil || m.known > busiest.known {
			busiest = m
		}
	}
	if busiest == nil {
		return false
	}
	for busiest.head < len(busiest.order) {
		h := busiest.order[busiest.head]
		busiest.head++
		if _, ok := t.byHandle[h]; ok {
			t.forget(h)
			return true
		}
	}
	return false
}

// lookup returns the process that handle h names.
func (t *handleTable) lookup(h int32) (remoteKey, bool) {
	k, ok := t.byHandle[h]
	return k, ok
}

// known returns k's handle if it has one.
func (t *handleTable) known(k remoteKey) (int32, bool) {
	h, ok := t.byKey[k]
	return h, ok
}

// forget drops handle h; it names nothing from now on.
func (t *handleTable) forget(h int32) {
	k, ok := t.byHandle[h]
	if !ok {
		return
	}
	delete(t.byHandle, h)
	delete(t.byKey, k)
	if m := t.members[k.alias]; m != nil {
		if m.known--; m.known == 0 {
			delete(t.members, k.alias)
		}
	}
}

// forgetMember drops every handle of a member's processes.
func (t *handleTable) forgetMember(alias string) {
	m := t.members[alias]
	if m == nil {
		return
	}
	for _, h := range m.order[m.head:] {
		if k, ok := t.byHandle[h]; ok {
			delete(t.byHandle, h)
			delete(t.byKey, k)
		}
	}
	delete(t.members, alias)
}

func (t *handleTable) len() int { return len(t.byKey) }
