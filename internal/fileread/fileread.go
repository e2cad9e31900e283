// Package fileread reads a whole file that a user named, bounded: a file
// over a size limit (a runaway log, /dev/zero) is refused having read at
// most one byte past the limit, and a reader that must not wait can ask
// for regular files only, so that a FIFO without a writer, a device or a
// directory is an error at once rather than a read that never returns.
//
// The assembler reads program files with it and the SSH server its
// authorized_keys file; each says what a file too large means to it.
package fileread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrTooLarge is what Read returns, unwrapped, for a file over its limit:
// the caller names the file and the limit in its own terms.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by Read's error for what is not a regular file
// when only regular files were asked for.
var ErrNotRegular = errors.New("not a regular file")

// Read returns the contents of the file at path, of at most limit bytes.
// With regularOnly it refuses what is not a regular file, without waiting
// on it (a FIFO is opened non-blocking). It gives up when ctx is done: it
// closes the file, which ends a read waiting on a FIFO, a pipe or a
// regular file that blocks (/proc/kmsg), and returns ctx's cause. A read
// the kernel does not let go of (a hung network file system) still waits.
func Read(ctx context.Context, path string, limit int64, regularOnly bool) ([]byte, error) {
	flag := os.O_RDONLY
	if regularOnly {
		flag |= syscall.O_NONBLOCK // opening a FIFO waits for a writer otherwise
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	data, err := readAll(f, path, limit, regularOnly)
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx) // the file was closed under the read
	}
	return data, err
}

// readAll is Read's reading of the open file f.
func readAll(f *os.File, path string, limit int64, regularOnly bool) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	regular := fi.Mode().IsRegular()
	if regularOnly && !regular {
		return nil, fmt.Errorf("%s: %s, %w", path, kindOf(fi.Mode()), ErrNotRegular)
	}
	size := int64(0) // not known: start small
	if regular {
		if fi.Size() > limit { // refused unread
			return nil, ErrTooLarge
		}
		size = fi.Size()
	}
	return readBounded(f, size, limit)
}

// readBounded reads r to its end, expecting about size bytes, and refuses
// it once it passes limit. The buffer starts at size (a regular file is
// read into one array of its size) and doubles from there, but never past
// limit+1 bytes: a stream over the limit (/dev/zero) costs at most about
// twice the limit while it is read (one and a half times for a limit that
// is a power of two), not the three times that a buffer doubling past it
// would.
func readBounded(r io.Reader, size, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(max(size+1, minGrow), limit+1)) // +1: the read that sees EOF needs room
	for {
		if len(buf) == cap(buf) {
			room := int64(len(buf)) + max(int64(len(buf)), minGrow)
			if room >= limit { // the last growth: up to the byte that tells a stream too long
				room = limit + 1
			}
			grown := make([]byte, len(buf), room)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)]) // cap(buf) <= limit+1
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return nil, ErrTooLarge
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// minGrow is the least readBounded grows its buffer by: a stream's first
// reads need not double from one byte.
const minGrow = 4096

// kindOf names what a file that is not regular is.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}
