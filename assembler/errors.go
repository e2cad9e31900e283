package assembler

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Pos is a position in assembly source. Line and Col count from 1. Col
// counts characters (Unicode code points, or single bytes of invalid UTF-8),
// not bytes, and a tab is one character.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

// Error is one assembly error at a position in the source.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats the error as "LINE:COL: message".
func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors returns the assembly errors inside err (as returned by Assemble and
// friends), in source order; nil if err holds none.
func Errors(err error) []Error {
	var out []Error
	var me *multierror.Error
	if errors.As(err, &me) {
		for _, e := range me.Errors {
			var ae Error
			if errors.As(e, &ae) {
				out = append(out, ae)
			}
		}
		return out
	}
	var ae Error
	if errors.As(err, &ae) {
		out = append(out, ae)
	}
	return out
}

// errorList collects errors during one assembly.
type errorList []Error

func (l *errorList) add(pos Pos, msg string) { *l = append(*l, Error{pos, msg}) }

// err sorts the errors by position (keeping the order of errors at the same
// position), drops exact duplicates and returns them as one
// *multierror.Error whose Error() is one "LINE:COL: message" per line, or
// nil when there are none.
func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	es := slices.Clone(l)
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	es = slices.Compact(es)
	me := &multierror.Error{ErrorFormat: formatErrors}
	for _, e := range es {
		me.Errors = append(me.Errors, e)
	}
	return me
}

func formatErrors(es []error) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
