package vm

import "strconv"

// Opcode is the first byte of every instruction. What each one does is
// written once, in its row of opInfo below (and in its body in _exec.go).
//
// WARNING: ONLY APPEND. The numbers are part of the bytecode file format and
// are fixed (README "Instruction set"); new opcodes take numbers 65-99.
type Opcode uint8

const (
	OpLoad    Opcode = 0
	OpAdd     Opcode = 1
	OpSub     Opcode = 2
	OpMul     Opcode = 3
	OpDiv     Opcode = 4
	OpHlt     Opcode = 5
	OpJmp     Opcode = 6
	OpJmpf    Opcode = 7
	OpJmpb    Opcode = 8
	OpEq      Opcode = 9
	OpNeq     Opcode = 10
	OpGte     Opcode = 11
	OpLte     Opcode = 12
	OpLt      Opcode = 13
	OpGt      Opcode = 14
	OpJmpe    Opcode = 15
	OpNop     Opcode = 16
	OpAloc    Opcode = 17
	OpInc     Opcode = 18
	OpDec     Opcode = 19
	OpDjmpe   Opcode = 20
	OpPrts    Opcode = 21
	OpLoadF64 Opcode = 22
	OpAddF64  Opcode = 23
	OpSubF64  Opcode = 24
	OpMulF64  Opcode = 25
	OpDivF64  Opcode = 26
	OpEqF64   Opcode = 27
	OpNeqF64  Opcode = 28
	OpGtF64   Opcode = 29
	OpGteF64  Opcode = 30
	OpLtF64   Opcode = 31
	OpLteF64  Opcode = 32
	OpShl     Opcode = 33
	OpShr     Opcode = 34
	OpAnd     Opcode = 35
	OpOr      Opcode = 36
	OpXor     Opcode = 37
	OpNot     Opcode = 38
	OpLui     Opcode = 39
	OpCloop   Opcode = 40
	OpLoop    Opcode = 41
	OpLoadm   Opcode = 42
	OpSetm    Opcode = 43
	OpPush    Opcode = 44
	OpPop     Opcode = 45
	OpCall    Opcode = 46
	OpRet     Opcode = 47
	OpMod     Opcode = 48
	OpDjmp    Opcode = 49
	OpDjmpne  Opcode = 50
	OpMov     Opcode = 51
	OpPrti    Opcode = 52
	OpSelf    Opcode = 53
	OpParent  Opcode = 54
	OpNodes   Opcode = 55
	OpSpawn   Opcode = 56
	OpSend    Opcode = 57
	OpRecv    Opcode = 58
	OpRecvt   Opcode = 59
	OpMonitor Opcode = 60
	OpItof    Opcode = 61
	OpFtoi    Opcode = 62
	OpPrtf    Opcode = 63
	OpRem     Opcode = 64
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
	ShapeData24              // read-only data offset in bytes 1-3 (a data label in assembly)
)

