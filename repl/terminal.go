package repl

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"unicode/utf8"

	"github.com/chzyer/readline"

	"github.com/iridium-go/iridium/internal/escape"
)

// readlineReader adapts readline to lineReader.
type readlineReader struct {
	rl     *readline.Instance
	prompt string       // the REPL's prompt
	path   *atomic.Bool // shared with the completer: the line is a path
	keys   *keyFilter
}

// maxTerminalLine bounds a line typed at a terminal, in characters.
// readline draws the whole line again for every key, and to move the
// cursor back from the line's end it works the line's length times the
// rows it spans: with the cursor off the end, a key costs it n*n/width for
// a line of n characters, and typing the line n*n*n/(3*width). Measured
// over SSH: 4,096 characters typed one before the end of the line took
// 18 s of CPU on 80 columns (16,000 at the end, 20 s); 1,024 take 1 s on
// 20 columns, a few milliseconds for the slowest key. maxLine, which
// bounds a line of a script (1 MiB) so that a stream without line endings
// cannot take all memory, would take readline days.
const maxTerminalLine = 1024

// errTerminalLineTooLong reports a line at whose prompt keys were refused.
var errTerminalLineTooLong = fmt.Errorf("a line typed at a terminal holds at most %d characters: what was typed past them was refused, and the line was not run", maxTerminalLine)

// ReadLine reads the next line at the prompt for a. A line at whose prompt
// keys were refused (see keyFilter) is not returned: the user did not see
// it whole, and what was pasted past the limit, its Enter included, must
// not run what was kept. It is reported, and a new prompt asks again.
func (r readlineReader) ReadLine(a ask) (string, error) {
	prompt := r.prompt
	if a == askPath {
		prompt = pathPrompt
	}
	r.path.Store(a == askPath)
	r.rl.SetPrompt(prompt)
	for {
		r.keys.refused.Store(false)
		line, err := r.rl.Readline()
		if err == nil && r.keys.ended.Load() {
			// readline enters the line being typed when its input ends
			// (the client left, a signal closed it): nobody entered it.
			return "", io.EOF
		}
		// A completion chosen in the menu with Enter reaches the line
		// past the Listener, which cuts it back only at the next key.
		if err != nil || !r.keys.refused.Load() && utf8.RuneCountInString(line) <= maxTerminalLine {
			return line, err
		}
		r.keys.con.printErr(errorText(errTerminalLineTooLong))
		// The prompt the REPL called prompting for has ended; the next is
		// a new one, whose keys are yet to come.
		r.keys.con.prompting()
	}
}

// Close closes readline and ends its goroutine (keyFilter.closed says how).
func (r readlineReader) Close() error {
	r.keys.closed.Store(true)
	return r.rl.Close()
}

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
		Stdin:           noNUL{in},
		Stdout:          r.cfg.Out,
		Stderr:          r.cfg.Err,
		FuncIsTerminal:  r.cfg.IsTerminal,
		FuncGetWidth:    func() int { return max(getWidth(), minWidth) },
		FuncMakeRaw:     r.cfg.MakeRaw,
		FuncExitRaw:     r.cfg.ExitRaw,

		FuncOnWidthChanged:  r.cfg.OnWidthChanged,
		FuncFilterInputRune: keys.filter,
		Listener:            keys,
	}
	if r.cfg.HistoryFile != "" {
		os.MkdirAll(filepath.Dir(r.cfg.HistoryFile), 0o700) // if it fails, keepHistoryPrivate says why
	}
	mode, err := keepHistoryPrivate(r.cfg.HistoryFile)
	if errors.Is(err, errHistoryUnusable) {
		// The session goes on, its history kept in memory, as without a
		// file.
		fmt.Fprintf(r.cfg.Err, "warning: %s; this session's history is not saved\n", escape.String(err.Error()))
		rc.HistoryFile = os.DevNull
	} else if err != nil {
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
	return readlineReader{rl: rl, prompt: r.cfg.Prompt, path: path, keys: keys}, nil
}

