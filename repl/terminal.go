package repl

import (
	"cmp"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/chzyer/readline"
)

// readlineReader adapts readline to lineReader.
type readlineReader struct {
	rl     *readline.Instance
	prompt string       // the REPL's prompt
	path   *atomic.Bool // shared with the completer: the line is a path
}

func (r readlineReader) ReadLine(a ask) (string, error) {
	prompt := r.prompt
	if a == askPath {
		prompt = pathPrompt
	}
	r.path.Store(a == askPath)
	r.rl.SetPrompt(prompt)
	return r.rl.Readline()
}

func (r readlineReader) Close() error { return r.rl.Close() }

// readlinePrompt is readline as the console's promptLine.
type readlinePrompt struct{ rl *readline.Instance }

func (p readlinePrompt) reading() bool  { return p.rl.Terminal.IsReading() }
func (p readlinePrompt) clean()         { p.rl.Clean() }
func (p readlinePrompt) write(b []byte) { p.rl.Write(b) }
func (p readlinePrompt) redraw()        { p.rl.Operation.SetBuffer("") }

// MinWidth is the narrowest terminal readline lays a line out for: the
// REPL tells it of a narrower terminal, or of one whose width is unknown
// (0, or -1 when it cannot be read), as MinWidth columns wide (a wider
// prompt than the default raises that), and a terminal that narrow shows
// the line garbled. readline cannot lay a line out on a terminal no wider
// than its prompt: moving the cursor back over a line loops for ever when
// the width divides the prompt's (1, 2 or 4 columns at ">>> ", 1, 2, 3 or
// 6 at "path: ", 0 at any prompt).
const MinWidth = 20

func (r *REPL) newReadline() (readlineReader, error) {
	path := new(atomic.Bool)
	in, ok := r.cfg.In.(io.ReadCloser)
	if !ok {
		in = io.NopCloser(r.cfg.In)
	}
	getWidth := r.cfg.GetWidth
	if getWidth == nil {
		getWidth = readline.GetScreenWidth
	}
	minWidth := MinWidth
	for _, p := range []string{r.cfg.Prompt, pathPrompt} {
		minWidth = max(minWidth, promptWidth(p)+1)
	}
	menu := menuCompleter{completer: completer{path: path}, column: new(atomic.Int64)}
	keys := &keyFilter{con: r.con, minWidth: minWidth, column: menu.column}
	// Config's terminal hooks are set for a terminal that is not the
	// process's own (an SSH client's).
	keys.foreign = r.cfg.IsTerminal != nil || r.cfg.GetWidth != nil || r.cfg.MakeRaw != nil || r.cfg.ExitRaw != nil
	rc := &readline.Config{
		Prompt: r.cfg.Prompt,
		// readline's history starts with its blank current line only when
		// it reads a file; without one, searching (Ctrl-R) then leaving the
		// search (Ctrl-G, an arrow) before the first line dereferences nil
		// and panics in readline's own goroutine, ending the process. An
		// empty file that keeps nothing gives memory-only history that line.
		HistoryFile:     cmp.Or(r.cfg.HistoryFile, os.DevNull),
		AutoComplete:    menu,
		InterruptPrompt: "^C",
		EOFPrompt:       "!quit",
		Stdin:           in,
		Stdout:          r.cfg.Out,
		Stderr:          r.cfg.Err,
		FuncIsTerminal:  r.cfg.IsTerminal,
		FuncGetWidth:    func() int { return max(getWidth(), minWidth) },
		FuncMakeRaw:     r.cfg.MakeRaw,
		FuncExitRaw:     r.cfg.ExitRaw,

		FuncOnWidthChanged:  r.cfg.OnWidthChanged,
		FuncFilterInputRune: keys.filter,
	}
	if r.cfg.HistoryFile != "" {
		if err := os.MkdirAll(filepath.Dir(r.cfg.HistoryFile), 0o700); err != nil {
			return readlineReader{}, err
		}
	}
	mode, err := keepHistoryPrivate(r.cfg.HistoryFile)
	if err != nil {
		return readlineReader{}, err
	}
	rl, err := readline.NewEx(rc)
	if err != nil {
		return readlineReader{}, err
	}
	keys.rl = rl
	if mode != 0 {
		// readline rewrites a history over its limit through a new file
		// of mode 0666 (less the umask): give it back the mode it had.
		os.Chmod(r.cfg.HistoryFile, mode)
	}
	return readlineReader{rl: rl, prompt: r.cfg.Prompt, path: path}, nil
}

// promptWidth is how many columns readline takes prompt to fill.
func promptWidth(prompt string) int {
	var rs readline.Runes
	return rs.WidthAll(rs.ColorFilter([]rune(prompt)))
}

