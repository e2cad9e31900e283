package escape

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, str, lines string
	}{
		{"plain text, a tab kept", "load $1\t#2 é", "load $1\t#2 é", "load $1\t#2 é"},
		{"an ESC sequence", "a\x1b[31mb", `a\x1b[31mb`, `a\x1b[31mb`},
		{"a carriage return and a NUL", "x\r\x00", `x\r\x00`, `x\r\x00`},
		{"a right-to-left override", "ab\u202ecd", `ab\u202ecd`, `ab\u202ecd`},
		{"bytes that are not UTF-8", "a\xff\xc3", `a\xff\xc3`, `a\xff\xc3`},
		{"U+FFFD itself is text", "a\uFFFDb", "a\uFFFDb", "a\uFFFDb"},
		{"newlines", "one\ntwo\x07\n", `one\ntwo\a\n`, "one\ntwo\\a\n"},
	}
	for _, tc := range tests {
		if got := String(tc.in); got != tc.str {
			t.Errorf("%s: String(%q) = %q, want %q", tc.name, tc.in, got, tc.str)
		}
		if got := Lines(tc.in); got != tc.lines {
			t.Errorf("%s: Lines(%q) = %q, want %q", tc.name, tc.in, got, tc.lines)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{strings.Repeat("a", 40), strings.Repeat("a", 40)},
		{strings.Repeat("a", 41), strings.Repeat("a", 40) + "... (41 characters)"},
		{strings.Repeat("é", 41), strings.Repeat("é", 40) + "... (41 characters)"}, // characters, not bytes
		{strings.Repeat("\xff", 50), strings.Repeat("\xff", 40) + "... (50 characters)"},
	}
	for _, tc := range tests {
		if got := Clip(tc.in); got != tc.want {
			t.Errorf("Clip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