// promptWidth is how many columns readline takes prompt to fill.
func promptWidth(prompt string) int {
	var rs readline.Runes
	return rs.WidthAll(rs.ColorFilter([]rune(prompt)))
}

// keyFilter sees every key readline reads before readline acts on it, on
// readline's goroutine, and may give readline another key in its place.
// As readline's Listener it sees the line after every key.
//
// It keeps the line, and the search string of a history search (Ctrl-R),
// within maxTerminalLine characters: a key that would add to one already
// that long is refused, and readline is given Ctrl-G instead, which at a
// prompt does nothing at all (it leaves a search or a completion menu).
// Keys that may add more than one character (Ctrl-Y, Tab) are let through,
// and a line they take past the limit is cut back to it. The bell rings
// at the first key of every run of refused keys, and the line is refused
// in turn when it is entered (ReadLine).
type keyFilter struct {
	rl       *readline.Instance // set before readline reads a key
	con      *console
	minWidth int           // the narrowest width readline is told of
	column   *atomic.Int64 // the width of a column of the completion menu
	foreign  bool          // the terminal is not the process's own

	length  atomic.Int64 // characters in the line after the last key
	refused atomic.Bool  // a key was refused at this prompt; ReadLine clears it
	ended   atomic.Bool  // readline's input has ended
	closed  atomic.Bool  // readline was closed: its goroutine is to end
	// Used on readline's goroutine alone:
	searched int  // characters in the search string, 0 when not searching
	ringing  bool // the last key was refused
}

// filter is readline's FuncFilterInputRune.
func (k *keyFilter) filter(key rune) (rune, bool) {
	if key == 0 && k.closed.Load() {
		// readline v1.5.1's key loop never returns: once its input has
		// ended it reads "end of input" again and again and sends each to
		// a channel of one place that nobody reads after Close, where it
		// parks for good, a goroutine per session that ever had a
		// terminal. Past Close nothing is left for it to do, and it holds
		// no lock here: it ends.
		runtime.Goexit()
	}
	k.con.key()
	if key == 0 { // the input's end (noNUL keeps a typed NUL from looking so)
		k.ended.Store(true)
		return key, true
	}
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
	if key == readline.CharTranspose && k.length.Load() < 2 && !k.rl.Operation.IsSearchMode() {
		// readline moves the cursor of a one-character line past its end
		// for Ctrl-T, and the next character typed then panics on its
		// goroutine, which ends the node. With nothing to transpose, the
		// key does nothing.
		return readline.CharBell, true
	}
	return k.limitKey(k.menuKey(key)), true
}

// limitKey is key, or Ctrl-G if key would take the line or the search
// string past maxTerminalLine.
func (k *keyFilter) limitKey(key rune) rune {
	searching := k.rl.Operation.IsSearchMode()
	if !searching {
		k.searched = 0
	}
	if !inserts(key) {
		if searching && (key == readline.CharBackspace || key == readline.CharCtrlH) {
			k.searched = max(k.searched-1, 0)
		}
		k.ringing = false
		return key
	}
	switch {
	case searching && k.searched < maxTerminalLine:
		k.searched++
	case !searching && k.length.Load() < maxTerminalLine:
	default:
		k.refuse()
		return readline.CharBell
	}
	k.ringing = false
	return key
}

// OnChange is readline's Listener: it notes the line's length after every
// key, and cuts back a line past maxTerminalLine. readline calls it with
// no line as a prompt starts.
func (k *keyFilter) OnChange(line []rune, pos int, key rune) ([]rune, int, bool) {
	if len(line) <= maxTerminalLine {
		k.length.Store(int64(len(line)))
		return nil, 0, false
	}
	k.refuse()
	k.length.Store(maxTerminalLine)
	return line[:maxTerminalLine], min(pos, maxTerminalLine), true
}

// refuse notes a refused key, ringing the bell at the first of a run.
func (k *keyFilter) refuse() {
	k.refused.Store(true)
	if !k.ringing {
		k.rl.Terminal.Bell()
	}
	k.ringing = true
}

