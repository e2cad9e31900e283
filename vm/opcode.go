package vm

import "strconv"

// Opcode is the first byte of every instruction.
//
// WARNING: ONLY APPEND. The numbers are part of the bytecode file format and
// are fixed (README "Instruction set"); new opcodes take numbers 65-99.
type Opcode uint8

const (
	OpLoad    Opcode = 0  // LOAD $a imm16: a = imm16 (zero-extended)
	OpAdd     Opcode = 1  // ADD $a $b $c: c = a + b
	OpSub     Opcode = 2  // SUB $a $b $c: c = a - b
	OpMul     Opcode = 3  // MUL $a $b $c: c = a * b
	OpDiv     Opcode = 4  // DIV $a $b $c: c = a / b, remainder = a % b
	OpHlt     Opcode = 5  // HLT: stop, exit code 0
	OpJmp     Opcode = 6  // JMP $a: pc = a
	OpJmpf    Opcode = 7  // JMPF $a: pc = this + a
	OpJmpb    Opcode = 8  // JMPB $a: pc = this - a
	OpEq      Opcode = 9  // EQ $a $b: flag = a == b
	OpNeq     Opcode = 10 // NEQ $a $b: flag = a != b
	OpGte     Opcode = 11 // GTE $a $b: flag = a >= b
	OpLte     Opcode = 12 // LTE $a $b: flag = a <= b
	OpLt      Opcode = 13 // LT $a $b: flag = a < b
	OpGt      Opcode = 14 // GT $a $b: flag = a > b
	OpJmpe    Opcode = 15 // JMPE $a: if flag, pc = a
	OpNop     Opcode = 16 // NOP
	OpAloc    Opcode = 17 // ALOC $a: grow the heap by a zero bytes
	OpInc     Opcode = 18 // INC $a: a = a + 1
	OpDec     Opcode = 19 // DEC $a: a = a - 1
	OpDjmpe   Opcode = 20 // DJMPE addr24: if flag, pc = addr24
	OpPrts    Opcode = 21 // PRTS imm24: print the NUL-terminated string at rodata[imm24]
	OpLoadF64 Opcode = 22 // LOADF64 $f imm16: f = float64(imm16)
	OpAddF64  Opcode = 23 // ADDF64 $f $g $h: h = f + g
	OpSubF64  Opcode = 24 // SUBF64 $f $g $h: h = f - g
	OpMulF64  Opcode = 25 // MULF64 $f $g $h: h = f * g
	OpDivF64  Opcode = 26 // DIVF64 $f $g $h: h = f / g (IEEE, no fault)
	OpEqF64   Opcode = 27 // EQF64 $f $g: flag = |f-g| < epsilon
	OpNeqF64  Opcode = 28 // NEQF64 $f $g: flag = !(|f-g| < epsilon)
	OpGtF64   Opcode = 29 // GTF64 $f $g: flag = f > g
	OpGteF64  Opcode = 30 // GTEF64 $f $g: flag = f >= g
	OpLtF64   Opcode = 31 // LTF64 $f $g: flag = f < g
	OpLteF64  Opcode = 32 // LTEF64 $f $g: flag = f <= g
	OpShl     Opcode = 33 // SHL $a [#n]: a <<= n mod 32 (byte 2; 0 means 16)
	OpShr     Opcode = 34 // SHR $a [#n]: a >>= n mod 32, arithmetic
	OpAnd     Opcode = 35 // AND $a $b $c: c = a & b
	OpOr      Opcode = 36 // OR $a $b $c: c = a | b
	OpXor     Opcode = 37 // XOR $a $b $c: c = a ^ b
	OpNot     Opcode = 38 // NOT $a $b: b = ^a
	OpLui     Opcode = 39 // LUI $a imm16: a = a<<16 | imm16
	OpCloop   Opcode = 40 // CLOOP imm24: loop counter = imm24
	OpLoop    Opcode = 41 // LOOP addr24: if counter != 0 { counter--; pc = addr24 }
	OpLoadm   Opcode = 42 // LOADM $a $b: b = int32 LE at heap[a:a+4]
	OpSetm    Opcode = 43 // SETM $a $b: heap[a:a+4] = b, LE
	OpPush    Opcode = 44 // PUSH $a
	OpPop     Opcode = 45 // POP $a (fault below the current frame)
	OpCall    Opcode = 46 // CALL addr24: push return address and frame base
	OpRet     Opcode = 47 // RET: unwind the frame, return
	OpMod     Opcode = 48 // MOD $a $b $c: c = a % b (sign of a), fault on b = 0
	OpDjmp    Opcode = 49 // DJMP addr24: pc = addr24
	OpDjmpne  Opcode = 50 // DJMPNE addr24: if !flag, pc = addr24
	OpMov     Opcode = 51 // MOV $a $b: b = a
	OpPrti    Opcode = 52 // PRTI $a: print a in decimal
	OpSelf    Opcode = 53 // SELF $a: a = this process's pid
	OpParent  Opcode = 54 // PARENT $a: a = the handle of the process that started this one
	OpNodes   Opcode = 55 // NODES $a: a = the number of cluster members
	OpSpawn   Opcode = 56 // SPAWN $a $b $c: start a process on member a at b; c = handle
	OpSend    Opcode = 57 // SEND $a $b: send b to handle a
	OpRecv    Opcode = 58 // RECV $a $b: wait for a message: a = value, b = sender
	OpRecvt   Opcode = 59 // RECVT $a $b $c: RECV, waiting at most c ms
	OpMonitor Opcode = 60 // MONITOR $a: ask for an exit notice of handle a
	OpItof    Opcode = 61 // ITOF $a $f: f = float64(a)
	OpFtoi    Opcode = 62 // FTOI $f $a: a = f truncated, saturated; NaN gives 0
	OpPrtf    Opcode = 63 // PRTF $f: print f, shortest form that reads back exactly
	OpRem     Opcode = 64 // REM $a: a = the remainder of the last DIV
	OpIgl     Opcode = 100
)

