package assembler

import "strconv"

// TokenKind is the kind of a lexical token.
type TokenKind uint8

// Token kinds. TokIllegal is the zero value: the lexer returns it for text it
// could not make sense of, after reporting an error.
const (
	TokIllegal   TokenKind = iota // garbage; already reported as an error
	TokEOF                        // end of input
	TokNewline                    // end of a line
	TokLabel                      // label definition "name:"; Value is name
	TokIdent                      // mnemonic, e.g. "load"
	TokDirective                  // ".asciiz"; Value is "asciiz"
	TokRegister                   // "$3"; Value is "3"
	TokInteger                    // "#-0x1F"; Value is "-0x1F"
	TokLabelRef                   // "@name"; Value is name
	TokString                     // "'a\n'"; Value is the decoded bytes
)

var tokenNames = [...]string{
	TokIllegal:   "illegal",
	TokEOF:       "end of input",
	TokNewline:   "newline",
	TokLabel:     "label",
	TokIdent:     "mnemonic",
	TokDirective: "directive",
	TokRegister:  "register",
	TokInteger:   "integer",
	TokLabelRef:  "label reference",
	TokString:    "string",
}

// String names the kind in words, as error messages use it.
func (k TokenKind) String() string {
	if int(k) < len(tokenNames) {
		return tokenNames[k]
	}
	return "TokenKind(" + strconv.Itoa(int(k)) + ")"
}

// Token is one lexical token.
type Token struct {
	Kind  TokenKind
	Pos   Pos    // position of the token's first character
	Text  string // the token exactly as written in the source
	Value string // the meaningful part: name, digits, or decoded string bytes
}
