// Command genexec writes the VM's dispatch loop, exec_gen.go, from its
// source, _exec.go, and the fusion patterns below.
//
// _exec.go holds the loop with one case per instruction: each
// instruction's semantics is written there once. A superinstruction is a
// sequence of instructions that runs as one dispatch; genexec builds its
// case by running the bodies of its parts in order, moving ip and in to each
// part before it runs (each part keeps its own pre-decoded entry, so its
// operands are where they are when it runs alone). Nothing is hand-copied:
// fixing an instruction in _exec.go fixes every superinstruction it is part
// of.
//
// The blocks that end a taken jump, a call and a return (labels jump,
// call, ret and regjump in _exec.go) are copied into every goto that names
// them, so that each case goes on to the next dispatch by itself instead of
// through one shared block: fewer taken branches per instruction.
//
// A chain is a superinstruction that ends in a direct jump and, when the
// jump is taken, goes on with the two instructions at its target in the
// same dispatch (chainPatterns): its case is the jump's parts, with the
// jump block and the target's parts in place of the last part's goto jump.
//
// Some sequences have further cases in which each part takes the integer
// result of the part before from a Go local instead of the register file
// (handOnPatterns); predecode uses one where the operands name the
// registers that way.
//
// Every case of exec_gen.go that does not leave by a goto ends in an
// explicit continue, its parts' bodies in _exec.go falling off their end
// instead. The two mean the same, but the compiler builds them differently:
// cases that fall out of the switch meet in one block after it, which the
// register allocator fills with moves and the linker places away from the
// loop's head, so that every dispatch took two unconditional jumps; with
// continue every case jumps to the head's block directly (bench/README.md,
// "Every case continues the loop": hashmix ran in half the time).
//
// It also writes fuse_gen.go, the tables that map each sequence, each
// chain and each hand-on case to its case's opcode, which predecode
// consults.
//
// Run from package vm's directory (go generate does).
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// The classes of instructions that patterns are made of, by opcode name
// without the Op prefix.
var (
	// Straight-line instructions that read and write registers, the heap
	// or the stack: the bulk of any program.
	straight = []string{"Load", "Add", "Sub", "Mul", "Div", "Mod", "Rem", "Inc", "Dec", "Mov",
		"Shl", "Shr", "And", "Or", "Xor", "Not", "Loadm", "Setm", "Push", "Pop"}
	// The arithmetic that most straight-line code is made of. Rows are
	// cross products, so a row of three takes this smaller class: three
	// of straight would be about 5,000 cases.
	arithmetic = []string{"Load", "Add", "Sub", "Mul", "Mod", "Inc", "Dec", "Mov"}
	// What comes just before a call, a return or a jump: an argument or a
	// result computed, a register saved or restored.
	setup = []string{"Load", "Add", "Sub", "Mul", "Mod", "Inc", "Dec", "Mov", "Push", "Pop"}
	// A value shifted in place and combined with another (SHL and SHR
	// shift their own register, so x op (y << k) takes a copy first).
	shift   = []string{"Shl", "Shr"}
	combine = []string{"Add", "Sub", "And", "Or", "Xor"}
	// Comparisons and the branches that use their flag.
	compare      = []string{"Eq", "Neq", "Gte", "Lte", "Lt", "Gt"}
	floatCompare = []string{"EqF64", "NeqF64", "GtF64", "GteF64", "LtF64", "LteF64"}
	// Float arithmetic, constants included, and the four operations
	// alone: a row of three takes the smaller class, since constants are
	// loaded before a loop rather than inside it.
	floatArith = []string{"LoadF64", "AddF64", "SubF64", "MulF64", "DivF64"}
	floatOps   = []string{"AddF64", "SubF64", "MulF64", "DivF64"}
	branch     = []string{"Djmpe", "Djmpne", "Jmpe"}
	// Instructions that end a block: a call, a return, a jump, a loop.
	transfer = []string{"Call", "Ret", "Djmp", "Jmp", "Loop"}
	ret      = []string{"Ret"}
	// Saving and restoring registers, and shuffling them into place for a
	// call, come in runs.
	push = []string{"Push"}
	pop  = []string{"Pop"}
	mov  = []string{"Mov"}
	// Masks, logical shifts and table lookups (bitPatterns).
	and        = []string{"And"}
	shr        = []string{"Shr"}
	heapAccess = []string{"Loadm", "Setm"}
	// The direct jumps: their target is known when the code is loaded.
	djmp   = []string{"Djmp"}
	direct = []string{"Djmpe", "Djmpne"}
)

