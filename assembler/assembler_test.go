package assembler

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
	"github.com/iridium-go/iridium/vm"
)

// code concatenates encoded instructions.
func code(ins ...[vm.InstructionSize]byte) []byte {
	var b []byte
	for _, in := range ins {
		b = append(b, in[:]...)
	}
	return b
}

func enc(op vm.Opcode, a, b, c uint8) [4]byte { return vm.Encode(op, a, b, c) }

func mustAssemble(t *testing.T, src string) *vm.Program {
	t.Helper()
	p, err := Assemble(src)
	if err != nil {
		t.Fatalf("Assemble(%q): %v", src, err)
	}
	return p
}

func TestInstructionShapes(t *testing.T) {
	tests := []struct {
		name, src string
		want      []byte
	}{
		{"none", "hlt", code(enc(vm.OpHlt, 0, 0, 0))},
		{"none igl", "IGL", code(enc(vm.OpIgl, 0, 0, 0))},
		{"R", "inc $31", code(enc(vm.OpInc, 31, 0, 0))},
		{"R jmp", "jmp $4", code(enc(vm.OpJmp, 4, 0, 0))},
		{"RR", "eq $1 $2", code(enc(vm.OpEq, 1, 2, 0))},
		{"RR float", "eqf64 $30 $31", code(enc(vm.OpEqF64, 30, 31, 0))},
		{"RRR", "add $1 $2 $3", code(enc(vm.OpAdd, 1, 2, 3))},
		{"RRR float", "DivF64 $0 $1 $2", code(enc(vm.OpDivF64, 0, 1, 2))},
		{"RImm16 load", "load $3 #65535", code(vm.EncodeImm16(vm.OpLoad, 3, 65535))},
		{"RImm16 hex", "load $3 #0x1F", code(vm.EncodeImm16(vm.OpLoad, 3, 31))},
		{"RImm16 lui", "lui $3 #258", code(vm.EncodeImm16(vm.OpLui, 3, 258))},
		{"RImm16 loadf64", "loadf64 $9 #1000", code(vm.EncodeImm16(vm.OpLoadF64, 9, 1000))},
		{"RShift default", "shl $1", code(enc(vm.OpShl, 1, 0, 0))},
		{"RShift n", "shr $1 #3", code(enc(vm.OpShr, 1, 3, 0))},
		{"RShift 0 is 32", "shl $1 #0", code(enc(vm.OpShl, 1, 32, 0))},
		{"RShift 255", "shl $1 #255", code(enc(vm.OpShl, 1, 255, 0))},
		{"Addr24 number", "djmp #4", code(vm.EncodeImm24(vm.OpDjmp, 4))},
		{"Addr24 label", "nop\nx: djmpe @x", code(enc(vm.OpNop, 0, 0, 0), vm.EncodeImm24(vm.OpDjmpe, 4))},
		{"Addr24 forward", "djmpne @end\ncall @end\nend:", code(vm.EncodeImm24(vm.OpDjmpne, 8), vm.EncodeImm24(vm.OpCall, 8))},
		{"Imm24", "cloop #16777215", code(vm.EncodeImm24(vm.OpCloop, 0xFFFFFF))},
		{"Imm24 prts number", "prts #7", code(vm.EncodeImm24(vm.OpPrts, 7))},
		{".word", ".word #0xC8010203", []byte{0xC8, 1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustAssemble(t, tc.src)
			if !bytes.Equal(p.Code, tc.want) {
				t.Errorf("code = % x, want % x", p.Code, tc.want)
			}
		})
	}
}

// Every opcode of the table assembles from its lower-case and upper-case
// mnemonic.
func TestEveryOpcode(t *testing.T) {
	for _, op := range vm.Opcodes() {
		info, _ := op.Info()
		var ops []string
		for i := range info.Shape.NumOperands() {
			switch {
			case info.Shape == vm.ShapeAddr24 || info.Shape == vm.ShapeImm24 || info.Shape == vm.ShapeData24:
				ops = append(ops, "#0")
			case i == 1 && (info.Shape == vm.ShapeRImm16 || info.Shape == vm.ShapeRShift):
				ops = append(ops, "#1")
			default:
				ops = append(ops, "$1")
			}
		}
		for _, m := range []string{info.Name, strings.ToLower(info.Name)} {
			p := mustAssemble(t, m+" "+strings.Join(ops, " "))
			if len(p.Code) != 4 || vm.Opcode(p.Code[0]) != op {
				t.Errorf("%s: code % x", m, p.Code)
			}
		}
	}
}