// Shape says which operands an instruction takes and where they sit in its
// three operand bytes. The assembler parses, the disassembler prints and
// Verify checks instructions by their shape, so adding an opcode means
// adding one row to the table below.
type Shape uint8

const (
	ShapeNone   Shape = iota // no operands; bytes 1-3 zero
	ShapeR                   // $a in byte 1
	ShapeRR                  // $a $b in bytes 1, 2
	ShapeRRR                 // $a $b $c in bytes 1, 2, 3
	ShapeRImm16              // $a in byte 1, imm16 in bytes 2-3
	ShapeRShift              // $a in byte 1, optional #n in byte 2 (0 means 16)
	ShapeAddr24              // code address in bytes 1-3, checked by Verify
	ShapeImm24               // unsigned 24-bit value in bytes 1-3
)

// NumOperands is how many operands an assembly line of this shape takes at
// most; ShapeRShift's second operand is optional.
func (s Shape) NumOperands() int {
	switch s {
	case ShapeR, ShapeAddr24, ShapeImm24:
		return 1
	case ShapeRR, ShapeRImm16, ShapeRShift:
		return 2
	case ShapeRRR:
		return 3
	}
	return 0
}

// Info describes one opcode.
type Info struct {
	Name  string // upper-case mnemonic, as in the README
	Shape Shape
	Float bool   // register operands name float registers
	Doc   string // one line, for !help and the README
}

