package assembler

import (
	"reflect"
	"testing"
)

type lexed struct {
	kind  TokenKind
	pos   string
	value string
}

func lexAll(src string) (toks []lexed, errs []string) {
	lx := NewLexer(src, func(p Pos, msg string) { errs = append(errs, Error{Pos: p, Msg: msg}.Error()) })
	for {
		t := lx.Next()
		toks = append(toks, lexed{t.Kind, t.Pos.String(), t.Value})
		if t.Kind == TokEOF {
			return toks, errs
		}
	}
}

func TestLexer(t *testing.T) {
	tests := []struct {
		name, input string
		want        []lexed
		errs        []string
	}{
		{"empty", "", []lexed{{TokEOF, "1:1", ""}}, nil},
		{"comment only", "  ; hi $1 'x\n", []lexed{{TokNewline, "1:13", ""}, {TokEOF, "2:1", ""}}, nil},
		{"instruction", "load $1 #20", []lexed{
			{TokIdent, "1:1", "load"}, {TokRegister, "1:6", "1"}, {TokInteger, "1:9", "20"}, {TokEOF, "1:12", ""}}, nil},
		{"label and ref", "test: loop @test ; back\n", []lexed{
			{TokLabel, "1:1", "test"}, {TokIdent, "1:7", "loop"}, {TokLabelRef, "1:12", "test"},
			{TokNewline, "1:24", ""}, {TokEOF, "2:1", ""}}, nil},
		{"directive and string", ".data\nmsg: .asciiz 'a\\n\\t\\\\\\'\\0\\x41'", []lexed{
			{TokDirective, "1:1", "data"}, {TokNewline, "1:6", ""},
			{TokLabel, "2:1", "msg"}, {TokDirective, "2:6", "asciiz"}, {TokString, "2:14", "a\n\t\\'\x00A"},
			{TokEOF, "2:31", ""}}, nil},
		{"integers", "#-5 #0x1F #+7 #0XaB", []lexed{
			{TokInteger, "1:1", "-5"}, {TokInteger, "1:5", "0x1F"}, {TokInteger, "1:11", "+7"},
			{TokInteger, "1:15", "0XaB"}, {TokEOF, "1:20", ""}}, nil},
		{"tabs and runes count one column", "\t'é'\tnop", []lexed{
			{TokString, "1:2", "é"}, {TokIdent, "1:6", "nop"}, {TokEOF, "1:9", ""}}, nil},
		{"a byte order mark first is skipped", "\ufeffnop", []lexed{
			{TokIdent, "1:1", "nop"}, {TokEOF, "1:4", ""}}, nil},
		{"a byte order mark elsewhere is garbage", "nop \ufeff", []lexed{
			{TokIdent, "1:1", "nop"}, {TokIllegal, "1:5", ""}, {TokEOF, "1:6", ""}},
			[]string{"1:5: unexpected character U+FEFF"}},
		{"a no-break space is named", "nop\u00a0", []lexed{
			{TokIdent, "1:1", "nop"}, {TokIllegal, "1:4", ""}, {TokEOF, "1:5", ""}},
			[]string{"1:4: unexpected character U+00A0"}},
		{"crlf", "nop\r\nhlt", []lexed{
			{TokIdent, "1:1", "nop"}, {TokNewline, "1:5", ""}, {TokIdent, "2:1", "hlt"}, {TokEOF, "2:4", ""}}, nil},
		{"garbage", "nop %%x $1", []lexed{
			{TokIdent, "1:1", "nop"}, {TokIllegal, "1:5", ""}, {TokRegister, "1:9", "1"}, {TokEOF, "1:11", ""}},
			[]string{"1:5: unexpected character '%'"}},
		{"bad register", "$x $1a $", []lexed{
			{TokIllegal, "1:1", ""}, {TokIllegal, "1:4", ""}, {TokIllegal, "1:8", ""}, {TokEOF, "1:9", ""}},
			[]string{"1:1: expected a register number after '$'", `1:4: bad register "$1a"`, "1:8: expected a register number after '$'"}},
		{"bad integer", "#x #12z #0x", []lexed{
			{TokIllegal, "1:1", ""}, {TokIllegal, "1:4", ""}, {TokIllegal, "1:9", ""}, {TokEOF, "1:12", ""}},
			[]string{"1:1: expected a number after '#'", `1:4: bad integer "#12z"`, `1:9: bad integer "#0x"`}},
		{"bad ref and directive", "@ . @1", []lexed{
			{TokIllegal, "1:1", ""}, {TokIllegal, "1:3", ""}, {TokIllegal, "1:5", ""}, {TokEOF, "1:7", ""}},
			[]string{"1:1: expected a label name after '@'", "1:3: expected a directive name after '.'", "1:5: expected a label name after '@'"}},
		{"unterminated string", "'abc\nnop", []lexed{
			{TokString, "1:1", "abc"}, {TokNewline, "1:5", ""}, {TokIdent, "2:1", "nop"}, {TokEOF, "2:4", ""}},
			[]string{"1:1: unterminated string"}},
		{"bad escapes", `'\q\x4g\x'`, []lexed{{TokString, "1:1", "qg"}, {TokEOF, "1:11", ""}},
			[]string{`1:2: unknown escape sequence "\q"`, `1:4: bad escape sequence "\x4": \x needs two hex digits`,
				`1:8: bad escape sequence "\x": \x needs two hex digits`}},
		{"invalid utf-8", "\xff nop", []lexed{{TokIllegal, "1:1", ""}, {TokIdent, "1:3", "nop"}, {TokEOF, "1:6", ""}},
			[]string{`1:1: unexpected character '\xff'`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := lexAll(tc.input)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tokens:\n got %v\nwant %v", got, tc.want)
			}
			if !reflect.DeepEqual(errs, tc.errs) {
				t.Errorf("errors:\n got %q\nwant %q", errs, tc.errs)
			}
		})
	}
}

func TestTokenKindString(t *testing.T) {
	if got := TokLabelRef.String(); got != "label reference" {
		t.Errorf("TokLabelRef = %q", got)
	}
	if got := TokenKind(200).String(); got != "TokenKind(200)" {
		t.Errorf("TokenKind(200) = %q", got)
	}
}
