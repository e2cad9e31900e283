package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// A frame on the wire is
//
//	uint32 big-endian L | uint8 type | L-1 bytes: the body (MessagePack)
//
// L counts the type byte and the body. L = 0 and L > the frame limit are
// errors that close the connection; L equal to the limit is allowed.

// Limits enforced on every decoded message.
const (
	DefaultMaxFrameSize = 1 << 20 // 1 MiB, the protocol's default frame limit (L <= limit)
	MinMaxFrameSize     = 1 << 10 // smallest frame limit a Config may set
	// PreAuthFrameSize is the frame limit before a connection is
	// authenticated: a real Hello, Join or Challenge is well under 1 KiB,
	// so a stranger cannot make a node buffer more than this.
	PreAuthFrameSize = 4 << 10

	MaxNodes     = 4096 // most NodeInfo entries in one HelloAck or Members (also the msgp limit tag)
	MaxAliasLen  = 255  // bytes in an alias
	MaxIPLen     = 64   // bytes in an IP string
	MaxNonceLen  = 64   // bytes in a nonce
	MaxProofLen  = 64   // bytes in a proof
	MaxErrorLen  = 4096 // bytes in an Error message (longer ones are cut when sent)
	frameHdrLen  = 5
	minWriteBuf  = 256      // a FrameWriter's first buffer: a heartbeat's frame fits
	writeBufSize = 16 << 10 // a FrameWriter writes out once this much waits
	keepWriteBuf = 4 << 10  // a FrameWriter's buffer grown past this is dropped after Flush
	keepReadBuf  = 64 << 10 // a body buffer grown past this is dropped after use
)

// Errors from the codec. Every one of them closes the connection.
var (
	ErrEmptyFrame     = errors.New("frame length is 0")
	ErrFrameTooLarge  = errors.New("frame exceeds the size limit")
	ErrUnknownType    = errors.New("unknown message type")
	ErrMalformed      = errors.New("malformed message")
	ErrFieldTooLong   = errors.New("message field exceeds its limit")
	ErrTrailingBytes  = errors.New("trailing bytes after message body")
	ErrBadPID         = errors.New("no process has that pid")
	errInvalidUTF8Str = errors.New("string is not valid UTF-8")
)

// Message is one wire message: a msgp-generated body plus its type byte.
type Message interface {
	Type() MsgType
	msgp.Marshaler
	msgp.Unmarshaler
	msgp.Sizer
}

func (*Hello) Type() MsgType     { return MsgHello }
func (*HelloAck) Type() MsgType  { return MsgHelloAck }
func (*Join) Type() MsgType      { return MsgJoin }
func (*JoinAck) Type() MsgType   { return MsgJoinAck }
func (*Ping) Type() MsgType      { return MsgPing }
func (*Pong) Type() MsgType      { return MsgPong }
func (*Leave) Type() MsgType     { return MsgLeave }
func (*Members) Type() MsgType   { return MsgMembers }
func (*Challenge) Type() MsgType { return MsgChallenge }
func (*Error) Type() MsgType     { return MsgError }

var (
	_ Message = (*Hello)(nil)
	_ Message = (*HelloAck)(nil)
	_ Message = (*Join)(nil)
	_ Message = (*JoinAck)(nil)
	_ Message = (*Ping)(nil)
	_ Message = (*Pong)(nil)
	_ Message = (*Leave)(nil)
	_ Message = (*Members)(nil)
	_ Message = (*Challenge)(nil)
	_ Message = (*Error)(nil)
)

// Known reports whether t is a message type of the protocol.
func (t MsgType) Known() bool { return t >= MsgHello && t <= MsgError || t.Process() }

// NewMessage returns a zero message of type t, or an error wrapping
// ErrUnknownType.
func NewMessage(t MsgType) (Message, error) {
	switch t {
	case MsgHello:
		return new(Hello), nil
	case MsgHelloAck:
		return new(HelloAck), nil
	case MsgJoin:
		return new(Join), nil
	case MsgJoinAck:
		return new(JoinAck), nil
	case MsgPing:
		return new(Ping), nil
	case MsgPong:
		return new(Pong), nil
	case MsgLeave:
		return new(Leave), nil
	case MsgMembers:
		return new(Members), nil
	case MsgChallenge:
		return new(Challenge), nil
	case MsgError:
		return new(Error), nil
	}
	return newProcessMessage(t)
}

