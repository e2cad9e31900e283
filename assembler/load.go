package assembler

import (
	"context"

	"github.com/iridium-go/iridium/vm"
)

// Load turns a file's contents into a program: bytecode (recognised by its
// magic) is parsed and verified, anything else is assembled. Bytecode has no
// symbols. A file that is neither, because it holds a NUL byte, gives one
// error wrapping ErrNotText.
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
	return AssembleFileContext(ctx, string(data))
}