// keyFilter sees every key readline reads before readline acts on it, on
// readline's goroutine, and may give readline another key in its place.
type keyFilter struct {
	rl       *readline.Instance // set before readline reads a key
	con      *console
	minWidth int           // the narrowest width readline is told of
	column   *atomic.Int64 // the width of a column of the completion menu
	foreign  bool          // the terminal is not the process's own
}

// filter is readline's FuncFilterInputRune.
func (k *keyFilter) filter(key rune) (rune, bool) {
	k.con.key()
	if key == readline.CharCtrlZ && k.foreign {
		// readline suspends the process for Ctrl-Z: it sends SIGTSTP to
		// the process and its parent, then waits until it sees the
		// process was stopped and resumed. Typed at a terminal that is not
		// the process's own, that stopped the whole node (and signalled
		// whatever started it), or, where the signal is ignored, held the
		// session in that wait for good. There it does nothing but ring.
		k.rl.Terminal.Bell()
		return readline.CharBell, true
	}
	return k.menuKey(key), true
}

// menuKey is the key readline is to act on for key in its completion
// menu. readline lays the menu out in rows of (width-1)/column candidates
// and divides by that number to move a row up or down (Up, Down, Ctrl-P,
// Ctrl-N) or to a row's ends (Home, End, Ctrl-A, Ctrl-E): a candidate too
// wide for a row of its own made that a division by zero, whose panic
// ended the process. The width is minWidth at least, so while a column
// fits in minWidth-1 those keys are safe; otherwise Up and Down move to
// the previous and next candidate, and Home and End leave the menu, as
// Ctrl-G does.
func (k *keyFilter) menuKey(key rune) rune {
	if !k.rl.Operation.IsInCompleteSelectMode() || k.column.Load() <= int64(k.minWidth-1) {
		return key
	}
	switch key {
	case readline.CharPrev:
		return readline.CharBackward
	case readline.CharNext:
		return readline.CharForward
	case readline.CharLineStart, readline.CharLineEnd:
		return readline.CharBell
	}
	return key
}

// keepHistoryPrivate creates the history file at path, if there is one to
// keep and it is missing, readable by its owner alone (readline would make
// it readable by all, and lines typed may hold secrets), and returns the
// mode the file should keep: its owner's choice for a file that exists.
func keepHistoryPrivate(path string) (os.FileMode, error) {
	if path == "" {
		return 0, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Mode().Perm(), nil
}

// completer completes command names at the start of a line and file paths
// after the commands that take one, or on the whole line at the path
// prompt. It reads the command table, so a new command completes without
// further work.
type completer struct {
	path *atomic.Bool // nil or false: the line is a command line
}

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	text := string(line[:pos])
	if c.path != nil && c.path.Load() {
		return completePath(text)
	}
	if !strings.HasPrefix(text, "!") {
		return nil, 0
	}
	name, arg, hasArg := strings.Cut(text, " ")
	if !hasArg {
		var out [][]rune
		for _, c := range commands {
			if strings.HasPrefix("!"+c.name, name) {
				out = append(out, []rune(strings.TrimPrefix("!"+c.name, name)+" "))
			}
		}
		return out, len([]rune(name))
	}
	if c, ok := lookupCommand(strings.TrimPrefix(name, "!")); ok && c.path {
		return completePath(strings.TrimLeft(arg, " "))
	}
	return nil, 0
}

// menuCompleter is completer as readline's AutoComplete. It notes the
// width of a column of readline's menu of the candidates it gave last
// (those readline shows, if it shows a menu): readline makes it the widest
// candidate, plus what of it was typed already, plus a space.
type menuCompleter struct {
	completer
	column *atomic.Int64
}

func (m menuCompleter) Do(line []rune, pos int) ([][]rune, int) {
	out, typed := m.completer.Do(line, pos)
	var rs readline.Runes
	widest := 0
	for _, c := range out {
		widest = max(widest, rs.WidthAll(c))
	}
	m.column.Store(int64(widest + typed + 1))
	return out, typed
}

// completePath offers the directory entries that extend prefix; a
// directory gets a trailing slash so completion can go on into it.
func completePath(prefix string) ([][]rune, int) {
	dir, base := filepath.Split(prefix)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	entries, err := os.ReadDir(readDir)
	if err != nil {
		return nil, 0
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), base) {
			continue
		}
		if strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		suffix := strings.TrimPrefix(e.Name(), base)
		if e.IsDir() {
			suffix += "/"
		} else {
			suffix += " "
		}
		names = append(names, suffix)
	}
	sort.Strings(names)
	out := make([][]rune, len(names))
	for i, n := range names {
		out[i] = []rune(n)
	}
	return out, len([]rune(base))
}
