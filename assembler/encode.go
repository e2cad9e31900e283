package assembler

import (
	"encoding/binary"

	"github.com/iridium-go/iridium/vm"
)

// Pass 2, encoding: instructions become bytes, labels their addresses.

func (a *asm) encode() *vm.Program {
	p := &vm.Program{}
	if a.stop != nil || a.codeFull {
		return p
	}
	if a.roLen > 0 {
		p.ROData = make([]byte, 0, a.roLen)
		for _, d := range a.data.all() {
			p.ROData = append(p.ROData, d.text...)
			if d.nul {
				p.ROData = append(p.ROData, 0)
			}
		}
	}
	if size := a.codeEnd - a.codeBase; size > 0 {
		p.Code = make([]byte, 0, size)
	}
	for _, t := range a.targets {
		in := a.code.at(t.at)
		if int(in.imm) > a.codeEnd {
			info, _ := in.op.Info()
			a.errorf(t.pos, "%s target %s is past the end of the code (%s)", info.Name, t.text, vm.FormatAddress(a.codeEnd))
			in.bad = true
		}
	}
	addr := a.codeBase
	for _, in := range a.code.all() {
		if a.interrupted() {
			return p
		}
		size := vm.InstructionSize * int(in.n)
		if addr <= vm.MaxImm24+1 && addr+size > vm.MaxImm24+1 {
			a.errorf(in.pos, "code exceeds the 24-bit address space")
		}
		addr += size
		if !in.bad {
			p.Code = a.encodeInstr(p.Code, in)
		}
	}
	return p
}

// resolve looks up a label operand for pass 2: a label of kind want, or of
// any kind for LOAD.
func (a *asm) resolve(in *instr, info vm.Info, want SymbolKind, anyKind bool) (int, bool) {
	ref := a.refs.at(int(in.ref))
	sym, _, ok := a.lookup(ref.name)
	if !ok {
		a.errorf(ref.pos, "undefined label %q", ref.name)
		return 0, false
	}
	if !anyKind && sym.Kind != want {
		a.errorf(ref.pos, "%s needs a %s label, %q is a %s label", info.Name, want, ref.name, sym.Kind)
		return 0, false
	}
	if !anyKind && (sym.Value < 0 || sym.Value > vm.MaxImm24) {
		a.errorf(ref.pos, "label %q (%s) out of range for %s %s", ref.name, vm.FormatAddress(sym.Value), info.Name, addressRange)
		return 0, false
	}
	return sym.Value, true
}

func (a *asm) encodeInstr(code []byte, in *instr) []byte {
	if in.word {
		code = binary.BigEndian.AppendUint32(code, in.imm)
		if a.strict {
			if err := refused(vm.Decode(code[len(code)-vm.InstructionSize:]), a.codeEnd); err != nil {
				a.errorf(in.pos, ".word #0x%08x is not an instruction the VM accepts: %v", in.imm, err)
			}
		}
		return code
	}
	op := in.op
	info, _ := op.Info()
	emit := func(b [vm.InstructionSize]byte) { code = append(code, b[:]...) }
	switch info.Shape {
	case vm.ShapeNone:
		emit(vm.Encode(op, 0, 0, 0))
	case vm.ShapeR:
		emit(vm.Encode(op, in.regs[0], 0, 0))
	case vm.ShapeRR, vm.ShapeRShift:
		emit(vm.Encode(op, in.regs[0], in.regs[1], 0))
	case vm.ShapeRRR:
		emit(vm.Encode(op, in.regs[0], in.regs[1], in.regs[2]))
	case vm.ShapeRImm16:
		v := in.imm
		if in.ref != noRef {
			val, ok := a.resolve(in, info, 0, true)
			if !ok {
				return code
			}
			v = uint32(val)
		}
		if in.n == 2 {
			emit(vm.EncodeImm16(vm.OpLoad, in.regs[0], uint16(v>>16)))
			emit(vm.EncodeImm16(vm.OpLui, in.regs[0], uint16(v)))
		} else {
			emit(vm.EncodeImm16(op, in.regs[0], uint16(v)))
		}
	case vm.ShapeAddr24, vm.ShapeImm24, vm.ShapeData24:
		v := in.imm
		if in.ref != noRef {
			want := SymbolCode
			if info.Shape == vm.ShapeData24 {
				want = SymbolData
			}
			val, ok := a.resolve(in, info, want, false)
			if !ok {
				return code
			}
			v = uint32(val)
		}
		emit(vm.EncodeImm24(op, v))
	}
	return code
}
