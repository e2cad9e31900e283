package proc

import "sync/atomic"

// heapTotal is the vm.HeapAccount that holds the heaps of a node's
// processes within Config.HeapTotal bytes together: the one bound that
// stops a program which spawns processes and fills each one's heap.
type heapTotal struct {
	max  int64
	used atomic.Int64
}

// Take counts n bytes more if they fit under the bound.
func (h *heapTotal) Take(n int) bool {
	for {
		u := h.used.Load()
		if u+int64(n) > h.max {
			return false
		}
		if h.used.CompareAndSwap(u, u+int64(n)) {
			return true
		}
	}
}

// Give counts n bytes less.
func (h *heapTotal) Give(n int) { h.used.Add(-int64(n)) }