// patterns are the superinstructions: every sequence of opcodes that
// takes one opcode from each class of a row. At each instruction predecode
// uses the longest sequence that starts there.
var patterns = [][][]string{
	// A test that returns early with a result: the base case of a
	// recursive function.
	{compare, branch, setup, ret},
	{push, push, push, push},
	{pop, pop, pop, pop},
	{mov, mov, mov, mov},
	{push, push, push},
	{pop, pop, pop},
	{mov, shift, combine},
	{straight, compare, branch},
	{arithmetic, arithmetic, arithmetic},
	{setup, arithmetic, transfer},
	{compare, branch},
	{floatCompare, branch},
	{straight, transfer},
	{straight, straight},
}

// floatPatterns are the superinstructions of float code: an expression
// evaluated, a float compared and branched on. Their cases are numbered
// after those of patterns, so that float rows can change without moving
// any integer case (bench/README.md: where the loop's cases land moves
// its speed by several per cent).
var floatPatterns = [][][]string{
	{floatOps, floatOps, floatOps},
	{floatArith, floatCompare, branch},
	{floatArith, floatArith},
}

// bitPatterns are the superinstructions of code that works on bits,
// numbered after the float ones for the same reason. SHR shifts
// arithmetically, so a logical shift is SHR then AND with a mask, and its
// result is usually combined with another value; a table indexed by a
// masked value takes AND, a shift that makes the index a byte address,
// then LOADM or SETM (a CRC's or a hash's table, a power-of-two ring).
var bitPatterns = [][][]string{
	{and, shift, heapAccess},
	{shr, and, combine},
}

// floatLoopPatterns close float loops, numbered after the bit ones for
// the same reason: a counter moved, then a float compared and branched on
// (an iteration that stops when a value settles), and a float assigned
// just before a jump back (x = y at a while loop's end).
var floatLoopPatterns = [][][]string{
	{arithmetic, floatCompare, branch},
	{floatArith, transfer},
}

// chainPatterns are superinstructions that go on at their jump's target.
// The classes of a row but the last two are a sequence that ends in a
// direct jump; the last two are the instructions at its target. When the
// jump is taken, those run in the same dispatch, reading their operands from
// their own entries there. Predecode uses a chain where the instructions at
// the target are of the row's last classes (and the jump's sequence is the
// longest superinstruction at its place, or a lone DJMP). The rows: a jump
// back to a loop's test at its head (a while loop: the test at the top,
// an unconditional jump at the end, after a counter moved), and a test
// taken to another test (a range check, an else-if chain). The jump after
// a counter moved takes the arithmetic class, not all of straight: 240
// cases instead of 96 slowed call-heavy programs that run none of them
// by 3 % (bench/README.md, "Chains"). Numbered after all the other
// superinstructions.
var chainPatterns = [][][]string{
	{djmp, compare, direct},
	{arithmetic, djmp, compare, direct},
	{compare, direct, compare, direct},
	{floatCompare, direct, floatCompare, direct},
}

// chainTo is how many instructions a chain runs at its jump's target.
const chainTo = 2

// Within a superinstruction, a float instruction hands its result to the
// float operation or compare after it in a machine register: the next part
// takes it from there when it names the register just written, and from the
// register file otherwise (a branch the processor predicts, where a
// conditional move would wait for the load). The register file is written
// all the same. Through the register file alone, each step of a chain of
// float operations waits for a store and a load of the same word, which
// costs more than the operation; Newton's method and a sum of terms are
// such chains (bench/README.md, "Float results handed on"). Integer parts
// handing on the same way, with the test, ran slower on one machine: the
// test cost more than the store and load it saved. Integer results are
// handed on without a test instead, in cases predecode picks by the
// operands (handOnPatterns).
var (
	givesResult = floatArith
	takesResult = append(slices.Clone(floatOps), floatCompare...)
)

// handOn reports whether part from hands its result to part to.
func handOn(from, to string) bool {
	return slices.Contains(givesResult, from) && slices.Contains(takesResult, to)
}

// handsOn reports whether some part of seq hands its result on: its case
// then declares hv and hr.
func handsOn(seq []string) bool {
	for j := 1; j < len(seq); j++ {
		if handOn(seq[j-1], seq[j]) {
			return true
		}
	}
	return false
}

// floatResult matches the body of an instruction of givesResult: the
// pointer to the float registers, then one assignment to one of them.
var floatResult = regexp.MustCompile(`^fr := m\.fr\n\s*fr\[in\.([abc])&31\] = ([^\n]+)$`)

// giveResult makes the body of a float instruction leave its result in hv
// and the register it writes in hr as well.
func giveResult(name, text string) string {
	m := floatResult.FindStringSubmatch(text)
	if m == nil {
		log.Fatalf("_exec.go: the body of %s is not fr := m.fr and one assignment fr[in.X&31] = ...; it cannot hand its result on", name)
	}
	return fmt.Sprintf("fr := m.fr\nhv = %s\nhr = in.%s & 31\nfr[hr] = hv", m[2], m[1])
}