// DecodeMessage decodes body as a message of type t and checks its limits.
// Unknown fields are skipped; bytes after the body's top-level map are an
// error. The result shares no memory with body.
func DecodeMessage(t MsgType, body []byte) (Message, error) {
	m, err := NewMessage(t)
	if err != nil {
		return nil, err
	}
	if err := DecodeInto(m, body); err != nil {
		return nil, err
	}
	return m, nil
}

func checkStr(field, s string, limit int) error {
	if len(s) > limit {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrFieldTooLong, field, len(s), limit)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s", errInvalidUTF8Str, field)
	}
	return nil
}

func checkBin(field string, b []byte, limit int) error {
	if len(b) > limit {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrFieldTooLong, field, len(b), limit)
	}
	return nil
}

func checkNodes(nodes []NodeInfo) error {
	if len(nodes) > MaxNodes {
		return fmt.Errorf("%w: %d nodes, limit %d", ErrFieldTooLong, len(nodes), MaxNodes)
	}
	for i := range nodes {
		if err := checkNode(&nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

func checkNode(n *NodeInfo) error {
	if err := checkStr("alias", n.Alias, MaxAliasLen); err != nil {
		return err
	}
	return checkStr("ip", n.IP, MaxIPLen)
}

// validate enforces the string, byte and list limits of a decoded message.
func validate(m Message) error {
	switch m := m.(type) {
	case *Hello:
		return errors.Join(checkStr("alias", m.Alias, MaxAliasLen),
			checkBin("nonce", m.Nonce, MaxNonceLen), checkBin("proof", m.Proof, MaxProofLen))
	case *Join:
		return errors.Join(checkStr("alias", m.Alias, MaxAliasLen),
			checkBin("nonce", m.Nonce, MaxNonceLen), checkBin("proof", m.Proof, MaxProofLen))
	case *HelloAck:
		return errors.Join(checkNode(&m.Node), checkNodes(m.Nodes), checkBin("proof", m.Proof, MaxProofLen))
	case *JoinAck:
		return errors.Join(checkNode(&m.Node), checkBin("proof", m.Proof, MaxProofLen))
	case *Leave:
		return checkStr("alias", m.Alias, MaxAliasLen)
	case *Members:
		return checkNodes(m.Nodes)
	case *Challenge:
		return errors.Join(checkBin("nonce", m.Nonce, MaxNonceLen), checkStr("alias", m.Alias, MaxAliasLen))
	case *Error:
		return checkStr("message", m.Message, MaxErrorLen)
	}
	return validateProcess(m)
}

// AppendFrame appends m as one frame to dst. It allocates only when dst is too
// small. A frame longer than limit is an error wrapping ErrFrameTooLarge.
func AppendFrame(dst []byte, m Message, limit int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(m.Type()))
	out, err := m.MarshalMsg(dst)
	if err != nil {
		return dst[:start], fmt.Errorf("encode %s: %w", m.Type(), err)
	}
	n := len(out) - start - 4
	if n > limit {
		return out[:start], fmt.Errorf("%w: %s is %d bytes, limit %d", ErrFrameTooLarge, m.Type(), n, limit)
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return out, nil
}

// FrameReader reads frames from one connection. It keeps one body buffer
// for the connection's whole life and no read buffer of its own: it reads
// r in pieces as small as a frame header, so r should buffer (a TLS
// connection does, one decrypted record at a time), which spares every
// connection of a full mesh a buffer that would hold the same bytes twice.
// It is not safe for concurrent use.
type FrameReader struct {
	r      io.Reader
	limit  int
	hdr    [frameHdrLen]byte
	buf    []byte
	inside bool // the last ReadFrame failed after reading part of a frame
}

// NewFrameReader returns a FrameReader on r that rejects frames longer than
// limit (DefaultMaxFrameSize if limit <= 0).
func NewFrameReader(r io.Reader, limit int) *FrameReader {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	return &FrameReader{r: r, limit: limit}
}

// SetLimit changes the largest frame length accepted from the next frame on
// (DefaultMaxFrameSize if limit <= 0): a connection reads with
// PreAuthFrameSize until it is authenticated.
func (fr *FrameReader) SetLimit(limit int) {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	fr.limit = limit
}

// ReadFrame reads the next frame. The body is valid until the next call.
// io.EOF means the stream ended cleanly between frames; a stream that ends
// inside a frame gives io.ErrUnexpectedEOF. For an unknown type it returns the
// type and an error wrapping ErrUnknownType without reading the body: the
// connection must be closed. After a read error that came before the first
// byte of a frame (a deadline that passed, say), BetweenFrames reports true
// and ReadFrame may be called again.
func (fr *FrameReader) ReadFrame() (MsgType, []byte, error) {
	t, body, err := fr.readFrame()
	fr.inside = err != nil && fr.inside
	return t, body, err
}

// BetweenFrames reports whether the last ReadFrame error left the stream at
// a frame boundary, where reading may go on.
func (fr *FrameReader) BetweenFrames() bool { return !fr.inside }

func (fr *FrameReader) readFrame() (MsgType, []byte, error) {
	if len(fr.buf) > keepReadBuf {
		fr.buf = nil
	}
	got, err := io.ReadFull(fr.r, fr.hdr[:4])
	fr.inside = got > 0
	if err != nil {
		return 0, nil, err
	}
	fr.inside = true
	n := binary.BigEndian.Uint32(fr.hdr[:4])
	if n == 0 {
		return 0, nil, ErrEmptyFrame
	}
	if uint64(n) > uint64(fr.limit) {
		return 0, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, fr.limit)
	}
	if _, err := io.ReadFull(fr.r, fr.hdr[4:5]); err != nil {
		return 0, nil, noEOF(err)
	}
	t := MsgType(fr.hdr[4])
	if !t.Known() {
		return t, nil, fmt.Errorf("%w %d", ErrUnknownType, uint8(t))
	}
	size := int(n) - 1
	if size <= keepReadBuf || cap(fr.buf) >= size {
		if cap(fr.buf) < size {
			fr.buf = make([]byte, size)
		}
		fr.buf = fr.buf[:size]
		if _, err := io.ReadFull(fr.r, fr.buf); err != nil {
			return t, nil, noEOF(err)
		}
		return t, fr.buf, nil
	}
	// A large body: grow the buffer as the bytes arrive, so that a header
	// announcing a large frame costs no more memory than the bytes sent.
	buf := fr.buf[:0]
	for len(buf) < size {
		chunk := min(size-len(buf), max(len(buf), keepReadBuf))
		buf = slices.Grow(buf, chunk)
		if _, err := io.ReadFull(fr.r, buf[len(buf):len(buf)+chunk]); err != nil {
			fr.buf = buf[:0]
			return t, nil, noEOF(err)
		}
		buf = buf[:len(buf)+chunk]
	}
	fr.buf = buf
	return t, buf, nil
}

// ReadMessage reads and decodes the next frame.
func (fr *FrameReader) ReadMessage() (Message, error) {
	t, body, err := fr.ReadFrame()
	if err != nil {
		return nil, err
	}
	return DecodeMessage(t, body)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// FrameWriter writes frames to one connection. Frames gather in a buffer
// it reuses, so that encoding a message allocates nothing once the buffer
// has grown, and go out together on Flush, or as soon as writeBufSize bytes
// wait. A buffer grown past keepWriteBuf is dropped after Flush: an idle
// connection keeps a few hundred bytes, not the largest batch it ever
// sent. It is not safe for concurrent use.
type FrameWriter struct {
	w     io.Writer
	limit int
	buf   []byte
}

// NewFrameWriter returns a FrameWriter on w that refuses to send frames
// longer than limit (DefaultMaxFrameSize if limit <= 0).
func NewFrameWriter(w io.Writer, limit int) *FrameWriter {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	return &FrameWriter{w: w, limit: limit}
}

// WriteMessage encodes m as one frame into the writer's buffer, writing the
// buffer out first if it holds writeBufSize bytes or more.
func (fw *FrameWriter) WriteMessage(m Message) error {
	if len(fw.buf) >= writeBufSize {
		if err := fw.Flush(); err != nil {
			return err
		}
	}
	if fw.buf == nil {
		fw.buf = make([]byte, 0, minWriteBuf)
	}
	b, err := AppendFrame(fw.buf, m, fw.limit)
	fw.buf = b
	return err
}

// Flush sends everything written so far.
func (fw *FrameWriter) Flush() error {
	if len(fw.buf) == 0 {
		return nil
	}
	_, err := fw.w.Write(fw.buf)
	if cap(fw.buf) > keepWriteBuf {
		fw.buf = nil
	} else {
		fw.buf = fw.buf[:0]
	}
	return err
}

// Buffered reports how many bytes wait for Flush.
func (fw *FrameWriter) Buffered() int { return len(fw.buf) }
