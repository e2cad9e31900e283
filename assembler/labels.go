package assembler

import "hash/maphash"

// labelDef is a label defined in the chunk being assembled.
type labelDef struct {
	name  string
	pos   Pos
	kind  SymbolKind
	at    int // a code label's place: the index in asm.code of the next instruction
	value int // a data label's from the start; a code label's once laid out
}

// labelIndex finds a chunk's labels by name: a hash table of their indices
// in the chunk's list of labels, with open addressing and linear probing.
// A slot takes 4 bytes and at least half the slots are empty, so a label
// costs at most 16 bytes here; a map from names costs several times that,
// which for a file of short labelled lines weighs more than the source.
type labelIndex struct {
	seed  maphash.Seed
	slots []int32 // 1 + an index in the list; 0 for an empty slot
	n     int     // labels in the index
}

func newLabelIndex() labelIndex { return labelIndex{seed: maphash.MakeSeed()} }

// find returns the index of the label called name.
func (x *labelIndex) find(labels *blockList[labelDef], name string) (int, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := len(x.slots) - 1
	for i := x.home(name); x.slots[i] != 0; i = (i + 1) & mask {
		if j := int(x.slots[i]) - 1; labels.at(j).name == name {
			return j, true
		}
	}
	return 0, false
}

// add puts label j, whose name the index does not hold, into the index.
func (x *labelIndex) add(labels *blockList[labelDef], j int) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots = make([]int32, max(16, 2*len(old)))
		for _, s := range old {
			if s != 0 {
				x.put(labels.at(int(s)-1).name, s)
			}
		}
	}
	x.put(labels.at(j).name, int32(j+1))
	x.n++
}

// put stores slot value s in the first free slot from name's home.
func (x *labelIndex) put(name string, s int32) {
	mask := len(x.slots) - 1
	i := x.home(name)
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}

// home is the slot where the search for name starts.
func (x *labelIndex) home(name string) int {
	return int(maphash.String(x.seed, name) & uint64(len(x.slots)-1))
}