// operandWrite matches an assignment to register a or b, which takeResult
// would turn into an assignment to its local.
var operandWrite = regexp.MustCompile(`fr\[in\.[ab]&31\] *([-+*/]?=[^=]|\+\+|--)`)

// takeResult makes the body of a float operation or compare read its
// registers a and b through locals that hold hv when they name hr.
func takeResult(name, text string) string {
	const head = "fr := m.fr\n"
	if !strings.HasPrefix(text, head) {
		log.Fatalf("_exec.go: the body of %s does not start with fr := m.fr; it cannot take a result handed on", name)
	}
	rest, took := text[len(head):], head
	if m := operandWrite.FindString(rest); m != "" {
		log.Fatalf("_exec.go: the body of %s writes an operand (%s); it cannot take a result handed on", name, m)
	}
	for _, operand := range []string{"a", "b"} {
		reg := "fr[in." + operand + "&31]"
		if !strings.Contains(rest, reg) {
			continue
		}
		local := "f" + operand
		took += fmt.Sprintf("%s := hv\nif in.%s&31 != hr {\n%s = %s\n}\n", local, operand, local, reg)
		rest = strings.ReplaceAll(rest, reg, local)
	}
	return took + rest
}

// handOnPatterns are the rows whose sequences get a second case in which
// each part takes the integer result of the part before from a Go local,
// when its operand names the register that part wrote (predecode knows the
// operands, so the case has no test; handOns in fuse_gen.go maps a
// sequence and the operands that take to it). Through the register file,
// each link of such a chain is a store and a load of the same word, and
// the load waits for the store: x ^= x << 5, written MOV SHL XOR, is three
// of them in a row. The register file is written all the same. The rows:
// a copy shifted and combined, a logical shift combined, a masked value
// made a byte address and looked up (bench/README.md, "Integer results
// handed on"), and any two straight-line instructions. iv is only a
// shortcut: every part still writes its register, so a read that takes
// from the register file instead is right too, and a part that takes must
// read before it writes (checkTaker). Numbered after the chains.
var handOnPatterns = [][][]string{
	{mov, shift, combine},
	{shr, and, combine},
	{and, shift, heapAccess},
	{straight, straight},
}

// intResult matches the last statement of an instruction that can hand
// its integer result on: one assignment to one register.
var intResult = regexp.MustCompile(`^m\.regs\[in\.([abc])&31\] = (.+?)(\s*//.*)?$`)

// lastAssignment splits the body text into the lines before its last and,
// if that last line assigns one register, the operand naming it and the
// value assigned.
func lastAssignment(text string) (before []string, operand, value string, ok bool) {
	lines := strings.Split(text, "\n")
	m := intResult.FindStringSubmatch(strings.TrimSpace(lines[len(lines)-1]))
	if m == nil {
		return nil, "", "", false
	}
	return lines[:len(lines)-1], m[1], m[2], true
}

// resultOperand is the operand naming the register the body text writes as
// its last statement, or "" if it cannot hand a result on.
func resultOperand(text string) string {
	_, operand, _, _ := lastAssignment(text)
	return operand
}

// readOperands are the operands (a, b) whose registers the body text
// reads, in that order.
func readOperands(text string) []string {
	var ops []string
	for _, o := range []string{"a", "b"} {
		reg := "m.regs[in." + o + "&31]"
		for line := range strings.SplitSeq(text, "\n") {
			if strings.Contains(readSide(line, reg), reg) {
				ops = append(ops, o)
				break
			}
		}
	}
	return ops
}

// readSide is the part of a line of a body that reads reg: the whole line,
// or the right-hand side when the line assigns to reg.
func readSide(line, reg string) string {
	t := strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(t, reg); ok {
		if rhs, ok := strings.CutPrefix(strings.TrimSpace(rest), "= "); ok {
			return rhs
		}
		log.Fatalf("_exec.go: %q changes a register in place; write it as an assignment so the register can be handed on", t)
	}
	return line
}

// giveInt makes a body leave its result in iv as well as in the register
// it writes.
func giveInt(name, text string) string {
	before, operand, value, ok := lastAssignment(text)
	if !ok {
		log.Fatalf("_exec.go: the body of %s does not end in one assignment m.regs[in.X&31] = ...; it cannot hand its result on", name)
	}
	return strings.Join(append(before, fmt.Sprintf("iv = %s\nm.regs[in.%s&31] = iv", value, operand)), "\n")
}

