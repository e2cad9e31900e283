package assembler

import "github.com/iridium-go/iridium/vm"

// Load turns a file's contents into a program: bytecode (recognised by its
// magic) is parsed and verified, anything else is assembled. Bytecode has no
// symbols.
func Load(data []byte) (*vm.Program, []Symbol, error) {
	if vm.IsBytecode(data) {
		p, err := vm.ParseBytecode(data)
		return p, nil, err
	}
	return AssembleFile(string(data))
}
