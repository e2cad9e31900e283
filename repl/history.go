package repl

// The history !history shows: the last maxHistoryLines lines of a session,
// and of those no more than maxHistoryBytes, so that a session fed long
// lines without end (a script, an SSH client) holds a bounded amount. The
// last line is always kept.
const (
	maxHistoryLines = 1000
	maxHistoryBytes = 4 << 20
)

// history is the lines a session ran, oldest first.
type history struct {
	lines []string
	bytes int
}

func (h *history) add(line string) {
	h.lines = append(h.lines, line)
	h.bytes += len(line)
	for len(h.lines) > 1 && (len(h.lines) > maxHistoryLines || h.bytes > maxHistoryBytes) {
		h.bytes -= len(h.lines[0])
		h.lines[0] = "" // the array may hold it until append moves it
		h.lines = h.lines[1:]
	}
}