// checkTaker fails unless the body of name writes registers only by
// assignments of one register with =, takes no register's address, and
// reads operand o's register before it writes any: then iv, the value the
// part before wrote, is that register's value wherever takeInt puts it.
func checkTaker(name, text, o string) {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+text+"\n}\n", 0)
	if err != nil {
		log.Fatalf("_exec.go: the body of %s: %v", name, err)
	}
	written := false
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, r := range n.Rhs {
				ast.Inspect(r, visit)
			}
			for _, l := range n.Lhs {
				if _, ok := register(l); !ok {
					ast.Inspect(l, visit)
					continue
				}
				if len(n.Lhs) != 1 || n.Tok != token.ASSIGN {
					log.Fatalf("_exec.go: the body of %s writes a register other than by one plain assignment; it cannot take a result handed on", name)
				}
				written = true
			}
			return false
		case *ast.IncDecStmt:
			if _, ok := register(n.X); ok {
				log.Fatalf("_exec.go: the body of %s changes a register with %s; write it as an assignment", name, n.Tok)
			}
		case *ast.UnaryExpr:
			if _, ok := register(n.X); ok && n.Op == token.AND {
				log.Fatalf("_exec.go: the body of %s takes a register's address; it cannot take a result handed on", name)
			}
		case ast.Expr:
			if op, ok := register(n); ok && op == o && written {
				log.Fatalf("_exec.go: the body of %s reads register %s after writing a register; it cannot take a result handed on", name, o)
			}
		}
		return true
	}
	ast.Inspect(f, visit)
}

// register reports which operand's register e is, if it is one:
// m.regs[in.X&31].
func register(e ast.Expr) (string, bool) {
	ix, ok := e.(*ast.IndexExpr)
	if !ok {
		return "", false
	}
	if sel, ok := ix.X.(*ast.SelectorExpr); !ok || sel.Sel.Name != "regs" {
		return "", false
	}
	if b, ok := ix.Index.(*ast.BinaryExpr); ok {
		if sel, ok := b.X.(*ast.SelectorExpr); ok {
			return sel.Sel.Name, true
		}
	}
	return "", true
}

// takeInt makes a body read operand o's register from iv.
func takeInt(name, text, o string) string {
	checkTaker(name, text, o)
	reg := "m.regs[in." + o + "&31]"
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		side := readSide(line, reg)
		lines[i] = strings.TrimSuffix(line, side) + strings.ReplaceAll(side, reg, "iv")
	}
	return strings.Join(lines, "\n")
}

// intHandOn is one case that hands integer results on: a sequence and, for
// each part after the first, the operand by which it takes the result of
// the part before ("" where it takes none).
type intHandOn struct {
	seq   []string
	takes []string
}

// expandHandOns lists, for every sequence of the rows, every way its parts
// can each take the result of the part before: a part that reads two
// registers can take either. Every pair that can link does: a pair in
// which the first part writes no register or the second reads none takes
// nothing, and a sequence in which no part takes is left out, but there is
// no case with a pair that could link and does not (predecode runs the
// plain case there).
func expandHandOns(bodies map[string]body, seqs [][]string, rows [][][]string) []intHandOn {
	fused := map[string]bool{}
	for _, seq := range seqs {
		fused[strings.Join(seq, " ")] = true
	}
	var out []intHandOn
	for _, row := range rows {
		for _, seq := range cross(bodies, row, -1, nil, map[string]bool{}) {
			if !fused[strings.Join(seq, " ")] {
				log.Fatalf("hand-on row sequence %v is no superinstruction: predecode would never use it", seq)
			}
			if bodies[seq[len(seq)-1]].leaves {
				log.Fatalf("hand-on row sequence %v ends in a jump: predecode makes chains of those", seq)
			}
			options := make([][]string, len(seq)-1)
			linked := false
			for j := range options {
				options[j] = []string{""}
				if resultOperand(bodies[seq[j]].text) != "" {
					if ops := readOperands(bodies[seq[j+1]].text); len(ops) > 0 {
						options[j], linked = ops, true
					}
				}
			}
			if !linked {
				continue
			}
			var walk func(j int, takes []string)
			walk = func(j int, takes []string) {
				if j == len(options) {
					out = append(out, intHandOn{seq: seq, takes: slices.Clone(takes)})
					return
				}
				for _, o := range options[j] {
					walk(j+1, append(takes, o))
				}
			}
			walk(0, nil)
		}
	}
	return out
}

// firstFused is the first opcode number of a superinstruction: the numbers
// below are the instruction set's (0-99), IGL (100) and opEnd (101).
const firstFused = 102

// maxParts is the length of the longest pattern.
const maxParts = 4

// inlined are the labels of the dispatch loop whose blocks are copied into
// the gotos that name them. They must be the loop's last blocks.
var inlined = []string{"call", "ret", "regjump", "jump"}

