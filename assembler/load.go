package assembler

import (
	"context"
	"errors"
	"fmt"

	"github.com/iridium-go/iridium/internal/fileread"
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
	data, err := fileread.Read(ctx, path, MaxFileSize, regularOnly)
	if errors.Is(err, fileread.ErrTooLarge) {
		return nil, fmt.Errorf("%s: %w", path, ErrFileTooLarge)
	}
	return data, err
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