// noNUL is a terminal's input without its NUL bytes (Ctrl-@): readline
// takes a key 0 for the end of its input, and would end the session, or
// enter the line being typed, for one typed.
type noNUL struct{ io.ReadCloser }

func (n noNUL) Read(p []byte) (int, error) {
	for {
		got, err := n.ReadCloser.Read(p)
		kept := 0
		for _, b := range p[:got] {
			if b != 0 {
				p[kept] = b
				kept++
			}
		}
		if kept > 0 || err != nil || got == 0 {
			return kept, err
		}
	}
}

// inserts says whether readline (v1.5.1, emacs mode) puts key into the
// line, or into the search string when searching: it does so with every
// key but the ones it acts on, and 0, the input's end.
func inserts(key rune) bool {
	switch key {
	case 0,
		readline.CharLineStart, readline.CharBackward, readline.CharInterrupt,
		readline.CharDelete, readline.CharLineEnd, readline.CharForward,
		readline.CharBell, readline.CharCtrlH, readline.CharTab,
		readline.CharCtrlJ, readline.CharKill, readline.CharCtrlL,
		readline.CharEnter, readline.CharNext, readline.CharPrev,
		readline.CharBckSearch, readline.CharFwdSearch, readline.CharTranspose,
		readline.CharCtrlU, readline.CharCtrlW, readline.CharCtrlY,
		readline.CharCtrlZ, readline.CharBackspace,
		readline.MetaBackward, readline.MetaForward, readline.MetaDelete,
		readline.MetaBackspace:
		return false
	}
	return true
}

// menuKey is the key readline is to act on for key in its completion
// menu. readline lays the menu out in rows of (width-1)/column candidates
// and divides by that number to move a row up or down (Up, Down, Ctrl-P,
// Ctrl-N) or to a row's ends (Home, End, Ctrl-A, Ctrl-E): a candidate too
// wide for a row of its own makes that a division by zero, which panics.
// The width is minWidth at least, so while a column fits in minWidth-1
// those keys are safe; otherwise Up and Down move to the previous and next
// candidate, and Home and End leave the menu, as Ctrl-G does.
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

// maxHistoryFile bounds the history file readline is given, which it
// reads whole at every start: 500 lines of at most maxTerminalLine
// characters take 2 MiB at most.
const maxHistoryFile = 16 << 20

// errHistoryUnusable: the history file is there but not one to read.
var errHistoryUnusable = errors.New("not used")

// keepHistoryPrivate creates the history file at path, if there is one to
// keep and it is missing, readable by its owner alone (readline would make
// it readable by all, and lines typed may hold secrets), and returns the
// mode the file should keep: its owner's choice for a file that exists. A
// file that is not a regular file (a FIFO, which would hold the start
// waiting for a reader; /dev/zero, which readline would read for ever) or
// is over maxHistoryFile gives an error wrapping errHistoryUnusable.
func keepHistoryPrivate(path string) (os.FileMode, error) {
	if path == "" {
		return 0, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NONBLOCK, 0o600)
	switch {
	case errors.Is(err, syscall.ENXIO): // a FIFO with no reader
		return 0, fmt.Errorf("history file %s is a FIFO: %w", path, errHistoryUnusable)
	case errors.Is(err, syscall.EISDIR):
		return 0, fmt.Errorf("history file %s is a directory: %w", path, errHistoryUnusable)
	case err != nil: // a read-only file system, another's file: a session all the same
		return 0, fmt.Errorf("%w: %w", err, errHistoryUnusable)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return 0, err
	case !fi.Mode().IsRegular():
		return 0, fmt.Errorf("history file %s is not a regular file: %w", path, errHistoryUnusable)
	case fi.Size() > maxHistoryFile:
		return 0, fmt.Errorf("history file %s is over %d MiB: %w", path, maxHistoryFile>>20, errHistoryUnusable)
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
