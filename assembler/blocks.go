package assembler

import "iter"

// blockLen is how many entries a full block of a blockList holds.
const blockLen = 1024

// blockList is an append-only list kept in blocks that never move. The
// assembler keeps an entry or two for every line of source, and a slice
// grown by append would allocate several times its final size on the way
// there, as each growth copies everything into a larger array; a block is
// allocated once. The first block grows as a slice does, so that a
// one-line REPL chunk allocates room for one entry, not for a whole block.
type blockList[T any] struct {
	blocks [][]T
	n      int
}

func (l *blockList[T]) add(v T) {
	switch {
	case l.n == 0:
		l.blocks = [][]T{nil}
	case l.n%blockLen == 0:
		l.blocks = append(l.blocks, make([]T, 0, blockLen))
	}
	last := &l.blocks[len(l.blocks)-1]
	*last = append(*last, v)
	l.n++
}

func (l *blockList[T]) len() int { return l.n }

// at returns entry i, which stays where it is for the list's lifetime.
func (l *blockList[T]) at(i int) *T { return &l.blocks[i/blockLen][i%blockLen] }

// all yields every entry with its index, in order.
func (l *blockList[T]) all() iter.Seq2[int, *T] {
	return func(yield func(int, *T) bool) {
		i := 0
		for _, b := range l.blocks {
			for j := range b {
				if !yield(i, &b[j]) {
					return
				}
				i++
			}
		}
	}
}
