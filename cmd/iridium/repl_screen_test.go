package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// screenOf is what a terminal shows after it has been sent out, one string
// per row, trailing blanks dropped. It models as much of a VT100 as
// readline and the REPL send: text, CR, LF, BS, tab, and the CSI sequences
// that move the cursor (A, B, C, D) and erase (K, J); it ignores the rest.
// The screen does not scroll: rows grow downwards for ever.
func screenOf(out string) []string {
	var (
		rows     = [][]rune{nil}
		row, col int
	)
	put := func(r rune) {
		for len(rows[row]) <= col {
			rows[row] = append(rows[row], ' ')
		}
		rows[row][col] = r
		col++
	}
	runes := []rune(out)
	for i := 0; i < len(runes); i++ {
		switch r := runes[i]; r {
		case '\r':
			col = 0
		case '\n':
			row++
			for len(rows) <= row {
				rows = append(rows, nil)
			}
		case '\b':
			col = max(col-1, 0)
		case '\t':
			col = (col/8 + 1) * 8
		case '\a':
		case '\033':
			if i+1 >= len(runes) || runes[i+1] != '[' {
				i++ // a two-byte escape: nothing that draws
				continue
			}
			// CSI: parameters, then a final byte in '@'..'~'.
			j := i + 2
			for j < len(runes) && (runes[j] < '@' || runes[j] > '~') {
				j++
			}
			if j >= len(runes) {
				i = j
				continue
			}
			params := string(runes[i+2 : j])
			n, err := strconv.Atoi(params)
			if err != nil {
				n = 0
			}
			count := max(n, 1)
			switch runes[j] {
			case 'A':
				row = max(row-count, 0)
			case 'B':
				row += count
				for len(rows) <= row {
					rows = append(rows, nil)
				}
			case 'C':
				col += count
			case 'D':
				col = max(col-count, 0)
			case 'K':
				switch n {
				case 0: // to the end of the row
					rows[row] = rows[row][:min(col, len(rows[row]))]
				case 1: // to the cursor
					for k := 0; k <= col && k < len(rows[row]); k++ {
						rows[row][k] = ' '
					}
				case 2:
					rows[row] = nil
				}
			case 'J':
				if n == 0 { // to the end of the screen
					rows[row] = rows[row][:min(col, len(rows[row]))]
					rows = rows[:row+1]
				}
			}
			i = j
		default:
			put(r)
		}
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = strings.TrimRight(string(r), " ")
	}
	return lines
}

func TestScreenOf(t *testing.T) {
	tests := []struct {
		out  string
		want []string
	}{
		{"ab\r\ncd", []string{"ab", "cd"}},
		{">>> x\033[J\033[2K\r>>> xy", []string{">>> xy"}},
		{"42\033[J\033[2K\r>>> ", []string{">>>"}},
		{"abc\b\bX", []string{"aXc"}},
		{"one\r\ntwo\033[A\r\033[Kuno", []string{"uno", "two"}},
		{"abcdef\033[3D\033[K!", []string{"abc!"}},
	}
	for _, tc := range tests {
		if got := screenOf(tc.out); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("screenOf(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}

// showsScreen waits until the terminal's screen satisfies ok, and fails
// the test with the screen if it does not within the deadline.
func (term *terminal) showsScreen(what string, ok func(rows []string) bool) []string {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows := screenOf(term.output())
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen never showed %s; it shows:\n%s", what, strings.Join(rows, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// atEmptyPrompt waits until the screen's last row is an empty prompt.
// readline puts the terminal in raw mode before it draws a prompt; keys
// sent earlier reach the terminal in cooked mode, which echoes them and
// takes Ctrl-C and Ctrl-D for itself.
func (term *terminal) atEmptyPrompt(what string) {
	term.t.Helper()
	term.showsScreen(what, func(rows []string) bool {
		return slices.Equal(lastRows(rows, 1), []string{">>>"})
	})
}

// lastRows is the last n rows of the screen.
func lastRows(rows []string, n int) []string {
	return rows[max(len(rows)-n, 0):]
}
