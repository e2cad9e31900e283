package assembler

import (
	"slices"
	"strconv"
	"strings"
)

// SymbolKind tells code labels from data labels.
type SymbolKind uint8

const (
	SymbolCode SymbolKind = iota // a code address
	SymbolData                   // an offset into the read-only data
)

func (k SymbolKind) String() string {
	switch k {
	case SymbolCode:
		return "code"
	case SymbolData:
		return "data"
	}
	return "SymbolKind(" + strconv.Itoa(int(k)) + ")"
}

// Symbol is one label: a code label's Value is the code address of the
// instruction after it, a data label's the read-only offset of its data.
type Symbol struct {
	Name  string
	Kind  SymbolKind
	Value int
}

// sortSymbols sorts by name.
func sortSymbols(syms []Symbol) {
	slices.SortFunc(syms, func(a, b Symbol) int { return strings.Compare(a.Name, b.Name) })
}
