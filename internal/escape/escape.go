// Package escape writes text that came from outside (what a user typed,
// quoted back in an error; a path; a name or message from another member)
// so that it can neither drive a terminal nor reorder what it shows:
// control and format characters are written as Go escapes (\x1b, \u202e),
// and so are bytes that are not UTF-8 (\xff). A tab stays a tab.
package escape

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s escaped.
func String(s string) string {
	if clean(s, false) {
		return s
	}
	return string(Append(make([]byte, 0, len(s)+8), s))
}

// Lines returns s escaped line by line: its newlines stay, so that a
// message of several lines still reads as lines.
func Lines(s string) string {
	if clean(s, true) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b = append(b, '\n')
		}
		b = Append(b, line)
	}
	return string(b)
}

// Append appends s escaped to b.
func Append(b []byte, s string) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[s[0]>>4], "0123456789abcdef"[s[0]&15])
		case needsEscape(r):
			q := strconv.QuoteRuneToASCII(r)
			b = append(b, q[1:len(q)-1]...)
		default:
			b = append(b, s[:size]...)
		}
		s = s[size:]
	}
	return b
}

func needsEscape(r rune) bool {
	return r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

// clean reports whether s needs no escape (newlines allowed if lines).
func clean(s string, lines bool) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if needsEscape(r) && !(lines && r == '\n') {
			return false
		}
	}
	return true
}

// MaxQuoted is how many characters of a word from outside an error
// message quotes, as the assembler quotes source: enough to tell what it
// names, and the message stays one short line whatever was typed.
const MaxQuoted = 40

// Clip is s, or its first MaxQuoted characters followed by how many it
// has ("xxxx... (5000 characters)").
func Clip(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= MaxQuoted {
		return s
	}
	end := 0
	for range MaxQuoted {
		_, w := utf8.DecodeRuneInString(s[end:])
		end += w
	}
	return s[:end] + "... (" + strconv.Itoa(n) + " characters)"
}
