package proc

import "slices"

// watchList is the watchers of one process, each once, in the order they
// came. Most processes have one (their starter) or none. One that many
// watch (a server each of its clients monitors) keeps a set beside the
// list once the list is long, so that adding a watcher costs the same
// however many there are: a MONITOR must not scan every watcher before it.
type watchList[T comparable] struct {
	list  []T
	index *watchIndex[T] // nil until the list reaches watchSetFrom
}

type watchIndex[T comparable] struct {
	has map[T]struct{} // the elements of list
	// pruneAt is the length at which add drops the watchers that are gone
	// (see add): twice the length after the last time, so that pruning
	// costs O(1) an add, however the watchers come and go.
	pruneAt int
}

// watchSetFrom is the list length from which a watchList keeps its set.
const watchSetFrom = 16

// add adds w unless it is there already, and reports whether it did. Once
// the list is long, gone (if not nil) is asked now and then about every
// watcher, and those it says are gone are dropped: the watchers of a
// process that lives long would otherwise pile up with every watcher that
// ended before it.
func (l *watchList[T]) add(w T, gone func(T) bool) bool {
	if l.has(w) {
		return false
	}
	if l.index == nil {
		l.list = append(l.list, w)
		if len(l.list) >= watchSetFrom {
			l.index = &watchIndex[T]{}
			l.rebuild()
		}
		return true
	}
	if gone != nil && len(l.list) >= l.index.pruneAt {
		l.list = slices.DeleteFunc(l.list, gone)
		l.rebuild()
	}
	l.index.has[w] = struct{}{}
	l.list = append(l.list, w)
	return true
}

// has reports whether w is one of the watchers.
func (l *watchList[T]) has(w T) bool {
	if l.index != nil {
		_, ok := l.index.has[w]
		return ok
	}
	return slices.Contains(l.list, w)
}

// rebuild makes the index from the list; l.index is not nil.
func (l *watchList[T]) rebuild() {
	l.index.has = make(map[T]struct{}, len(l.list))
	for _, x := range l.list {
		l.index.has[x] = struct{}{}
	}
	l.index.pruneAt = max(2*len(l.list), watchSetFrom)
}

// remove drops the watchers drop says to.
func (l *watchList[T]) remove(drop func(T) bool) {
	l.list = slices.DeleteFunc(l.list, drop)
	if l.index != nil {
		l.rebuild()
	}
}

// take returns the watchers and empties l.
func (l *watchList[T]) take() []T {
	list := l.list
	*l = watchList[T]{}
	return list
}

// len is how many watchers l holds.
func (l *watchList[T]) len() int { return len(l.list) }

// localWatches is who here waits for the exit notice of one process on
// another member. Most such processes have one (their starter here); one
// that many here watch (a server its clients monitor) keeps an index
// beside the list once it is long, so that finding, adding and removing a
// watch costs the same however many there are: each MONITOR, each
// watcher's end and each notice that comes does one of those.
type localWatches struct {
	list  []localWatch
	index map[watchKey]int // the position of each watch in list, once it is long
}

// watchKey names a watch of a process elsewhere: one process here watches
// it at most once as its starter (parent) and once as a monitor.
type watchKey struct {
	pid    int32
	parent bool
}

func (w localWatch) key() watchKey { return watchKey{w.pid, w.parent} }

// find returns the position of watch k, or -1.
func (ws *localWatches) find(k watchKey) int {
	if ws.index != nil {
		if i, ok := ws.index[k]; ok {
			return i
		}
		return -1
	}
	return slices.IndexFunc(ws.list, func(w localWatch) bool { return w.key() == k })
}

// processWatch returns the position of process pid's own watch, as the
// starter (parent) or as a monitor, or -1. A !spawn_on job's watch, which
// has onExit and takes the notice itself, is not the process's.
func (ws *localWatches) processWatch(pid int32, parent bool) int {
	if i := ws.find(watchKey{pid, parent}); i >= 0 && ws.list[i].onExit == nil {
		return i
	}
	return -1
}

// add adds w, whose key is not there.
func (ws *localWatches) add(w localWatch) {
	ws.list = append(ws.list, w)
	switch {
	case ws.index != nil:
		ws.index[w.key()] = len(ws.list) - 1
	case len(ws.list) >= watchSetFrom:
		ws.index = make(map[watchKey]int, 2*len(ws.list))
		for i, x := range ws.list {
			ws.index[x.key()] = i
		}
	}
}

// removeAt removes the watch at position i: the last one takes its place.
func (ws *localWatches) removeAt(i int) {
	last := len(ws.list) - 1
	if ws.index != nil {
		delete(ws.index, ws.list[i].key())
		if i != last {
			ws.index[ws.list[last].key()] = i
		}
	}
	ws.list[i] = ws.list[last]
	ws.list[last] = localWatch{} // its onExit is garbage now
	ws.list = ws.list[:last]
}