type body struct {
	text   string // the case's statements, as written
	leaves bool   // its last statement is a goto: nothing can follow it
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("genexec: ")
	src, err := os.ReadFile("_exec.go")
	if err != nil {
		log.Fatal(err)
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "_exec.go", src, parser.ParseComments)
	if err != nil {
		log.Fatal(err)
	}
	sw := dispatchSwitch(file)
	if sw == nil {
		log.Fatal("_exec.go: no switch in.op in func exec")
	}
	bodies := map[string]body{}
	var defaultAt token.Pos
	// Where each case of _exec.go that falls out of the switch ends: the
	// generated case continues the loop there.
	var fallsOut []int
	for _, s := range sw.Body.List {
		cc := s.(*ast.CaseClause)
		if cc.List == nil {
			defaultAt = cc.Pos()
			continue
		}
		if !endsInGoto(cc.Body) {
			end := cc.Colon + 1
			if n := len(cc.Body); n > 0 {
				end = cc.Body[n-1].End()
			}
			fallsOut = append(fallsOut, fset.Position(end).Offset)
		}
		name, ok := opName(cc)
		if !ok {
			continue
		}
		if err := checkBody(fset, name, cc.Body); err != nil {
			log.Fatal(err)
		}
		b := body{}
		if n := len(cc.Body); n > 0 {
			start := fset.Position(cc.Colon).Offset + 1
			b.text = strings.TrimSpace(string(src[start:fset.Position(cc.Body[n-1].End()).Offset]))
			b.leaves = endsInGoto(cc.Body)
		}
		bodies[name] = b
	}
	if defaultAt == token.NoPos {
		log.Fatal("_exec.go: the dispatch switch has no default case")
	}

	blocks, cutFrom, cutTo := labeledBlocks(fset, src, file)
	// A chain goes on after its jump instead of continuing the loop: the
	// jump block without its last statement.
	jumpOn, ok := strings.CutSuffix(blocks["jump"], "continue\n")
	if !ok {
		log.Fatal("_exec.go: the block of label jump does not end by continuing the loop")
	}

	seqs := expand(bodies, patterns, floatPatterns, bitPatterns, floatLoopPatterns)
	chains := expandChains(bodies, chainPatterns)
	var cases bytes.Buffer
	for i, seq := range seqs {
		fmt.Fprintf(&cases, "case %d: // %s\n", firstFused+i, strings.ToUpper(strings.Join(seq, " ")))
		writeParts(&cases, bodies, seq, false, "", nil)
	}
	for i, seq := range chains {
		from, to := seq[:len(seq)-chainTo], seq[len(seq)-chainTo:]
		fmt.Fprintf(&cases, "case %d: // %s, then at its target %s\n", firstFused+len(seqs)+i,
			strings.ToUpper(strings.Join(from, " ")), strings.ToUpper(strings.Join(to, " ")))
		// The jump's own goto jump, its last line, becomes the jump
		// block followed by the parts at the target.
		var onward bytes.Buffer
		onward.WriteString("{\n" + jumpOn)
		writeParts(&onward, bodies, to, true, "", nil)
		onward.WriteString("}")
		writeParts(&cases, bodies, from, false, onward.String(), nil)
	}
	handOns := expandHandOns(bodies, seqs, handOnPatterns)
	for i, h := range handOns {
		fmt.Fprintf(&cases, "case %d: // %s, each part taking the result before by %s\n", firstFused+len(seqs)+len(chains)+i,
			strings.ToUpper(strings.Join(h.seq, " ")), strings.Join(h.takes, ", "))
		writeParts(&cases, bodies, h.seq, false, "", h.takes)
	}

	at := fset.Position(defaultAt).Offset
	var head strings.Builder
	from := 0
	for _, to := range fallsOut {
		head.Write(src[from:to])
		head.WriteString("\ncontinue")
		from = to
	}
	head.Write(src[from:at])
	text := head.String() + cases.String() + "\n" + strings.TrimRight(string(src[at:cutFrom]), " \t\n") + "\n" + string(src[cutTo:])
	text = inlineGotos(text, blocks)
	text = strings.Replace(text, "//go:build ignore\n\n", "", 1)
	text = "// Code generated by genexec from _exec.go; DO NOT EDIT.\n\n" + text
	write("exec_gen.go", text)
	write("fuse_gen.go", table(bodies, seqs, chains, handOns))
}

// endsInGoto reports whether a case's last statement is a goto: nothing
// can follow it.
func endsInGoto(stmts []ast.Stmt) bool {
	if len(stmts) == 0 {
		return false
	}
	g, ok := stmts[len(stmts)-1].(*ast.BranchStmt)
	return ok && g.Tok == token.GOTO
}