// NumOperands is how many operands an assembly line of this shape takes at
// most; ShapeRShift's second operand is optional.
func (s Shape) NumOperands() int {
	switch s {
	case ShapeR, ShapeAddr24, ShapeImm24, ShapeData24:
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
	Doc   string // one line, for !help and the README
}

// opInfo is indexed by opcode; an entry with an empty Name is not an opcode.
var opInfo = [256]Info{
	OpLoad:    {"LOAD", ShapeRImm16, "a = imm16 (zero-extended)"},
	OpAdd:     {"ADD", ShapeRRR, "c = a + b"},
	OpSub:     {"SUB", ShapeRRR, "c = a - b"},
	OpMul:     {"MUL", ShapeRRR, "c = a * b"},
	OpDiv:     {"DIV", ShapeRRR, "c = a / b (truncated), remainder = a % b"},
	OpHlt:     {"HLT", ShapeNone, "stop, exit code 0"},
	OpJmp:     {"JMP", ShapeR, "pc = a"},
	OpJmpf:    {"JMPF", ShapeR, "pc = address of this JMPF + a"},
	OpJmpb:    {"JMPB", ShapeR, "pc = address of this JMPB - a"},
	OpEq:      {"EQ", ShapeRR, "flag = a == b"},
	OpNeq:     {"NEQ", ShapeRR, "flag = a != b"},
	OpGte:     {"GTE", ShapeRR, "flag = a >= b"},
	OpLte:     {"LTE", ShapeRR, "flag = a <= b"},
	OpLt:      {"LT", ShapeRR, "flag = a < b"},
	OpGt:      {"GT", ShapeRR, "flag = a > b"},
	OpJmpe:    {"JMPE", ShapeR, "if flag: pc = a"},
	OpNop:     {"NOP", ShapeNone, "nothing"},
	OpAloc:    {"ALOC", ShapeR, "grow the heap by a bytes (zero-filled)"},
	OpInc:     {"INC", ShapeR, "a = a + 1"},
	OpDec:     {"DEC", ShapeR, "a = a - 1"},
	OpDjmpe:   {"DJMPE", ShapeAddr24, "if flag: pc = addr24"},
	OpPrts:    {"PRTS", ShapeData24, "print the NUL-terminated string at read-only offset imm24"},
	OpLoadF64: {"LOADF64", ShapeRImm16, "f = float64(imm16)"},
	OpAddF64:  {"ADDF64", ShapeRRR, "h = f + g"},
	OpSubF64:  {"SUBF64", ShapeRRR, "h = f - g"},
	OpMulF64:  {"MULF64", ShapeRRR, "h = f * g"},
	OpDivF64:  {"DIVF64", ShapeRRR, "h = f / g (IEEE, no fault on /0)"},
	OpEqF64:   {"EQF64", ShapeRR, "flag = abs(f-g) < machine epsilon"},
	OpNeqF64:  {"NEQF64", ShapeRR, "flag = not EQF64"},
	OpGtF64:   {"GTF64", ShapeRR, "flag = f > g"},
	OpGteF64:  {"GTEF64", ShapeRR, "flag = f >= g"},
	OpLtF64:   {"LTF64", ShapeRR, "flag = f < g"},
	OpLteF64:  {"LTEF64", ShapeRR, "flag = f <= g"},
	OpShl:     {"SHL", ShapeRShift, "a = a << (n mod 32); n omitted means 16"},
	OpShr:     {"SHR", ShapeRShift, "a = a >> (n mod 32), arithmetic; n omitted means 16"},
	OpAnd:     {"AND", ShapeRRR, "c = a & b"},
	OpOr:      {"OR", ShapeRRR, "c = a | b"},
	OpXor:     {"XOR", ShapeRRR, "c = a ^ b"},
	OpNot:     {"NOT", ShapeRR, "b = ^a"},
	OpLui:     {"LUI", ShapeRImm16, "a = (a << 16) | imm16"},
	OpCloop:   {"CLOOP", ShapeImm24, "loop counter = imm24"},
	OpLoop:    {"LOOP", ShapeAddr24, "if loop counter != 0: counter -= 1, pc = addr24"},
	OpLoadm:   {"LOADM", ShapeRR, "b = int32 little-endian at heap[a .. a+4]"},
	OpSetm:    {"SETM", ShapeRR, "heap[a .. a+4] = b, little-endian"},
	OpPush:    {"PUSH", ShapeR, "push a"},
	OpPop:     {"POP", ShapeR, "a = pop (fault below the current frame)"},
	OpCall:    {"CALL", ShapeAddr24, "push return address and frame base, pc = addr24"},
	OpRet:     {"RET", ShapeNone, "drop the callee's stack, restore the frame, return"},
	OpMod:     {"MOD", ShapeRRR, "c = a % b (sign of a), fault on b = 0"},
	OpDjmp:    {"DJMP", ShapeAddr24, "pc = addr24"},
	OpDjmpne:  {"DJMPNE", ShapeAddr24, "if not flag: pc = addr24"},
	OpMov:     {"MOV", ShapeRR, "b = a"},
	OpPrti:    {"PRTI", ShapeR, "print a in decimal"},
	OpSelf:    {"SELF", ShapeR, "a = this process's pid"},
	OpParent:  {"PARENT", ShapeR, "a = the handle of the process that started this one (0: none)"},
	OpNodes:   {"NODES", ShapeR, "a = the number of cluster members, this node included"},
	OpSpawn:   {"SPAWN", ShapeRRR, "start this program at b on member a with a copy of the registers; c = handle, flag = started"},
	OpSend:    {"SEND", ShapeRR, "send the value b to handle a (never blocks, never faults)"},
	OpRecv:    {"RECV", ShapeRR, "wait for a message: a = value, b = sender, flag = it is an exit notice"},
	OpRecvt:   {"RECVT", ShapeRRR, "RECV waiting at most c ms; if none came, b = 0, flag clear"},
	OpMonitor: {"MONITOR", ShapeR, "ask for an exit notice when process a ends"},
	OpItof:    {"ITOF", ShapeRR, "float $b = float64(integer $a)"},
	OpFtoi:    {"FTOI", ShapeRR, "integer $b = float $a truncated, saturated; NaN gives 0"},
	OpPrtf:    {"PRTF", ShapeR, "print float a, shortest form that reads back exactly"},
	OpRem:     {"REM", ShapeR, "a = the remainder of the last DIV"},
	OpIgl:     {"IGL", ShapeNone, "fault: illegal instruction"},
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

// Opcodes lists every opcode of the instruction set in numeric order.
func Opcodes() []Opcode {
	var ops []Opcode
	for i, info := range opInfo {
		if info.Name != "" {
			ops = append(ops, Opcode(i))
		}
	}
	return ops
}