func TestData(t *testing.T) {
	p := mustAssemble(t, `.data
a: .asciiz 'hi\n'
b: .integer #500
c: .integer #-2
d: .ascii 'x\x00\xFF'
.code
prts @a
prts @d
load $1 @b
load $2 @c`)
	wantRO := []byte{'h', 'i', '\n', 0, 0xF4, 0x01, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 'x', 0, 0xFF}
	if !bytes.Equal(p.ROData, wantRO) {
		t.Errorf("rodata = % x, want % x", p.ROData, wantRO)
	}
	want := code(vm.EncodeImm24(vm.OpPrts, 0), vm.EncodeImm24(vm.OpPrts, 12),
		vm.EncodeImm16(vm.OpLoad, 1, 4), vm.EncodeImm16(vm.OpLoad, 2, 8))
	if !bytes.Equal(p.Code, want) {
		t.Errorf("code = % x, want % x", p.Code, want)
	}
}

// Three small worked programs (a counting loop, a call, a division), against
// hand-encoded bytes.
func TestWorkedExamples(t *testing.T) {
	tests := []struct {
		name, src string
		want      []byte
	}{
		{"counting loop", "cloop #10\nload $1 #20\ntest: inc $1\nloop @test\nhlt", []byte{
			40, 0, 0, 10, // cloop #10
			0, 1, 0, 20, // load $1 #20
			18, 1, 0, 0, // inc $1
			41, 0, 0, 8, // loop @test (8)
			5, 0, 0, 0, // hlt
		}},
		{"call", "load $0 #400\ncall @f\nhlt\nf: load $0 #500\nret", []byte{
			0, 0, 1, 144, // load $0 #400
			46, 0, 0, 12, // call @f (12)
			5, 0, 0, 0, // hlt
			0, 0, 1, 244, // load $0 #500
			47, 0, 0, 0, // ret
		}},
		{"div", "load $0 #7\nload $1 #2\ndiv $0 $1 $2", []byte{
			0, 0, 0, 7,
			0, 1, 0, 2,
			4, 0, 1, 2,
		}},
		{"with sections", ".data\n.code\nhlt", []byte{5, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustAssemble(t, tc.src)
			if !bytes.Equal(p.Code, tc.want) || len(p.ROData) != 0 {
				t.Errorf("code = %v, rodata %v; want %v", p.Code, p.ROData, tc.want)
			}
			if err := vm.Verify(p); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestLoadWide(t *testing.T) {
	load := func(r uint8, v uint16) [4]byte { return vm.EncodeImm16(vm.OpLoad, r, v) }
	lui := func(r uint8, v uint16) [4]byte { return vm.EncodeImm16(vm.OpLui, r, v) }
	tests := []struct {
		name, src string
		want      []byte
	}{
		{"zero", "load $1 #0", code(load(1, 0))},
		{"max imm16", "load $1 #65535", code(load(1, 0xFFFF))},
		{"65536", "load $1 #65536", code(load(1, 1), lui(1, 0))},
		{"minus one", "load $1 #-1", code(load(1, 0xFFFF), lui(1, 0xFFFF))},
		{"minus five", "load $1 #-5", code(load(1, 0xFFFF), lui(1, 0xFFFB))},
		{"min int32", "load $1 #-2147483648", code(load(1, 0x8000), lui(1, 0))},
		{"max int32", "load $1 #0x7FFFFFFF", code(load(1, 0x7FFF), lui(1, 0xFFFF))},
		{"label after wide load", "load $1 #-5\nx: djmp @x", code(load(1, 0xFFFF), lui(1, 0xFFFB), vm.EncodeImm24(vm.OpDjmp, 8))},
		{"forward label after wide loads", "djmp @x\nload $1 #70000\nload $2 #-1\nx: hlt", code(
			vm.EncodeImm24(vm.OpDjmp, 20), load(1, 1), lui(1, 70000-65536), load(2, 0xFFFF), lui(2, 0xFFFF), enc(vm.OpHlt, 0, 0, 0))},
		{"load of a label", "load $1 @x\nnop\nx: hlt", code(load(1, 8), enc(vm.OpNop, 0, 0, 0), enc(vm.OpHlt, 0, 0, 0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustAssemble(t, tc.src)
			if !bytes.Equal(p.Code, tc.want) {
				t.Errorf("code = % x, want % x", p.Code, tc.want)
			}
		})
	}
}

// A LOAD of a label whose value needs more than 16 bits takes two
// instructions, which moves the labels after it: layout iterates.
func TestLoadLabelFixedPoint(t *testing.T) {
	var src strings.Builder
	src.WriteString("load $1 @far\nload $2 @mid\n")
	const pad = 16384 // 64 KiB of code
	for range pad {
		src.WriteString("nop\n")
	}
	src.WriteString("mid: nop\nload $3 @far\nfar: hlt\n")
	p, syms, err := AssembleFile(src.String())
	if err != nil {
		t.Fatal(err)
	}
	mid := 4*2 + 4*2 + pad*4 // two wide loads, then the nops
	far := mid + 4 + 4*2
	wantSyms := []Symbol{{"far", SymbolCode, far}, {"mid", SymbolCode, mid}}
	if !slices.Equal(syms, wantSyms) {
		t.Fatalf("symbols = %v, want %v", syms, wantSyms)
	}
	if len(p.Code) != far+4 {
		t.Fatalf("code length %d, want %d", len(p.Code), far+4)
	}
	check := func(at int, op vm.Opcode, imm uint16) {
		t.Helper()
		in := vm.Decode(p.Code[at:])
		if in.Op != op || in.Imm16() != imm {
			t.Errorf("at %d: %v %d, want %v %d", at, in.Op, in.Imm16(), op, imm)
		}
	}
	check(0, vm.OpLoad, uint16(far>>16))
	check(4, vm.OpLui, uint16(far))
	check(8, vm.OpLoad, uint16(mid>>16))
	check(12, vm.OpLui, uint16(mid))
	check(mid+4, vm.OpLoad, uint16(far>>16))
	check(mid+8, vm.OpLui, uint16(far))
	if err := vm.Verify(p); err != nil {
		t.Error(err)
	}
}

func TestCaseInsensitive(t *testing.T) {
	a := mustAssemble(t, ".DATA\nm: .ASCIIZ 'x'\n.Code\nPRTS @m\nLoad $1 #2\nhLT")
	b := mustAssemble(t, ".data\nm: .asciiz 'x'\n.code\nprts @m\nload $1 #2\nhlt")
	if !bytes.Equal(a.Code, b.Code) || !bytes.Equal(a.ROData, b.ROData) {
		t.Error("case changes the output")
	}
}

// TestGarbageHoldsItsPlace: garbage the lexer reports stands for the
// operand (or mnemonic) it spoils, and the rest of its line is checked; an
// operand count is not, since garbage may be one operand or several.
func TestGarbageHoldsItsPlace(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"an unknown mnemonic", "bad0 $1 #x", []string{`1:1: unknown mnemonic "bad0"`, "1:9: expected a number after '#'"}},
		{"an unknown mnemonic's bad register", "bad0 $1 $40 #x", []string{`1:1: unknown mnemonic "bad0"`, "1:9: register $40 out of range (0..31)", "1:13: expected a number after '#'"}},
		{"an instruction in .data with a bad register", ".data\nhlt $32", []string{"2:1: instruction HLT in the .data section", "2:5: register $32 out of range (0..31)"}},
		{"a bad register", "load $99 #x", []string{"1:6: register $99 out of range (0..31)", "1:10: expected a number after '#'"}},
		{"a wrong operand", "add #1 ~ $3", []string{"1:5: ADD operand 1 must be a register, got integer #1", "1:8: unexpected character '~'"}},
		{"a directive in the wrong section", ".asciiz #z", []string{"1:1: .asciiz outside the .data section", "1:9: expected a number after '#'"}},
		{"no count error", "nop ~ ~", []string{"1:5: unexpected character '~'", "1:7: unexpected character '~'"}},
		{"garbage inside a mnemonic is said once", "lo~ad $1 #2", []string{"1:3: unexpected character '~'"}},
		{"garbage inside a label is said once", "x~: nop", []string{"1:2: unexpected character '~'"}},
		{"a label before garbage is defined", "x: ~\ndjmp @x\ndjmp @y", []string{"1:4: unexpected character '~'", `3:6: undefined label "y"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Assemble(tc.src)
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown mnemonic", "  frob $1", `1:3: unknown mnemonic "frob"`},
		{"too few operands", "add $1 $2", "1:1: ADD takes 3 operands, got 2"},
		{"operands not apart", "add $1$2 $3", "1:7: no space before register $2"},
		{"operand on the mnemonic", "inc$1", "1:4: no space before register $1"},
		{"integer not apart", "load $1#5", "1:8: no space before integer #5"},
		{"too many operands", "hlt $1", "1:1: HLT takes no operands, got 1"},
		{"one operand", "inc", "1:1: INC takes 1 operand, got 0"},
		{"shift operands", "shl $1 #2 #3", "1:1: SHL takes 1 or 2 operands, got 3"},
		{"register wanted", "add $1 #2 $3", "1:8: ADD operand 2 must be a register, got integer #2"},
		{"integer wanted", "lui $1 $2", "1:8: LUI operand 2 must be an integer, got register $2"},
		{"label not allowed", "lui $1 @x\nx:", "1:8: LUI operand 2 must be an integer, got label reference @x"},
		{"string operand", "cloop 'x'", "1:7: CLOOP operand 1 must be an integer, got string 'x'"},
		{"prts register", "prts $1", "1:6: PRTS operand 1 must be an integer or a label, got register $1"},
		{"register out of range", "inc $32", "1:5: register $32 out of range (0..31)"},
		{"huge register", "inc $99999999999999999999", "1:5: register $99999999999999999999 out of range (0..31)"},
		{"imm16 out of range", "lui $1 #65536", "1:8: integer #65536 out of range for LUI (0..65535)"},
		{"imm16 negative", "loadf64 $1 #-1", "1:12: integer #-1 out of range for LOADF64 (0..65535)"},
		{"load out of range", "load $1 #2147483648", "1:9: integer #2147483648 out of range for LOAD (-2147483648..2147483647)"},
		{"int64 overflow", "load $1 #0x10000000000000000", "1:9: integer #0x10000000000000000 out of range for LOAD (-2147483648..2147483647)"},
		{"shift out of range", "shr $1 #256", "1:8: integer #256 out of range for SHR (0..255)"},
		{"addr24 out of range", "call #16777216", "1:6: integer #16777216 out of range for CALL (0x0000..0xffffff)"},
		{"prts offset out of range", "prts #-1", "1:6: integer #-1 out of range for PRTS (0x0000..0xffffff)"},
		{"cloop count out of range", "cloop #16777216", "1:7: integer #16777216 out of range for CLOOP (0..16777215)"},
		{"addr24 unaligned", "djmp #6", "1:6: DJMP target #6 is not a multiple of 4"},
		{"target past the end", "nop\ndjmp #12", "2:6: DJMP target #12 is past the end of the code (0x0008)"},
		{"call past the end", "call #0x10\nhlt", "1:6: CALL target #0x10 is past the end of the code (0x0008)"},
		{"loop past the end", "x: loop #1000", "1:9: LOOP target #1000 is past the end of the code (0x0004)"},
		{".integer out of range", ".data\n.integer #4294967295", "2:10: integer #4294967295 out of range for .integer (-2147483648..2147483647)"},
		{"undefined label", "djmp @nowhere", `1:6: undefined label "nowhere"`},
		{"undefined label in load", "load $1 @nowhere", `1:9: undefined label "nowhere"`},
		{"duplicate label", "x: nop\n  x: nop", `2:3: duplicate label "x" (first defined at 1:1)`},
		{"code label for prts", "x: prts @x", `1:9: PRTS needs a data label, "x" is a code label`},
		{"data label for call", ".data\nd: .asciiz ''\n.code\ncall @d", `4:6: CALL needs a code label, "d" is a data label`},
		{"unknown directive", ".bytes #1", "1:1: unknown directive .bytes"},
		{"data directive in code", "s: .asciiz 'x'", "1:4: .asciiz outside the .data section"},
		{"word in data", ".data\n.word #1", "2:1: .word outside the .code section"},
		{"instruction in data", ".data\nhlt", "2:1: instruction HLT in the .data section"},
		{"section operand", ".data #1", "1:7: .data takes no operands"},
		{"label on section", "x: .code", "1:1: a label cannot name the section directive .code"},
		{"directive operand count", ".data\n.asciiz", "2:1: .asciiz takes 1 operand, got 0"},
		{"directive operand kind", ".data\n.asciiz #1", "2:9: .asciiz operand must be a string, got integer #1"},
		{"unterminated string", ".data\n.asciiz 'abc", "2:9: unterminated string"},
		{"bad escape", ".data\n.asciiz 'a\\qb'", `2:11: unknown escape sequence "\q"`},
		{"data label at end", ".data\nmsg:", `2:1: data label "msg" has no data after it`},
		{"data label before code", ".data\nmsg:\n.code\nhlt", `2:1: data label "msg" has no data after it`},
		{"data label before another", ".data\na:\nb: .asciiz 'x'", `2:1: data label "a" has no data of its own: label "b" follows before any (write .ascii '' for data of no bytes)`},
		{"two labels", "a: b: nop", "1:4: only one label per line"},
		{"garbage after data label", ".data\nx: %", "2:4: unexpected character '%'"},
		{"no mnemonic", "$1 $2", "1:1: expected a mnemonic or directive, found register $1"},
		{"garbage", "nop ~", "1:5: unexpected character '~'"},
		{"comma", "eq $1, $2", "1:6: unexpected character ','"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Assemble(tc.src)
			if err == nil {
				t.Fatalf("no error, program %v", p)
			}
			if p != nil {
				t.Errorf("program %v with an error", p)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got %q\nwant %q", got, tc.want)
			}
			es := Errors(err)
			if len(es) != 1 || es[0].Error() != tc.want {
				t.Errorf("Errors() = %v", es)
			}
		})
	}
}

// One file with many errors: all are reported, in line and column order,
// one per line.
func TestManyErrors(t *testing.T) {
	src := `; a broken program
.data
msg: .asciiz 'unterminated
num: .integer #99999999999
     .wat
.code
start: load $1 @msg
    add $1 $2
    frob
    djmp @missing     ; undefined
start: hlt            ; duplicate
    inc $40 ; out of range
    shl $1 #1 #2 ? 
    prts @start
    prts 'x' $99      ; two errors
`
	want := []string{
		`3:14: unterminated string`,
		`4:15: integer #99999999999 out of range for .integer (-2147483648..2147483647)`,
		`5:6: unknown directive .wat`,
		`8:5: ADD takes 3 operands, got 2`,
		`9:5: unknown mnemonic "frob"`,
		`10:10: undefined label "missing"`,
		`11:1: duplicate label "start" (first defined at 7:1)`,
		`12:9: register $40 out of range (0..31)`,
		`13:18: unexpected character '?'`,
		`14:10: PRTS needs a data label, "start" is a code label`,
		`15:5: PRTS takes 1 operand, got 2`,
		`15:14: register $99 out of range (0..31)`,
	}
	_, err := Assemble(src)
	if err == nil {
		t.Fatal("no error")
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	var me *multierror.Error
	if !errors.As(err, &me) || len(me.Errors) != len(want) {
		t.Fatalf("not a multierror of %d: %#v", len(want), err)
	}
	var first Error
	if !errors.As(err, &first) || first.Pos != (Pos{3, 14}) {
		t.Errorf("errors.As first = %v", first)
	}
}

func TestNoErrorIsNil(t *testing.T) {
	for _, src := range []string{"", "\n\n", "; only a comment", ".data", ".code", "x:"} {
		p, err := Assemble(src)
		if err != nil || p == nil {
			t.Errorf("Assemble(%q) = %v, %v", src, p, err)
		}
	}
}

func TestSymbols(t *testing.T) {
	_, syms, err := AssembleFile(".data\nz: .asciiz 'ab'\ny: .integer #1\n.code\nnop\nb: nop\na:\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Symbol{{"a", SymbolCode, 8}, {"b", SymbolCode, 4}, {"y", SymbolData, 3}, {"z", SymbolData, 0}}
	if !slices.Equal(syms, want) {
		t.Errorf("symbols = %v, want %v", syms, want)
	}
	if SymbolCode.String() != "code" || SymbolData.String() != "data" {
		t.Error("SymbolKind.String")
	}
}

// A file's lines may end in LF, CR LF or, as classic Mac OS wrote them,
// CR alone: each assembles to the same program, and an error is on the
// line it is on. In a file that has line feeds, a CR is not a line end
// (in a string it is a byte of the string).
func TestLineEndings(t *testing.T) {
	const lines = ".data|s: .asciiz 'ab'|.code|load $1 #5|prts @s|hlt|"
	want, _, err := AssembleFile(strings.ReplaceAll(lines, "|", "\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, end string
	}{
		{"LF", "\n"},
		{"CR LF", "\r\n"},
		{"CR", "\r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := AssembleFile(strings.ReplaceAll(lines, "|", tc.end))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Code, want.Code) || !bytes.Equal(p.ROData, want.ROData) {
				t.Errorf("code %x data %q, want %x %q", p.Code, p.ROData, want.Code, want.ROData)
			}
			_, _, err = AssembleFile(strings.ReplaceAll("nop|inc|hlt", "|", tc.end))
			if want := "2:1: INC takes 1 operand, got 0"; err == nil || err.Error() != want {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
	p, _, err := AssembleFile(".data\ns: .asciiz 'a\rb'\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p.ROData, []byte("a\rb")) {
		t.Errorf("a CR in a string of a file with line feeds: data %q, want it kept", p.ROData)
	}
}