// writeParts writes the statements of a superinstruction's case that run
// the parts of seq in order, each on its entry: the first at ip-1, where
// in points (or, if enter, at ip: in and ip are then moved to it first),
// the next ones after it. If onward is not empty, it replaces the last
// part's goto jump (its only one): the block that takes the jump and runs
// what follows it.
//
// If takes is not nil, takes[j-1] is the operand by which part j takes the
// result of part j-1 from iv ("" for none; see handOnPatterns).
func writeParts(w *bytes.Buffer, bodies map[string]body, seq []string, enter bool, onward string, takes []string) {
	// The parts are reached as an array at their first entry, with no
	// bounds check: the entries exist, since predecode fused them (exec's
	// comment has why every index the loop reads is an entry).
	const partsAt = "parts := (*[%d]inst)(unsafe.Add(code, uintptr(%s)*unsafe.Sizeof(inst{})))\n"
	switch {
	case enter:
		fmt.Fprintf(w, partsAt+"in = &parts[0]\nip++\n", len(seq), "ip")
	case len(seq) > 1:
		fmt.Fprintf(w, partsAt, len(seq), "ip-1")
	}
	if handsOn(seq) {
		w.WriteString("var hv float64 // the float the part before wrote\nvar hr uint8 // and its register\n")
	}
	if slices.ContainsFunc(takes, func(o string) bool { return o != "" }) {
		w.WriteString("var iv int32 // the integer the part before wrote\n")
	}
	for j, name := range seq {
		if j > 0 {
			fmt.Fprintf(w, "ip++\nin = &parts[%d]\n", j)
		}
		text := bodies[name].text
		if j < len(seq)-1 && handOn(name, seq[j+1]) {
			text = giveResult(name, text)
		}
		if j > 0 && handOn(seq[j-1], name) {
			// After giveResult: the reads it puts first see the
			// hv of the part before, not this part's.
			text = takeResult(name, text)
		}
		if j > 0 && takes != nil && takes[j-1] != "" {
			text = takeInt(name, text, takes[j-1])
		}
		if j < len(seq)-1 && takes != nil && takes[j] != "" {
			// After takeInt: the result may be computed from iv.
			text = giveInt(name, text)
		}
		if j == len(seq)-1 && onward != "" {
			if n := len(gotoJump.FindAllStringIndex(text, -1)); n != 1 {
				log.Fatalf("_exec.go: the body of %s has %d goto jump; a chain goes on from exactly one", name, n)
			}
			text = gotoJump.ReplaceAllLiteralString(text, onward)
		}
		if j < len(seq)-1 {
			fmt.Fprintf(w, "{\n%s\n}\n", text)
		} else {
			fmt.Fprintf(w, "%s\n", text)
			if !bodies[name].leaves {
				w.WriteString("continue\n")
			}
		}
	}
}

// gotoJump matches a line that takes a jump to a direct target.
var gotoJump = regexp.MustCompile(`(?m)^[ \t]*goto jump[ \t]*$`)

// labeledBlocks returns the statements of each inlined label of the
// dispatch loop as text, up to the next label; a block that does not end in
// a goto or continue goes on with the next block's statements, and the last
// with continue. A block's gotos to inlined labels are replaced by their
// blocks too, which are built first: they must come after it. cutFrom and
// cutTo are the offsets of all those blocks in src, which the generated
// loop leaves out.
func labeledBlocks(fset *token.FileSet, src []byte, file *ast.File) (blocks map[string]string, cutFrom, cutTo int) {
	loop := dispatchLoop(file)
	if loop == nil {
		log.Fatal("_exec.go: no for loop around the dispatch switch")
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	var order []string
	stmts := map[string][]ast.Stmt{}
	label := ""
	for _, st := range loop.Body.List {
		if ls, ok := st.(*ast.LabeledStmt); ok {
			label = ls.Label.Name
			if slices.Contains(inlined, label) {
				if order == nil {
					cutFrom = off(ls.Pos())
				}
				order = append(order, label)
			}
			st = ls.Stmt
		}
		if order == nil {
			continue
		}
		if !slices.Contains(inlined, label) {
			log.Fatalf("_exec.go: label %s follows an inlined label; the inlined ones must come last", label)
		}
		stmts[label] = append(stmts[label], st)
		cutTo = off(st.End())
	}
	if len(order) != len(inlined) {
		log.Fatalf("_exec.go: the loop has labels %v, want %v", order, inlined)
	}
	blocks = map[string]string{}
	for i := len(order) - 1; i >= 0; i-- {
		name := order[i]
		var b strings.Builder
		for _, st := range stmts[name] {
			b.Write(src[off(st.Pos()):off(st.End())])
			b.WriteString("\n")
		}
		last, _ := stmts[name][len(stmts[name])-1].(*ast.BranchStmt)
		switch {
		case last != nil && (last.Tok == token.GOTO || last.Tok == token.CONTINUE):
		case i == len(order)-1:
			b.WriteString("continue\n")
		default:
			b.WriteString(blocks[order[i+1]])
		}
		blocks[name] = inlineGotos(b.String(), blocks)
	}
	return blocks, cutFrom, cutTo
}

// gotoInlined matches a line that is a goto to an inlined label.
var gotoInlined = regexp.MustCompile(`(?m)^[ \t]*goto (` + strings.Join(inlined, "|") + `)[ \t]*$`)

// inlineGotos replaces every goto to an inlined label in text with that
// label's block, in braces.
func inlineGotos(text string, blocks map[string]string) string {
	return gotoInlined.ReplaceAllStringFunc(text, func(g string) string {
		name := gotoInlined.FindStringSubmatch(g)[1]
		b, ok := blocks[name]
		if !ok {
			log.Fatalf("_exec.go: an inlined block goes to %s, which comes before it", name)
		}
		return "{\n" + b + "}"
	})
}

// dispatchLoop finds the for loop in func exec that holds the dispatch
// switch.
func dispatchLoop(f *ast.File) *ast.ForStmt {
	sw := dispatchSwitch(f)
	var found *ast.ForStmt
	ast.Inspect(f, func(n ast.Node) bool {
		if fs, ok := n.(*ast.ForStmt); ok && found == nil && slices.Contains(fs.Body.List, ast.Stmt(sw)) {
			found = fs
		}
		return found == nil
	})
	return found
}

// dispatchSwitch finds the switch on in.op in func exec.
func dispatchSwitch(f *ast.File) *ast.SwitchStmt {
	var found *ast.SwitchStmt
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "exec" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if sw, ok := n.(*ast.SwitchStmt); ok && found == nil {
				if sel, ok := sw.Tag.(*ast.SelectorExpr); ok && sel.Sel.Name == "op" {
					found = sw
					return false
				}
			}
			return true
		})
	}
	return found
}

