package repl

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
)

// console is everything the REPL shows: the default VM's output, command
// output, error messages, and the reports of background programs, which
// arrive from other goroutines at any time.
//
// It keeps one rule (README "The REPL"): a line a program left open (output
// with no final newline, such as `prti $1`) is ended before the REPL shows
// anything of its own, so that nothing is glued to it or, at a terminal,
// drawn over it by the prompt. The line is ended only then: a script may
// build one line of output over several of its lines. A report is the
// REPL's own output, but it comes unbidden: rather than break into a line
// that a program may still be writing, it is held until the line ends.
type console struct {
	mu   sync.Mutex
	out  io.Writer
	errw io.Writer
	open bool        // the last byte a program wrote to out was not a newline
	lost error       // the first write to out that failed: output was lost
	echo atomic.Bool // the terminal echoed a key since (see echoed)
	held [][]byte    // reports not shown yet, oldest first

	// At a terminal, prompt is readline, which shows a prompt from
	// prompting until the line has been read (atPrompt); keySeen says a
	// key has reached it since. Nil in scripted mode, where no prompt is
	// shown.
	prompt   promptLine
	atPrompt bool
	keySeen  bool
}

// promptLine is readline at a prompt, as the console needs it to show a
// report above the prompt. Readline draws under a lock of its own, so each
// call is atomic with respect to its drawing.
type promptLine interface {
	// reading reports whether readline reads keys: the prompt is live.
	reading() bool
	// clean takes the prompt and the line being typed off the screen.
	clean()
	// write writes where the prompt was and, if it is live, draws it
	// again below.
	write(p []byte)
	// redraw draws the prompt again with an empty line.
	redraw()
}

func newConsole(out, errw io.Writer) *console {
	return &console{out: out, errw: errw}
}

// programOutput is the writer for the default VM's PRTS, PRTI and PRTF.
func (c *console) programOutput() io.Writer { return programWriter{c} }

type programWriter struct{ c *console }

func (w programWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	done := 0
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 && len(c.held) > 0 {
		// Held reports go in at the last line break.
		n, err := c.writeProgram(p[:i+1])
		if err != nil {
			return n, err
		}
		c.releaseHeld()
		done = n
	}
	if done == len(p) {
		return done, nil
	}
	n, err := c.writeProgram(p[done:])
	return done + n, err
}

// writeProgram writes a program's output and notes whether it left a line
// open.
func (c *console) writeProgram(p []byte) (int, error) {
	n, err := c.writeOut(p)
	if n > 0 {
		c.open = p[n-1] != '\n'
	}
	return n, err
}

// writeOut writes p to out, keeping the first error: output that could
// not be written is lost, and the session says so when it ends
// (lostOutput).
func (c *console) writeOut(p []byte) (int, error) {
	n, err := c.out.Write(p)
	if err != nil && c.lost == nil {
		c.lost = err
	}
	return n, err
}

// lostOutput is the first write to out that failed, or nil.
func (c *console) lostOutput() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

// print shows the REPL's own output, whole lines.
func (c *console) print(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLine()
	c.writeOut(p)
	c.releaseHeld()
}

// printErr shows error messages, whole lines.
func (c *console) printErr(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLine()
	c.errw.Write(p) // nowhere to report a failure of the error stream
	c.releaseHeld()
}

// report shows a background program's report, whole lines, at once or as
// soon as it may be shown.
func (c *console) report(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = append(c.held, p)
	c.releaseHeld()
}

// mayShow says whether a report may be shown now. Not while a line is
// open, nor while a key that may end the line being typed (Enter, Ctrl-C,
// Ctrl-D) is on its way through readline, which stops reading keys for it:
// drawing the prompt again then could show a line already gone, or lose
// it. The report is shown once the line has been read, or at the next key.
func (c *console) mayShow() bool {
	return !c.open && !c.echo.Load() && !(c.atPrompt && c.keySeen && !c.prompt.reading())
}

// show writes a report. At a prompt it goes above the prompt: readline
// takes the prompt line off the screen, the report is written in its
// place, and the prompt is drawn again below. Readline draws it again
// itself once it reads keys. Before that (it has drawn the prompt, or is
// about to) redraw does, and should readline draw the prompt after all, it
// erases the line first. The line being typed is empty then: mayShow lets
// no report through while readline does not read once a key has come, and
// keys wait in key for the console's lock.
func (c *console) show(p []byte) {
	if !c.atPrompt {
		c.writeOut(p)
		return
	}
	live := c.prompt.reading()
	c.prompt.clean()
	c.prompt.write(p)
	if !live {
		c.prompt.redraw()
	}
}

// echoed notes that the terminal echoed a key (Ctrl-C, as ^C) on the line
// shown, so that what the REPL shows next starts on a line of its own. It
// takes no lock: a signal handler calls it, and a write stalled on the
// terminal must not hold that up.
func (c *console) echoed() { c.echo.Store(true) }

// endLine ends the line a program left open, or that the terminal echoed
// a key on.
func (c *console) endLine() {
	if echo := c.echo.Swap(false); c.open || echo {
		c.writeOut([]byte{'\n'})
		c.open = false
	}
}

// releaseHeld shows the reports held, as far as they may be shown.
func (c *console) releaseHeld() {
	for len(c.held) > 0 && c.mayShow() {
		c.show(c.held[0])
		c.held = c.held[1:]
	}
}

// setPrompt makes reports that arrive at a prompt go above it, through p.
func (c *console) setPrompt(p promptLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prompt = p
}

// prompting is called just before readline shows a prompt, and the
// function it returns once the line has been read. In scripted mode there
// is no prompt, and an open line stays open.
func (c *console) prompting() (done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prompt == nil {
		return func() {}
	}
	c.endLine()
	c.releaseHeld()
	c.atPrompt, c.keySeen = true, false
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.atPrompt = false
		c.releaseHeld()
	}
}

// key is called by readline with every key it reads, before it acts on it.
func (c *console) key() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.atPrompt {
		c.keySeen = true
		c.releaseHeld()
	}
}

// finish ends an open line when the session's input has ended, so that
// the REPL's output ends with a whole line and later reports are shown at
// once.
func (c *console) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLine()
	c.releaseHeld()
}
