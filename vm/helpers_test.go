package vm_test

// asm concatenates encoded instructions into code.
func asm(ins ...[4]byte) []byte {
	code := make([]byte, 0, 4*len(ins))
	for _, in := range ins {
		code = append(code, in[:]...)
	}
	return code
}