// opName is the opcode name (without Op) of a case written xop(OpName).
func opName(cc *ast.CaseClause) (string, bool) {
	if len(cc.List) != 1 {
		return "", false
	}
	call, ok := cc.List[0].(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return "", false
	}
	id, ok := call.Args[0].(*ast.Ident)
	if !ok || !strings.HasPrefix(id.Name, "Op") {
		return "", false
	}
	return strings.TrimPrefix(id.Name, "Op"), true
}

// checkBody enforces what lets a body run as a part: no break or continue,
// whose meaning would change inside a superinstruction, and no loop, since
// the copied block of an inlined label continues the dispatch loop and
// would continue the body's own loop instead.
func checkBody(fset *token.FileSet, name string, stmts []ast.Stmt) error {
	var err error
	for _, s := range stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			if err != nil {
				return false
			}
			switch n := n.(type) {
			case *ast.BranchStmt:
				if n.Tok == token.BREAK || n.Tok == token.CONTINUE {
					err = fmt.Errorf("%s: the body of %s uses %s; a body must fall off its end or goto a label",
						fset.Position(n.Pos()), name, n.Tok)
				}
			case *ast.ForStmt, *ast.RangeStmt:
				err = fmt.Errorf("%s: the body of %s has a loop; a body runs straight through",
					fset.Position(n.Pos()), name)
			}
			return true
		})
	}
	return err
}

// expand lists every opcode sequence of the tables of patterns, table by
// table and within a table longest patterns first, each sequence once
// (where a row of one table repeats a sequence, the first keeps it).
// Every part but the last must fall through.
func expand(bodies map[string]body, tables ...[][][]string) [][]string {
	var seqs [][]string
	seen := map[string]bool{}
	for _, patterns := range tables {
		for n := maxParts; n >= 2; n-- {
			for _, row := range patterns {
				if len(row) == n {
					seqs = cross(bodies, row, -1, seqs, seen)
				}
			}
		}
	}
	return seqs
}

// expandChains lists every opcode sequence of the rows of chainPatterns,
// each once: the jump's sequence, then the instructions at its target.
func expandChains(bodies map[string]body, rows [][][]string) [][]string {
	var seqs [][]string
	seen := map[string]bool{}
	for _, row := range rows {
		if n := len(row) - chainTo; n < 1 || n > maxParts {
			log.Fatalf("chain row of %d classes: its jump's sequence must have 1 to %d", len(row), maxParts)
		}
		seqs = cross(bodies, row, len(row)-chainTo-1, seqs, seen)
	}
	return seqs
}

// cross appends to seqs every sequence that takes one opcode from each
// class of row and is not in seen yet. Every part but the last and the
// one at jumpAt (-1: none) must fall through.
func cross(bodies map[string]body, row [][]string, jumpAt int, seqs [][]string, seen map[string]bool) [][]string {
	var walk func(j int, prefix []string)
	walk = func(j int, prefix []string) {
		if j == len(row) {
			key := strings.Join(prefix, " ")
			if !seen[key] {
				seen[key] = true
				seqs = append(seqs, slices.Clone(prefix))
			}
			return
		}
		for _, name := range row[j] {
			b, ok := bodies[name]
			if !ok {
				log.Fatalf("pattern names %s, which has no case in _exec.go", name)
			}
			if b.leaves && j < len(row)-1 && j != jumpAt {
				log.Fatalf("pattern puts %s, which always jumps, before another instruction", name)
			}
			walk(j+1, append(prefix, name))
		}
	}
	walk(0, nil)
	return seqs
}

