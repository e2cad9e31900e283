package assembler

import (
	"cmp"
	"slices"

	"github.com/iridium-go/iridium/vm"
)

// Pass 1, layout: every label gets its address once all lines are read.

// lookup finds a label's value as far as layout knows it, and its index in
// a.labels (-1 for a symbol of an earlier chunk).
func (a *asm) lookup(name string) (sym Symbol, index int, ok bool) {
	if i, ok := a.byName.find(&a.labels, name); ok {
		d := a.labels.at(i)
		return Symbol{Name: name, Kind: d.kind, Value: d.value}, i, true
	}
	sym, ok = a.prior[name]
	return sym, -1, ok
}

// layout gives every label its value and every LOAD of a label its size:
// one instruction if the value fits 16 bits, two otherwise. A LOAD that
// grows moves the code labels after it, which may make more LOADs grow, so
// the sizes wanted are the smallest that agree with the values they give.
//
// One sweep finds them. Data labels and earlier chunks' symbols do not move,
// so their LOADs are sized at once. A code label's value only grows as LOADs
// grow, and never falls below an earlier label's, so the code labels past
// 65535 are always the last ones. Walking back from the last code label,
// each one past 65535 makes its LOADs grow, which raises the labels after
// them: those already visited stay past 65535, the others are visited with
// their new values. The walk stops at the first label that is at most
// 65535: the labels before it are lower still, and only LOADs of labels
// past 65535 grow, so nothing moves any more. Each instruction and each
// label is visited a bounded number of times (the plain way, repeating the
// layout until no LOAD grows, can take a round per LOAD).
func (a *asm) layout() {
	// The LOADs of this chunk's code labels, for the sweep; the others are
	// sized at once.
	type load struct{ instr, label int }
	var loads []load
	for i, in := range a.code.all() {
		if a.interrupted() {
			return
		}
		if in.op != vm.OpLoad || in.word || in.ref == noRef {
			continue
		}
		switch sym, label, ok := a.lookup(a.refs.at(int(in.ref)).name); {
		case !ok: // undefined: encode reports it
		case label >= 0 && sym.Kind == SymbolCode:
			loads = append(loads, load{i, label})
		case !fits16(sym.Value):
			in.n = 2
		}
	}
	a.place()
	if len(loads) == 0 || a.stop != nil {
		return
	}

	// Sorted by label, the LOADs of the labels not yet visited are
	// loads[:k], those of the label being visited at its end.
	slices.SortFunc(loads, func(x, y load) int { return cmp.Compare(x.label, y.label) })
	k := len(loads)
	at, addr := a.code.len(), a.codeEnd // addr is the address of instruction at
	for i := a.labels.len() - 1; i >= 0; i-- {
		d := a.labels.at(i)
		if d.kind != SymbolCode {
			continue
		}
		for ; at > d.at; at-- {
			if a.interrupted() {
				return
			}
			addr -= vm.InstructionSize * int(a.code.at(at-1).n)
		}
		if fits16(addr) {
			break
		}
		for ; k > 0 && loads[k-1].label == i; k-- {
			j := loads[k-1].instr
			a.code.at(j).n = 2
			if j < at {
				addr += vm.InstructionSize
			}
		}
	}
	a.place()
}

// place gives the code labels their addresses, and a.codeEnd its value,
// under the current sizes.
func (a *asm) place() {
	addr, at := a.codeBase, 0 // addr is the address of instruction at
	for _, d := range a.labels.all() {
		if d.kind != SymbolCode {
			continue
		}
		for ; at < d.at; at++ {
			if a.interrupted() {
				return
			}
			addr += vm.InstructionSize * int(a.code.at(at).n)
		}
		d.value = addr
	}
	for ; at < a.code.len(); at++ {
		if a.interrupted() {
			return
		}
		addr += vm.InstructionSize * int(a.code.at(at).n)
	}
	a.codeEnd = addr
}
