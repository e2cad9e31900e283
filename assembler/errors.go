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
	err error // what it wraps, for errors.Is: ErrNotText, or nil
}

// Error formats the error as "LINE:COL: message".
func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the sentinel error e wraps (ErrNotText), or nil.
func (e Error) Unwrap() error { return e.err }

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

// maxErrors is how many errors one assembly collects; with the next one
// it records that it stops there, and stops (asm.interrupted). A file that
// is not assembly at all gives an error for every stretch of it, a few
// hundred bytes each: a 4 MB line of garbage kept 2 million of them (700
// MB) when every one was kept.
const maxErrors = 1000

// tooManyErrors is the message of the last error of a list that reached
// maxErrors.
const tooManyErrors = "too many errors: assembly stopped here"

func (l *errorList) add(pos Pos, msg string) {
	switch {
	case len(*l) < maxErrors:
		*l = append(*l, Error{Pos: pos, Msg: msg})
	case len(*l) == maxErrors:
		*l = append(*l, Error{Pos: pos, Msg: tooManyErrors})
	}
}

// full reports whether the list has reached maxErrors and assembly stops.
func (l errorList) full() bool { return len(l) > maxErrors }

// err sorts the errors by position (keeping the order of errors at the same
// position), drops exact duplicates and returns them as one
// *multierror.Error whose Error() is one "LINE:COL: message" per line (see
// formatErrors), or nil when there are none.
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

// maxShownErrors is how many errors the message of an error list shows.
// A file that is not assembly at all gives an error for every stretch of
// it, thousands of lines that bury the first few, which are the ones that
// say what is wrong; Errors returns them all (at most maxErrors and the
// one that says assembly stopped).
const maxShownErrors = 20

// FormatErrors writes errors (as Errors returns them) the way the message
// of an error list does, one per line, the first 20 of them and then
// "... and N more errors", with prefix before each error: a caller that
// names the file there gets FILE:LINE:COL: message, as compilers write it.
func FormatErrors(errs []Error, prefix string) string { return writeErrors(errs, prefix) }

// formatErrors is the ErrorFormat of an error list.
func formatErrors(es []error) string { return writeErrors(es, "") }

func writeErrors[E error](es []E, prefix string) string {
	// A list that reached maxErrors ends with the error saying where
	// assembly stopped: it is shown last, and the count of those left out
	// says that more were not even looked for.
	var stop []E
	if n := len(es); n > maxShownErrors && isStop(es[n-1]) {
		es, stop = es[:n-1], es[n-1:]
	}
	var b strings.Builder
	for i, e := range es[:min(len(es), maxShownErrors)] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix + e.Error())
	}
	if more := len(es) - maxShownErrors; more > 0 {
		atLeast := ""
		if len(stop) > 0 {
			atLeast = "at least "
		}
		b.WriteString("\n... and " + atLeast + plural(more, "more error"))
	}
	for _, e := range stop {
		b.WriteString("\n" + prefix + e.Error())
	}
	return b.String()
}

// isStop reports whether e is the error that ends a list at maxErrors.
func isStop(e error) bool {
	var a Error
	return errors.As(e, &a) && a.Msg == tooManyErrors
}
