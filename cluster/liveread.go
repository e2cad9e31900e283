package cluster

import (
	"errors"
	"net"
	"os"
	"time"
)

// liveReader is what a connection's FrameReader reads: its TLS connection,
// whose read deadline it carries forward while records keep arriving. The
// heartbeat timeout is about silence, and a frame of a megabyte crossing a
// slow link is not silence: when the deadline passes in the middle of one,
// the read goes on until a whole timeout passes with no record at all. A
// deadline that passes is not an error crypto/tls keeps, so the read can
// resume where it stopped.
//
// patience is zero until the handshake is over: before that the deadline
// is final, so that a stranger trickling bytes cannot hold a handshake
// open. Only the connection's reader uses it.
type liveReader struct {
	conn     net.Conn
	patience time.Duration
	heard    time.Time // when a Read last returned bytes
}

func (r *liveReader) Read(b []byte) (int, error) {
	for {
		n, err := r.conn.Read(b)
		if n > 0 {
			r.heard = time.Now()
			return n, err
		}
		if err == nil || r.patience == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		next := r.heard.Add(r.patience)
		if !time.Now().Before(next) {
			return n, err
		}
		if err := r.conn.SetReadDeadline(next); err != nil {
			return 0, err
		}
	}
}
