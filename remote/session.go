package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/repl"
)

// ptyRequest is the payload of an SSH "pty-req" (RFC 4254 section 6.2).
type ptyRequest struct {
	Term          string
	Width, Height uint32
	PixW, PixH    uint32
	Modes         string
}

// serveSession waits for "shell" (or "exec"), then runs one REPL on the
// channel until its input ends. With a pty the REPL is interactive
// (readline on the client's raw terminal); without one it reads a script.
//
// The REPL runs under a context that ends with ctx (the connection's) or
// with the channel, whichever goes first: a client that hangs up or
// vanishes takes its running program with it.
//
// serveSession reads the channel's requests until the channel is closed
// at both ends, the REPL's end included: x/crypto delivers every channel's
// requests from one loop per connection, so a request nobody reads would
// stop the connection's other sessions, and its close, for good. It
// returns only then, so the connection's cap counts the session until the
// client has closed it too.
func (s *Server) serveSession(ctx context.Context, ch ssh.Channel, requests <-chan *ssh.Request) {
	defer ch.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(errSessionClosed)
	pty := false
	width := newTermWidth(80)
	started, ended := false, false
	done := make(chan struct{})
	for {
		select {
		case req, ok := <-requests:
			if !ok {
				// The channel is closed (by the client, or with the
				// connection): interrupt the REPL, then wait for it.
				cancel(errSessionClosed)
				if started && !ended {
					<-done
				}
				return
			}
			switch req.Type {
			case "pty-req":
				// Before the shell only: the REPL is made for the
				// terminal it has when it starts.
				var p ptyRequest
				if started || ssh.Unmarshal(req.Payload, &p) != nil {
					req.Reply(false, nil)
					continue
				}
				pty = true
				if w, ok := termCols(p.Width); ok {
					width = newTermWidth(w)
				}
				req.Reply(true, nil)
			case "window-change":
				if len(req.Payload) >= 4 {
					if w, ok := termCols(binary.BigEndian.Uint32(req.Payload)); ok {
						width.set(w)
					}
				}
				req.Reply(false, nil)
			case "shell", "exec":
				if started {
					req.Reply(false, nil)
					continue
				}
				started = true
				req.Reply(true, nil)
				var script []byte
				if req.Type == "exec" {
					// ssh host 'cmd': the command line is the script.
					var cmd struct{ Command string }
					ssh.Unmarshal(req.Payload, &cmd)
					script = []byte(cmd.Command + "\n")
				}
				go func() {
					defer close(done)
					status := s.runREPL(ctx, ch, pty, script, width)
					ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
					ch.Close()
				}()
			default:
				req.Reply(false, nil)
			}
		case <-done:
			// The REPL has ended and closed the channel: what the client
			// asks until its close arrives is refused.
			ended, done = true, nil
		}
	}
}

// A session takes a terminal narrower than repl.MinWidth for one of
// that width, as its REPL's readline does (which cannot lay a line out on
// a narrower one), and one wider than maxWidth for one of maxWidth.
const (
	minWidth = repl.MinWidth
	maxWidth = 1000
)

// termCols is the width a session takes a client's pty-req or
// window-change to give: cols clamped to [minWidth, maxWidth], or ok false
// for 0, which means "unknown" (RFC 4254) and changes nothing.
func termCols(cols uint32) (width int, ok bool) {
	if cols == 0 {
		return 0, false
	}
	return int(min(max(cols, minWidth), maxWidth)), true
}

// termWidth is the width of the client's terminal, as its pty-req and
// window-change requests say, and who to tell when it changes (readline,
// which then lays the line being edited out again). The session's request
// loop only records a change; tell calls the listener on its own
// goroutine, since readline may wait there on a write to a client that
// reads nothing, and a request loop that waits holds up the connection's
// other sessions.
type termWidth struct {
	mu      sync.Mutex
	width   int
	changed func()
	news    chan struct{} // holds a token while a change is untold
}

func newTermWidth(width int) *termWidth {
	return &termWidth{width: width, news: make(chan struct{}, 1)}
}

func (w *termWidth) get() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.width
}

// set records a new width, to be told to the listener; it never waits.
func (w *termWidth) set(width int) {
	w.mu.Lock()
	w.width = width
	w.mu.Unlock()
	select {
	case w.news <- struct{}{}:
	default: // a change is untold already: the listener reads the width then
	}
}

// onChange sets the listener (readline's FuncOnWidthChanged).
func (w *termWidth) onChange(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changed = f
}

// tell calls the listener once for each run of changes until done closes.
func (w *termWidth) tell(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-w.news:
			w.mu.Lock()
			changed := w.changed
			w.mu.Unlock()
			if changed != nil {
				changed()
			}
		}
	}
}

