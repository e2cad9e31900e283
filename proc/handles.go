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
// entries, the oldest entry first, so that its size is bounded whatever
// the other members send. Guarded by the Node's mutex.
type handleTable struct {
	byKey    map[remoteKey]int32
	byHandle map[int32]remoteKey
	last     int32   // the last handle given; the next is last-1
	order    []int32 // handles in the order given, some forgotten since
	head     int     // order[head:] may still be known
	max      int
}

func newHandleTable(max int) handleTable {
	return handleTable{byKey: make(map[remoteKey]int32), byHandle: make(map[int32]remoteKey), max: max}
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
	for len(t.byKey) >= t.max && t.head < len(t.order) {
		oldest := t.order[t.head]
		t.head++
		t.forget(oldest)
	}
	t.last--
	h := t.last
	t.byKey[k] = h
	t.byHandle[h] = k
	if pending := len(t.order) - t.head; pending > 2*len(t.byKey)+1024 || t.head > 1024 && t.head > pending {
		// Mostly handles forgotten or evicted since: keep the known ones,
		// in order, so that the list stays within a few times the table.
		kept := t.order[:0]
		for _, o := range t.order[t.head:] {
			if _, ok := t.byHandle[o]; ok {
				kept = append(kept, o)
			}
		}
		t.order, t.head = kept, 0
	}
	t.order = append(t.order, h)
	return h
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
	if k, ok := t.byHandle[h]; ok {
		delete(t.byHandle, h)
		delete(t.byKey, k)
	}
}

// forgetMember drops every handle of a member's processes.
func (t *handleTable) forgetMember(alias string) {
	for k, h := range t.byKey {
		if k.alias == alias {
			delete(t.byKey, k)
			delete(t.byHandle, h)
		}
	}
}

func (t *handleTable) len() int { return len(t.byKey) }