// opInfo is indexed by opcode; an entry with an empty Name is not an opcode.
var opInfo = [256]Info{
	OpLoad:    {"LOAD", ShapeRImm16, false, "a = imm16 (zero-extended)"},
	OpAdd:     {"ADD", ShapeRRR, false, "c = a + b"},
	OpSub:     {"SUB", ShapeRRR, false, "c = a - b"},
	OpMul:     {"MUL", ShapeRRR, false, "c = a * b"},
	OpDiv:     {"DIV", ShapeRRR, false, "c = a / b (truncated), remainder = a % b"},
	OpHlt:     {"HLT", ShapeNone, false, "stop, exit code 0"},
	OpJmp:     {"JMP", ShapeR, false, "pc = a"},
	OpJmpf:    {"JMPF", ShapeR, false, "pc = address of this JMPF + a"},
	OpJmpb:    {"JMPB", ShapeR, false, "pc = address of this JMPB - a"},
	OpEq:      {"EQ", ShapeRR, false, "flag = a == b"},
	OpNeq:     {"NEQ", ShapeRR, false, "flag = a != b"},
	OpGte:     {"GTE", ShapeRR, false, "flag = a >= b"},
	OpLte:     {"LTE", ShapeRR, false, "flag = a <= b"},
	OpLt:      {"LT", ShapeRR, false, "flag = a < b"},
	OpGt:      {"GT", ShapeRR, false, "flag = a > b"},
	OpJmpe:    {"JMPE", ShapeR, false, "if flag: pc = a"},
	OpNop:     {"NOP", ShapeNone, false, "nothing"},
	OpAloc:    {"ALOC", ShapeR, false, "grow the heap by a bytes (zero-filled)"},
	OpInc:     {"INC", ShapeR, false, "a = a + 1"},
	OpDec:     {"DEC", ShapeR, false, "a = a - 1"},
	OpDjmpe:   {"DJMPE", ShapeAddr24, false, "if flag: pc = addr24"},
	OpPrts:    {"PRTS", ShapeImm24, false, "print the NUL-terminated string at read-only offset imm24"},
	OpLoadF64: {"LOADF64", ShapeRImm16, true, "f = float64(imm16)"},
	OpAddF64:  {"ADDF64", ShapeRRR, true, "h = f + g"},
	OpSubF64:  {"SUBF64", ShapeRRR, true, "h = f - g"},
	OpMulF64:  {"MULF64", ShapeRRR, true, "h = f * g"},
	OpDivF64:  {"DIVF64", ShapeRRR, true, "h = f / g (IEEE, no fault on /0)"},
	OpEqF64:   {"EQF64", ShapeRR, true, "flag = abs(f-g) < machine epsilon"},
	OpNeqF64:  {"NEQF64", ShapeRR, true, "flag = not EQF64"},
	OpGtF64:   {"GTF64", ShapeRR, true, "flag = f > g"},
	OpGteF64:  {"GTEF64", ShapeRR, true, "flag = f >= g"},
	OpLtF64:   {"LTF64", ShapeRR, true, "flag = f < g"},
	OpLteF64:  {"LTEF64", ShapeRR, true, "flag = f <= g"},
	OpShl:     {"SHL", ShapeRShift, false, "a = a << (n mod 32); n omitted means 16"},
	OpShr:     {"SHR", ShapeRShift, false, "a = a >> (n mod 32), arithmetic; n omitted means 16"},
	OpAnd:     {"AND", ShapeRRR, false, "c = a & b"},
	OpOr:      {"OR", ShapeRRR, false, "c = a | b"},
	OpXor:     {"XOR", ShapeRRR, false, "c = a ^ b"},
	OpNot:     {"NOT", ShapeRR, false, "b = ^a"},
	OpLui:     {"LUI", ShapeRImm16, false, "a = (a << 16) | imm16"},
	OpCloop:   {"CLOOP", ShapeImm24, false, "loop counter = imm24"},
	OpLoop:    {"LOOP", ShapeAddr24, false, "if loop counter != 0: counter -= 1, pc = addr24"},
	OpLoadm:   {"LOADM", ShapeRR, false, "b = int32 little-endian at heap[a .. a+4]"},
	OpSetm:    {"SETM", ShapeRR, false, "heap[a .. a+4] = b, little-endian"},
	OpPush:    {"PUSH", ShapeR, false, "push a"},
	OpPop:     {"POP", ShapeR, false, "a = pop (fault below the current frame)"},
	OpCall:    {"CALL", ShapeAddr24, false, "push return address and frame base, pc = addr24"},
	OpRet:     {"RET", ShapeNone, false, "drop the callee's stack, restore the frame, return"},
	OpMod:     {"MOD", ShapeRRR, false, "c = a % b (sign of a), fault on b = 0"},
	OpDjmp:    {"DJMP", ShapeAddr24, false, "pc = addr24"},
	OpDjmpne:  {"DJMPNE", ShapeAddr24, false, "if not flag: pc = addr24"},
	OpMov:     {"MOV", ShapeRR, false, "b = a"},
	OpPrti:    {"PRTI", ShapeR, false, "print a in decimal"},
	OpSelf:    {"SELF", ShapeR, false, "a = this process's pid"},
	OpParent:  {"PARENT", ShapeR, false, "a = the handle of the process that started this one (0: none)"},
	OpNodes:   {"NODES", ShapeR, false, "a = the number of cluster members, this node included"},
	OpSpawn:   {"SPAWN", ShapeRRR, false, "start this program at b on member a with a copy of the registers; c = handle, flag = started"},
	OpSend:    {"SEND", ShapeRR, false, "send the value b to handle a (never blocks, never faults)"},
	OpRecv:    {"RECV", ShapeRR, false, "wait for a message: a = value, b = sender, flag = it is an exit notice"},
	OpRecvt:   {"RECVT", ShapeRRR, false, "RECV waiting at most c ms; if none came, b = 0, flag clear"},
	OpMonitor: {"MONITOR", ShapeR, false, "ask for an exit notice when process a ends"},
	OpItof:    {"ITOF", ShapeRR, false, "float $b = float64(integer $a)"},
	OpFtoi:    {"FTOI", ShapeRR, false, "integer $b = float $a truncated, saturated; NaN gives 0"},
	OpPrtf:    {"PRTF", ShapeR, true, "print float a, shortest form that reads back exactly"},
	OpRem:     {"REM", ShapeR, false, "a = the remainder of the last DIV"},
	OpIgl:     {"IGL", ShapeNone, false, "fault: illegal instruction"},
}

// Valid reports whether op is an opcode of the instruction set.
func (op Opcode) Valid() bool { return opInfo[op].Name != "" }

// Info returns the table row of op; ok is false for an unknown opcode.
func (op Opcode) Info() (info Info, ok bool) {
	info = opInfo[op]
	return info, info.Name != ""
}

// String is the mnemonic, or "opcode N" for an unknown opcode.
func (op Opcode) String() string {
	if name := opInfo[op].Name; name != "" {
		return name
	}
	return "opcode " + strconv.Itoa(int(op))
}

// byName maps an upper-case mnemonic to its opcode; built from opInfo so the
// table stays the single source.
var byName = func() map[string]Opcode {
	m := make(map[string]Opcode)
	for i, info := range opInfo {
		if info.Name != "" {
			m[info.Name] = Opcode(i)
		}
	}
	return m
}()

// Lookup finds the opcode for an upper-case mnemonic.
func Lookup(name string) (Opcode, bool) {
	op, ok := byName[name]
	return op, ok
}

// Opcodes lists every opcode of the instruction set in numeric order.
func Opcodes() []Opcode {
	ops := make([]Opcode, 0, len(byName))
	for i, info := range opInfo {
		if info.Name != "" {
			ops = append(ops, Opcode(i))
		}
	}
	return ops
}