// runREPL runs one REPL on the channel until its input ends or ctx is
// done, and returns its exit status. With pty the client's terminal is
// raw; without script the session is interactive there.
func (s *Server) runREPL(ctx context.Context, ch ssh.Channel, pty bool, script []byte, width *termWidth) uint32 {
	cfg := s.cfg.REPL
	var in *interruptReader
	if script != nil {
		cfg.In = bytes.NewReader(script)
		cfg.Out, cfg.Err = ch, ch.Stderr()
		if pty { // ssh -t host 'cmd': "\n" needs a carriage return
			cfg.Out, cfg.Err = &crlfWriter{w: ch}, &crlfWriter{w: ch.Stderr()}
		}
	} else if pty {
		// The client's terminal is raw: Ctrl-C arrives as a byte, and
		// "\n" needs a carriage return.
		in = newInterruptReader(ch)
		cfg.In = in
		out := &crlfWriter{w: ch}
		cfg.Out, cfg.Err = out, out
		cfg.Interactive = true
		cfg.IsTerminal = func() bool { return true }
		cfg.GetWidth = width.get
		cfg.MakeRaw = func() error { return nil }
		cfg.ExitRaw = func() error { return nil }
		cfg.OnWidthChanged = width.onChange // told by window-change requests
		cfg.HistoryFile = ""
	} else {
		cfg.In = ch
		cfg.Out, cfg.Err = ch, ch.Stderr()
	}
	r, err := repl.New(cfg)
	if err != nil {
		io.WriteString(ch.Stderr(), "iridium: "+err.Error()+"\n")
		return 1
	}
	if script != nil && pty {
		// ssh -t host 'cmd': the client's terminal is raw, so Ctrl-C
		// arrives as a byte, and nothing else reads the channel.
		s.wg.Add(1)
		go func() { // ends when the channel closes, right after this session
			defer s.wg.Done()
			interruptOnCtrlC(ch, r.Interrupt)
		}()
	}
	if in != nil {
		told := make(chan struct{})
		defer close(told)
		s.wg.Add(1)
		go func() { // ends with this session
			defer s.wg.Done()
			width.tell(told)
		}()
		in.onInterrupt = r.Interrupt
		s.wg.Add(1)
		go func() { // ends when the channel closes, right after this session
			defer s.wg.Done()
			in.pump()
		}()
		defer in.Close()
	}
	if err := r.Run(ctx); err != nil {
		return 1
	}
	return 0
}

// ctrlC is the byte a raw terminal sends for Ctrl-C.
const ctrlC = 3

// interruptOnCtrlC reads src until it ends, calling interrupt at every
// Ctrl-C in it; the other bytes are not input to anything and are dropped.
func interruptOnCtrlC(src io.Reader, interrupt func() bool) {
	buf := make([]byte, 512)
	for {
		n, err := src.Read(buf)
		if bytes.IndexByte(buf[:n], ctrlC) >= 0 {
			interrupt()
		}
		if err != nil {
			return
		}
	}
}

// interruptReader reads the channel on its own goroutine so that a Ctrl-C
// typed while a program runs (when nothing else reads input) interrupts
// the program; every other byte is queued for the REPL in order. The queue
// holds at most about maxTypeahead bytes: when it is full the reader waits
// for the REPL to take some, and SSH's flow control makes the client wait
// in turn (a Ctrl-C typed behind that much input waits with it).
//
// Close ends the REPL's input at once: the queue is dropped, since the
// session is ending (its client went away, the server is closing, or the
// REPL is done) and nobody will see what the keys in it would do.
type interruptReader struct {
	src         io.Reader
	onInterrupt func() bool // true if a running program was interrupted

	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	err    error
	closed bool
}

// maxTypeahead bounds the bytes typed ahead of the REPL's reading.
const maxTypeahead = 64 << 10

// maxRead bounds the bytes one Read hands the REPL. readline acts on every
// key it has read, once the session has ended too (nothing tells it to
// stop), and a key can cost it milliseconds of CPU (repl's line limit
// bounds that): what it holds must stay a few keys, the rest waiting in
// the queue, which Close drops.
const maxRead = 16

func newInterruptReader(src io.Reader) *interruptReader {
	r := &interruptReader{src: src}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *interruptReader) pump() {
	chunk := make([]byte, 1024)
	for {
		r.mu.Lock()
		for len(r.buf) >= maxTypeahead && !r.closed {
			r.cond.Wait()
		}
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return
		}
		n, err := r.src.Read(chunk)
		data := chunk[:n]
		kept := data[:0]
		for _, b := range data {
			if b == ctrlC && r.onInterrupt() {
				continue
			}
			kept = append(kept, b)
		}
		r.mu.Lock()
		r.buf = append(r.buf, kept...)
		if err != nil {
			r.err = err
		}
		stop := r.err != nil || r.closed
		r.cond.Broadcast()
		r.mu.Unlock()
		if stop {
			return
		}
	}
}

func (r *interruptReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.buf) == 0 && r.err == nil && !r.closed {
		r.cond.Wait()
	}
	if r.closed {
		return 0, io.EOF
	}
	if len(r.buf) > 0 {
		n := copy(p[:min(len(p), maxRead)], r.buf)
		r.buf = r.buf[n:]
		r.cond.Broadcast() // room for pump
		return n, nil
	}
	return 0, r.err
}

// Close drops what is queued and ends the input: Read returns io.EOF.
func (r *interruptReader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.buf = nil
	r.cond.Broadcast()
	r.mu.Unlock()
	return nil
}

// crlfWriter turns "\n" into "\r\n" for a terminal in raw mode.
type crlfWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]byte, 0, len(p)+8)
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
