package proc

import (
	"container/list"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/iridium-go/iridium/vm"
)

// Bounds of the cache of programs that other members started here.
const (
	DefaultCachePrograms = 256
	DefaultCacheBytes    = 64 << 20
)

// Errors of a spawn that another member asked for.
var (
	// ErrUnknownProgram: the spawn carried only a hash and this node does
	// not hold that program (any more); the spawner sends it again whole.
	ErrUnknownProgram = errors.New("proc: program not in the cache")
	// ErrBadProgram: the program is not valid bytecode, or not the one
	// its hash names.
	ErrBadProgram = errors.New("proc: bad program")
	// ErrBadEntry: the entry is not an instruction of the program.
	ErrBadEntry = errors.New("proc: entry is not an instruction of the program")
	// ErrRemoteSpawnOff: this node refuses processes from other members.
	ErrRemoteSpawnOff = errors.New("proc: this node refuses remote spawns (--remote-spawn=false)")
	// ErrProgramTotal: the program, which no process here runs yet, does
	// not fit in what is left of the node's memory total (Config.HeapTotal).
	ErrProgramTotal = errors.New("proc: the program would take the node's processes past their memory total")
)

// programCache keeps the programs that other members started here, each
// loaded once into a template VM that is never run and only forked, by
// SHA-256 of the program's bytecode file. It holds at most maxCount
// programs and maxBytes bytes of memory in them (vm.VM.ProgramMemory: a
// program's code and its decoded form, about five times the code); the
// least recently used goes first.
// A spawner whose program was dropped learns it from ErrUnknownProgram and
// sends it again.
//
// The processes running a program hold it whether or not the cache still
// does, so the cache's bounds alone do not bound that memory: each program
// is counted in the node's memory account (the heaps' and stacks'), once,
// from the first process forked from it until the last one ends. Without
// that, a member could start a process of a different megabyte-sized
// program again and again, each one waiting for ever, and fill the host.
type programCache struct {
	mu       sync.Mutex
	byHash   map[[32]byte]*list.Element
	lru      list.List // of *cachedProgram, most recent first
	bytes    int
	maxCount int
	maxBytes int
	misses   int            // spawns whose program was not here (the spawner sends it again)
	account  vm.HeapAccount // where running programs are counted; nil: nowhere
	// running holds the programs that processes run, cached or evicted
	// since, by hash: a spawn of one of them forks it again rather than
	// loading and counting a second copy.
	running map[[32]byte]*cachedProgram
}

type cachedProgram struct {
	hash [32]byte
	size int
	tmpl *vm.VM // loaded, never run; forks are made under the cache's mutex
	// running is how many processes run tmpl's program and have not
	// ended (mu): those forked from it and their children here. While
	// there is one, size is taken from the account.
	running int
}

func newProgramCache(maxCount, maxBytes int, account vm.HeapAccount) *programCache {
	if maxCount <= 0 {
		maxCount = DefaultCachePrograms
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &programCache{byHash: make(map[[32]byte]*list.Element), maxCount: maxCount, maxBytes: maxBytes,
		account: account, running: make(map[[32]byte]*cachedProgram)}
}

// fork makes the VM of a new process: the program hash names (image, if
// not nil, is that program as a bytecode file, checked against the hash
// and kept), run from entry with the registers given. The process holds
// the program it returns until it hands it to done.
func (c *programCache) fork(hash [32]byte, image []byte, entry int, regs [32]int32, fregs [32]float64, cfg vm.Config) (*vm.VM, *cachedProgram, error) {
	var tmpl *vm.VM
	if image != nil {
		if sha256.Sum256(image) != hash {
			return nil, nil, fmt.Errorf("%w: its SHA-256 is not the one sent", ErrBadProgram)
		}
		// Parse and verify outside the lock: a large program takes a
		// while, and other spawns need not wait for it.
		prog, err := vm.ParseBytecode(image)
		if err == nil {
			tmpl, err = vm.New(vm.Config{})
			if err == nil {
				err = tmpl.Load(prog)
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadProgram, err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var p *cachedProgram
	if e, ok := c.byHash[hash]; ok {
		c.lru.MoveToFront(e)
		p = e.Value.(*cachedProgram)
	} else if p = c.running[hash]; p != nil {
		c.add(p) // evicted while processes ran it: cached again
	} else if tmpl != nil {
		// Cached even if the account refuses it below, uncounted as any
		// program no process runs: a spawner that tries again sends the
		// hash alone.
		p = &cachedProgram{hash: hash, size: tmpl.ProgramMemory(), tmpl: tmpl}
		c.add(p)
	} else {
		c.misses++
		return nil, nil, ErrUnknownProgram
	}
	if p.running == 0 && c.account != nil && !c.account.Take(p.size) {
		return nil, nil, ErrProgramTotal
	}
	m, err := p.tmpl.ForkWith(entry, regs, fregs, cfg)
	if err != nil {
		if p.running == 0 && c.account != nil {
			c.account.Give(p.size)
		}
		if errors.Is(err, vm.ErrBadEntry) {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadEntry, err)
		}
		return nil, nil, err
	}
	c.hold(p)
	return m, p, nil
}

// hold counts one more process that runs p (c.mu held): one forked from
// it, or a child that a process running it spawned here, which shares its
// code (holdChild). The first is counted in the account by its caller.
func (c *programCache) hold(p *cachedProgram) {
	if p.running == 0 {
		c.running[p.hash] = p
	}
	p.running++
}

// holdChild counts a child that a process running p spawned here: p is
// counted in the account already, since that process runs it.
func (c *programCache) holdChild(p *cachedProgram) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold(p)
}

// done tells the cache that a process running p ended: the last one gives
// p's memory back to the account.
func (c *programCache) done(p *cachedProgram) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p.running--
	if p.running == 0 {
		delete(c.running, p.hash)
		if c.account != nil {
			c.account.Give(p.size)
		}
	}
}

func (c *programCache) add(p *cachedProgram) {
	c.byHash[p.hash] = c.lru.PushFront(p)
	c.bytes += p.size
	for c.lru.Len() > 1 && (c.lru.Len() > c.maxCount || c.bytes > c.maxBytes) {
		old := c.lru.Remove(c.lru.Back()).(*cachedProgram)
		delete(c.byHash, old.hash)
		c.bytes -= old.size
	}
}

// holds reports whether the program is cached (tests).
func (c *programCache) holds(hash [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byHash[hash]
	return ok
}

// programImage is a program as it travels to another member: its
// bytecode file and that file's SHA-256. A process keeps the image of the
// program it last sent, with the slices it was made from (VM.Share), which
// never change while held: the next spawn of the same program reuses it.
type programImage struct {
	roData, code []byte
	bytes        []byte
	hash         [32]byte
}

// imageOf returns the image of the program m runs, reusing last's when it
// is the same program.
func imageOf(m *vm.VM, last *programImage) (*programImage, error) {
	ro, code := m.Share()
	if last != nil && sameSlice(ro, last.roData) && sameSlice(code, last.code) {
		return last, nil
	}
	b, err := (&vm.Program{ROData: ro, Code: code}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &programImage{roData: ro, code: code, bytes: b, hash: sha256.Sum256(b)}, nil
}

// sameSlice reports whether a and b are the same memory (not merely equal).
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// CachedPrograms is how many programs that other members started here the
// node holds.
func (n *Node) CachedPrograms() int {
	n.programs.mu.Lock()
	defer n.programs.mu.Unlock()
	return n.programs.lru.Len()
}
