package assembler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// FuzzAssemble: no input panics, and whatever assembles survives
// Disassemble then Assemble with the same bytes, and so does its listing
// with its own label names.
func FuzzAssemble(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.iasm")
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(string(src))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, syms, err := AssembleFile(src)
		if err != nil {
			if p != nil {
				t.Fatalf("program and error: %v", err)
			}
			if len(Errors(err)) == 0 {
				t.Fatalf("error without positions: %v", err)
			}
			if binary := strings.IndexByte(src, 0) >= 0; binary != errors.Is(err, ErrNotText) || binary && len(Errors(err)) != 1 {
				t.Fatalf("NUL byte %v, but error %v", binary, err)
			}
			return
		}
		// What Load gives to run, the VM accepts.
		if lp, _, err := Load([]byte(src)); err == nil {
			if err := vm.Verify(lp); err != nil {
				t.Fatalf("Load accepted code the VM refuses: %v", err)
			}
		} else if !vm.IsBytecode([]byte(src)) && len(Errors(err)) == 0 {
			t.Fatalf("Load: error without positions: %v", err)
		}
		checkNamedRoundTrip(t, p, syms)
		listing := Disassemble(p)
		q, err := Assemble(listing)
		if err != nil {
			t.Fatalf("listing does not assemble: %v\n%s", err, listing)
		}
		if !bytes.Equal(p.Code, q.Code) || !bytes.Equal(p.ROData, q.ROData) {
			t.Fatalf("round trip differs\n%x/%x\n%x/%x\n%s", p.ROData, p.Code, q.ROData, q.Code, listing)
		}
	})
}

// FuzzDisassemble: any bytes disassemble without panicking; whole
// instructions (verified or not) round-trip through Assemble.
func FuzzDisassemble(f *testing.F) {
	f.Add([]byte("hi\x00"), []byte{21, 0, 0, 0, 5, 0, 0, 0})
	f.Add([]byte{}, []byte{40, 0, 0, 10, 0, 1, 0, 20, 18, 1, 0, 0, 41, 0, 0, 8, 5, 0, 0, 0})
	f.Add([]byte("a\x00b"), []byte{33, 1, 0, 0, 34, 2, 32, 0, 49, 0, 0, 12, 200, 1, 2})
	f.Fuzz(func(t *testing.T, ro, code []byte) {
		p := &vm.Program{ROData: ro, Code: code}
		listing := Disassemble(p)
		if len(code)%vm.InstructionSize != 0 {
			return
		}
		q, err := Assemble(listing)
		if err != nil {
			t.Fatalf("listing does not assemble: %v\n%s", err, listing)
		}
		if !bytes.Equal(p.Code, q.Code) || !bytes.Equal(p.ROData, q.ROData) {
			t.Fatalf("round trip differs\n%x/%x\n%x/%x\n%s", ro, code, q.ROData, q.Code, listing)
		}
		if vm.Verify(p) == nil && vm.Verify(q) != nil {
			t.Fatal("verified program reassembled into an unverifiable one")
		}
	})
}

// FuzzLoadLiteral: `LOAD $r #v` leaves v in register r, whatever int32 v
// is and however it is written (decimal or hex; values outside 0..65535
// take LOAD then LUI), which a round trip through the disassembler
// cannot show: an encoding wrong both ways round-trips.
func FuzzLoadLiteral(f *testing.F) {
	for _, v := range []int32{0, 1, 65535, 65536, -1, -32768, 1 << 16, 0x12345678, -2147483648, 2147483647} {
		f.Add(v, uint8(5), false)
		f.Add(v, uint8(31), true)
	}
	f.Fuzz(func(t *testing.T, v int32, r uint8, hex bool) {
		r %= 32
		lit := strconv.Itoa(int(v))
		if hex {
			lit = "0x" + strconv.FormatUint(uint64(uint32(v)), 16)
			if v < 0 {
				lit = "-0x" + strconv.FormatUint(uint64(-int64(v)), 16)
			}
		}
		src := fmt.Sprintf("load $%d #%s\nhlt\n", r, lit)
		p, err := Assemble(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		m, err := vm.New(vm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Load(p); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Run(); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := m.Registers()[r]; got != v {
			t.Fatalf("%q: $%d = %d, want %d", src, r, got, v)
		}
	})
}
