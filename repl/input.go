package repl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// ask is what the REPL reads a line for. At a terminal each has its own
// prompt and its own tab completion; a script just gives the next line.
type ask int

const (
	askLine ask = iota // a command or assembly, at the REPL's prompt
	askPath            // the path !load_file or !spawn was given without
)

// pathPrompt asks for the path of !load_file or !spawn. It differs from the
// REPL's prompt so that nobody takes it for a place to type commands.
const pathPrompt = "path: "

// lineReader yields input lines without their line ending; io.EOF ends
// input. At a terminal, readline.ErrInterrupt (Ctrl-C at a prompt) is
// passed through.
type lineReader interface {
	ReadLine(a ask) (string, error)
}

// maxLine bounds one line of scripted input: long enough for a generated
// program on one line, short enough that a stream without line endings
// cannot take all memory.
const maxLine = 1 << 20

// lineTooLongError reports a scripted line longer than maxLine, which the
// reader skipped.
type lineTooLongError struct{ line int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than the limit of %d bytes (1 MiB); skipped", e.line, maxLine)
}

// plainReader reads lines from a pipe or file; a trailing "\r" is dropped
// with the "\n", and a last line may lack both.
type plainReader struct {
	r     *bufio.Reader
	lines int // lines read so far
}

func newPlainReader(in io.Reader) *plainReader {
	return &plainReader{r: bufio.NewReaderSize(in, 64<<10)}
}

// ReadLine returns the next line. A line longer than maxLine is read to its
// end without being kept and reported as a *lineTooLongError; the next call
// goes on with the line after it.
func (p *plainReader) ReadLine(ask) (string, error) {
	var line []byte
	long := false // the line is past the limit: the rest of it is skipped
	for {
		chunk, err := p.r.ReadSlice('\n')
		if !long {
			line = append(line, chunk...)
			if long = len(line) > maxLine+len("\r\n"); long {
				line = nil
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) == 0 && !long:
			return "", io.EOF
		case err != nil && err != io.EOF:
			return "", err
		}
		p.lines++
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if long || len(line) > maxLine {
			return "", &lineTooLongError{line: p.lines}
		}
		return string(line), nil
	}
}
