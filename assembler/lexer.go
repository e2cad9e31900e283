package assembler

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iridium-go/iridium/internal/escape"
)

// Lexer splits assembly source into tokens, in the manner of go/scanner:
// call Next until it returns TokEOF. It runs synchronously (no goroutines).
// Errors are reported through the handler given to NewLexer and lexing goes
// on after them, so one pass finds every lexical error.
//
// Positions are LINE:COLUMN, both counted from 1; a column counts characters
// (runes), not bytes, so a tab or an 'é' is one column. A byte that is not
// valid UTF-8 counts as one column.
type Lexer struct {
	src     string
	off     int // byte offset of the next character
	line    int // position of src[off]
	col     int
	onError func(Pos, string)
}

// NewLexer returns a lexer over src. onError may be nil.
// A byte order mark (U+FEFF) first in src is skipped: some editors write
// one. Columns count from after it.
func NewLexer(src string, onError func(pos Pos, msg string)) *Lexer {
	l := &Lexer{src: src, line: 1, col: 1, onError: onError}
	if strings.HasPrefix(src, byteOrderMark) {
		l.off = len(byteOrderMark) // what some editors put first: not text
	}
	return l
}

// byteOrderMark is U+FEFF in UTF-8.
const byteOrderMark = "\ufeff"

func (l *Lexer) errorf(pos Pos, msg string) {
	if l.onError != nil {
		l.onError(pos, msg)
	}
}

func (l *Lexer) pos() Pos { return Pos{l.line, l.col} }

// peek returns the next character without consuming it; -1 at the end.
func (l *Lexer) peek() rune {
	if l.off >= len(l.src) {
		return -1
	}
	c := l.src[l.off]
	if c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return r
}

// next consumes one character and returns it; -1 at the end.
func (l *Lexer) next() rune {
	if l.off >= len(l.src) {
		return -1
	}
	r, w := rune(l.src[l.off]), 1
	if r >= utf8.RuneSelf {
		r, w = utf8.DecodeRuneInString(l.src[l.off:])
	}
	l.off += w
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return r
}