// table is fuse_gen.go: the maps from each sequence to its opcode.
func table(bodies map[string]body, seqs, chains [][]string, handOns []intHandOn) string {
	var b bytes.Buffer
	b.WriteString("// Code generated by genexec from its patterns; DO NOT EDIT.\n\npackage vm\n\n")
	fmt.Fprintf(&b, "// maxParts is the length of the longest superinstruction.\nconst maxParts = %d\n\n", maxParts)
	fmt.Fprintf(&b, "// chainTo is how many instructions a chain runs at its jump's target.\nconst chainTo = %d\n\n", chainTo)
	b.WriteString("// superinstructions maps each fused sequence of opcodes, padded with\n")
	b.WriteString("// opNone, to the opcode of its case in exec.\n")
	b.WriteString("var superinstructions = map[[maxParts]Opcode]xop{\n")
	for i, seq := range seqs {
		fmt.Fprintf(&b, "{%s}: %d,\n", padded(seq, maxParts), firstFused+i)
	}
	b.WriteString("}\n\n")
	b.WriteString("// chains maps each chain, the jump's sequence padded with opNone to\n")
	b.WriteString("// maxParts and the opcodes at its target, to the opcode of its case.\n")
	b.WriteString("var chains = map[[maxParts + chainTo]Opcode]xop{\n")
	for i, seq := range chains {
		from, to := seq[:len(seq)-chainTo], seq[len(seq)-chainTo:]
		fmt.Fprintf(&b, "{%s, %s}: %d,\n", padded(from, maxParts), padded(to, chainTo), firstFused+len(seqs)+i)
	}
	b.WriteString("}\n\n")
	b.WriteString("// handOns maps a superinstruction, padded with opNone, and the operand\n")
	b.WriteString("// by which each part after the first takes the result of the part before\n")
	b.WriteString("// (0: none) to the opcode of its case that hands the results on.\n")
	b.WriteString("var handOns = map[uint64]xop{\n")
	gives, reads := map[string]string{}, map[string]string{}
	for i, h := range handOns {
		takes := make([]string, maxParts-1)
		for j := range takes {
			takes[j] = "0"
			if j < len(h.takes) && h.takes[j] != "" {
				takes[j] = "'" + h.takes[j] + "'"
				gives[h.seq[j]] = resultOperand(bodies[h.seq[j]].text)
				reads[h.seq[j+1]] = strings.Join(readOperands(bodies[h.seq[j+1]].text), "")
			}
		}
		fmt.Fprintf(&b, "handOnKey([maxParts]Opcode{%s}, [maxParts - 1]byte{%s}): %d,\n",
			padded(h.seq, maxParts), strings.Join(takes, ", "), firstFused+len(seqs)+len(chains)+i)
	}
	b.WriteString("}\n\n")
	opcodeArray(&b, "// resultOperands is, for each instruction that hands its result on in a\n// case of handOns, the operand that names the register it writes.\nvar resultOperands = [256]byte{\n", gives, "'%s'")
	b.WriteString("\n")
	opcodeArray(&b, "// takenOperands is, for each instruction that takes a result in a case\n// of handOns, the operands whose registers it reads.\nvar takenOperands = [256]string{\n", reads, "%q")
	return b.String()
}

// opcodeArray writes head, then one element Op<name>: value for each entry
// of values by name, the value in the format given, and the closing brace.
func opcodeArray(b *bytes.Buffer, head string, values map[string]string, format string) {
	b.WriteString(head)
	for _, name := range slices.Sorted(maps.Keys(values)) {
		fmt.Fprintf(b, "Op%s: "+format+",\n", name, values[name])
	}
	b.WriteString("}\n")
}

// padded is seq as a list of opcode names padded with opNone to n.
func padded(seq []string, n int) string {
	ops := make([]string, n)
	for j := range ops {
		ops[j] = "opNone"
		if j < len(seq) {
			ops[j] = "Op" + seq[j]
		}
	}
	return strings.Join(ops, ", ")
}

func write(name, text string) {
	out, err := format.Source([]byte(text))
	if err != nil {
		os.WriteFile(name+".broken", []byte(text), 0o644)
		log.Fatalf("%s: %v (unformatted output in %s.broken)", name, err, name)
	}
	if err := os.WriteFile(name, out, 0o644); err != nil {
		log.Fatal(err)
	}
}
