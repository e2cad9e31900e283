package assembler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/iridium-go/iridium/vm"
)

// MaxFileSize bounds a program file that ReadFile reads, and so the memory
// one costs: it holds bytecode filling the code's whole 24-bit address
// space (16 MiB) and assembly of about 2.5 million lines.
const MaxFileSize = 64 << 20

// ErrFileTooLarge: a program file over MaxFileSize.
var ErrFileTooLarge = fmt.Errorf("larger than %d MiB: not a program file", MaxFileSize>>20)

// ReadFile reads the program file at path for Load. It refuses a file over
// MaxFileSize (/dev/zero, say) having read MaxFileSize+1 bytes at most.
// With regularOnly it also refuses what is not a regular file (a FIFO, a
// device, a directory) without waiting on it.
func ReadFile(path string, regularOnly bool) ([]byte, error) {
	return ReadFileContext(context.Background(), path, regularOnly)
}

// ReadFileContext is ReadFile that gives up when ctx is done: it closes
// the file, which ends a read waiting on a FIFO, a pipe or a regular file
// that blocks (/proc/kmsg), and returns ctx's cause. A read the kernel
// does not let go of (a hung network file system) still waits.
func ReadFileContext(ctx context.Context, path string, regularOnly bool) ([]byte, error) {
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
	data, err := readAll(f, path, regularOnly)
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx) // the file was closed under the read
	}
	return data, err
}

// readAll is ReadFileContext's reading of the open file f.
func readAll(f *os.File, path string, regularOnly bool) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	regular := fi.Mode().IsRegular()
	if regularOnly && !regular {
		return nil, fmt.Errorf("%s: %s, not a regular file", path, kindOf(fi.Mode()))
	}
	var buf *bytes.Buffer
	switch {
	case regular && fi.Size() > MaxFileSize: // refused unread
		return nil, fmt.Errorf("%s: %w", path, ErrFileTooLarge)
	case regular: // read into one array of its size, not a doubling one
		buf = bytes.NewBuffer(make([]byte, 0, int(fi.Size())+bytes.MinRead))
	default:
		buf = new(bytes.Buffer)
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxFileSize { // it grew since, or is not regular
		return nil, fmt.Errorf("%s: %w", path, ErrFileTooLarge)
	}
	return buf.Bytes(), nil
}

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

// Load turns a file's contents into a program to run: bytecode (recognised
// by its magic) is parsed and verified, anything else is assembled, and a
// .word that the VM would refuse is an error at its line, so that what Load
// returns the VM accepts. Bytecode has no symbols. A file that is neither, because it holds a NUL byte, gives one
// assembly error, at its first NUL, wrapping ErrNotText.
func Load(data []byte) (*vm.Program, []Symbol, error) {
	return LoadContext(context.Background(), data)
}

// LoadContext is Load that gives up assembling when ctx is done, returning
// an error that wraps context.Cause(ctx).
func LoadContext(ctx context.Context, data []byte) (*vm.Program, []Symbol, error) {
	if vm.IsBytecode(data) {
		p, err := vm.ParseBytecode(data)
		return p, nil, err
	}
	return assembleWithSymbols(ctx, string(data), true)
}