func isLetter(r rune) bool { return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
func isDigit(r rune) bool  { return '0' <= r && r <= '9' }
func isHex(r rune) bool    { return isDigit(r) || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F' }
func isWord(r rune) bool   { return isLetter(r) || isDigit(r) }

// isDelim reports whether r ends a run of garbage.
func isDelim(r rune) bool {
	return r == -1 || r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ';' || r == '\''
}

// word consumes letters, digits and underscores.
func (l *Lexer) word() {
	for isWord(l.peek()) {
		l.next()
	}
}

// Next returns the next token. After the end of input it keeps returning
// TokEOF.
func (l *Lexer) Next() Token {
	// Skip blanks and comments.
	for {
		switch r := l.peek(); {
		case r == ' ' || r == '\t' || r == '\r' || r == '\v' || r == '\f':
			l.next()
			continue
		case r == ';':
			for l.peek() != '\n' && l.peek() != -1 {
				l.next()
			}
			continue
		}
		break
	}
	start, pos := l.off, l.pos()
	tok := func(k TokenKind, value string) Token {
		return Token{Kind: k, Pos: pos, Text: l.src[start:l.off], Value: value}
	}
	r := l.next()
	switch {
	case r == -1:
		return Token{Kind: TokEOF, Pos: pos}
	case r == '\n':
		return tok(TokNewline, "")
	case isLetter(r):
		l.word()
		name := l.src[start:l.off]
		if l.peek() == ':' {
			l.next()
			return tok(TokLabel, name)
		}
		return tok(TokIdent, name)
	case r == '.':
		if !isLetter(l.peek()) {
			return l.garbage(start, pos, "expected a directive name after '.'")
		}
		l.word()
		return tok(TokDirective, l.src[start+1:l.off])
	case r == '@':
		if !isLetter(l.peek()) {
			return l.garbage(start, pos, "expected a label name after '@'")
		}
		l.word()
		return tok(TokLabelRef, l.src[start+1:l.off])
	case r == '$':
		if !isDigit(l.peek()) {
			return l.garbage(start, pos, "expected a register number after '$'")
		}
		l.word()
		digits := l.src[start+1 : l.off]
		for _, c := range digits {
			if !isDigit(c) {
				return l.garbage(start, pos, "bad register "+quote(l.src[start:l.off]))
			}
		}
		return tok(TokRegister, digits)
	case r == '#':
		if c := l.peek(); c == '-' || c == '+' {
			l.next()
		}
		if !isDigit(l.peek()) {
			return l.garbage(start, pos, "expected a number after '#'")
		}
		l.word()
		text := l.src[start+1 : l.off]
		if !validInteger(text) {
			return l.garbage(start, pos, "bad integer "+quote(l.src[start:l.off]))
		}
		return tok(TokInteger, text)
	case r == '\'':
		return l.str(start, pos)
	}
	return l.garbage(start, pos, "unexpected character "+quoteChar(l.src[start:l.off]))
}

// garbage reports msg at pos, skips to the next delimiter and returns the
// skipped text as TokIllegal.
func (l *Lexer) garbage(start int, pos Pos, msg string) Token {
	l.errorf(pos, msg)
	for !isDelim(l.peek()) {
		l.next()
	}
	return Token{Kind: TokIllegal, Pos: pos, Text: l.src[start:l.off]}
}

// validInteger checks [+-]digits or [+-]0x hexdigits.
func validInteger(s string) bool {
	_, digits, base := integerParts(s)
	digit := isDigit
	if base == 16 {
		digit = isHex
	}
	if digits == "" {
		return false
	}
	for _, c := range digits {
		if !digit(c) {
			return false
		}
	}
	return true
}

// integerParts splits an integer literal into its sign, its digits and
// their base (16 after 0x or 0X, else 10): the literal's form, stated once
// for the lexer, which checks it, and the assembler, which evaluates it.
func integerParts(s string) (neg bool, digits string, base int) {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return neg, s[2:], 16
	}
	return neg, s, 10
}

// str lexes a single-quoted string whose opening quote is consumed.
func (l *Lexer) str(start int, pos Pos) Token {
	rest := l.src[l.off:]
	if i := strings.IndexAny(rest, "'\\\n"); i >= 0 && rest[i] == '\'' {
		// No escapes: the value is the source text itself, not a copy.
		l.off += i + 1
		l.col += utf8.RuneCountInString(rest[:i]) + 1
		return Token{Kind: TokString, Pos: pos, Text: l.src[start:l.off], Value: rest[:i]}
	}
	var b strings.Builder
	if end := strings.IndexByte(rest, '\n'); end >= 0 {
		b.Grow(end) // the value is never longer than the rest of the line
	} else {
		b.Grow(len(rest))
	}
	for {
		escPos := l.pos()
		switch r := l.peek(); r {
		case -1, '\n':
			l.errorf(pos, "unterminated string")
			return Token{Kind: TokString, Pos: pos, Text: l.src[start:l.off], Value: b.String()}
		case '\'':
			l.next()
			return Token{Kind: TokString, Pos: pos, Text: l.src[start:l.off], Value: b.String()}
		case '\\':
			l.next()
			e := l.peek()
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\':
				b.WriteByte('\\')
			case '\'':
				b.WriteByte('\'')
			case '0':
				b.WriteByte(0)
			case 'x':
				l.next()
				var v byte
				for i := 0; i < 2; i++ {
					c := l.peek()
					if !isHex(c) {
						l.errorf(escPos, "bad escape sequence "+quote(l.src[l.off-2-i:l.off])+": \\x needs two hex digits")
						goto next
					}
					l.next()
					v = v<<4 | hexVal(c)
				}
				b.WriteByte(v)
				continue
			case -1, '\n':
				continue // reported as unterminated
			default:
				l.errorf(escPos, "unknown escape sequence "+quote("\\"+string(e)))
				from := l.off
				l.next()
				b.WriteString(l.src[from:l.off]) // keep the character
				continue
			}
			l.next()
		default:
			// Copy the raw bytes, valid UTF-8 or not.
			from := l.off
			l.next()
			b.WriteString(l.src[from:l.off])
		}
	next:
	}
}

func hexVal(c rune) byte {
	switch {
	case isDigit(c):
		return byte(c - '0')
	case 'a' <= c && c <= 'f':
		return byte(c - 'a' + 10)
	}
	return byte(c - 'A' + 10)
}

// quote puts s, clipped, in double quotes for an error message, escaping
// what would not print.
func quote(s string) string {
	s = escape.Clip(s)
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			b.WriteString(`\x` + hex2(s[i]))
		case r == '"':
			b.WriteString(`\"`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + hex2(byte(r)))
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	b.WriteByte('"')
	return b.String()
}

// quoteChar puts the one character c (a rune's bytes, or one invalid byte)
// in single quotes for an error message.
func quoteChar(c string) string {
	r, _ := utf8.DecodeRuneInString(c)
	switch {
	case len(c) == 1 && (r < 0x20 || r >= 0x7f):
		return "'\\x" + hex2(c[0]) + "'"
	case !unicode.IsPrint(r): // a character that shows as nothing, or as a space
		return fmt.Sprintf("%U", r)
	}
	return "'" + c + "'"
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}
