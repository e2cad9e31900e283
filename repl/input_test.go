package repl

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestPlainReader(t *testing.T) {
	atLimit := strings.Repeat("x", maxLine)
	tests := []struct {
		name  string
		input string
		want  []string // the lines read; "ERR n" for line n refused as too long
	}{
		{"lines", "a\nb\n", []string{"a", "b"}},
		{"a last line with no ending", "a\nb", []string{"a", "b"}},
		{"CRLF", "a\r\nb\r\n", []string{"a", "b"}},
		{"empty lines count", "\n\nc\n", []string{"", "", "c"}},
		{"a line at the limit", atLimit + "\n" + "b\n", []string{atLimit, "b"}},
		{"a line at the limit, CRLF", atLimit + "\r\nb\n", []string{atLimit, "b"}},
		{"one byte over is skipped", "a\n" + atLimit + "y\nb\n", []string{"a", "ERR 2", "b"}},
		{"a 2 MB line is skipped", "a\n" + strings.Repeat("z", 2<<20) + "\nb\n", []string{"a", "ERR 2", "b"}},
		{"a long last line with no ending", "a\n" + strings.Repeat("z", 2<<20), []string{"a", "ERR 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlainReader(strings.NewReader(tc.input))
			var got []string
			for {
				line, err := p.ReadLine(askLine)
				var long *lineTooLongError
				if errors.As(err, &long) {
					line = fmt.Sprintf("ERR %d", long.line)
				} else if err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				got = append(got, line)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("read %.80q, want %.80q", got, tc.want)
			}
		})
	}
}
