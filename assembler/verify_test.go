package assembler

import (
	"bytes"
	"testing"

	"github.com/iridium-go/iridium/vm"
)

// A program to run must be one the VM accepts, and what it would refuse is
// reported at the source's line and column: direct targets past the end of
// the code always, raw .words when the program is loaded to run (Load, a
// Session). Assemble, which the disassembler's listings go back through,
// keeps any .word as it is.
func TestRunnableCode(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // Load's error; "" for none
		code []byte // the code Load returns, when want is ""
	}{
		{"target at the end", "djmp #4", "", code(vm.EncodeImm24(vm.OpDjmp, 4))},
		{"target past the end", "djmp #8", "1:6: DJMP target #8 is past the end of the code (0x0004)", nil},
		{"valid word", ".word #0x31000000", "", []byte{0x31, 0, 0, 0}},
		{"unknown opcode", "hlt\n  .word #0xff000000", "2:3: .word #0xff000000 is not an instruction the VM accepts: unknown opcode", nil},
		{"register out of range", ".word #0x12280000", "1:1: .word #0x12280000 is not an instruction the VM accepts: register operand out of range: $40", nil},
		{"unused byte set", ".word #0x05000001", "1:1: .word #0x05000001 is not an instruction the VM accepts: unused operand byte is not zero: byte 3 is 0x1", nil},
		{"word jumping past the end", ".word #0x31000008", "1:1: .word #0x31000008 is not an instruction the VM accepts: jump target outside the code or not a multiple of 4", nil},
		{"word jumping to the end", ".word #0x31000004", "", []byte{0x31, 0, 0, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := Load([]byte(tc.src))
			if tc.want != "" {
				if err == nil || err.Error() != tc.want {
					t.Fatalf("Load: error %v, want %q", err, tc.want)
				}
				if _, serr := NewSession().Assemble(tc.src); serr == nil || serr.Error() != tc.want {
					t.Errorf("Session: error %v, want %q", serr, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !bytes.Equal(p.Code, tc.code) {
				t.Errorf("code % x, want % x", p.Code, tc.code)
			}
			if err := vm.Verify(p); err != nil {
				t.Errorf("vm.Verify refuses what Load accepted: %v", err)
			}
		})
	}
}

// A listing of code the VM refuses assembles back to the same bytes.
func TestAssembleKeepsRawWords(t *testing.T) {
	p, err := Assemble("hlt\n.word #0xff000000\n.word #0x31000008")
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{5, 0, 0, 0, 0xff, 0, 0, 0, 0x31, 0, 0, 8}; !bytes.Equal(p.Code, want) {
		t.Errorf("code % x, want % x", p.Code, want)
	}
}

// In a session a numeric target may point into earlier chunks, or at the
// end of the code so far, and not past it.
func TestSessionTargets(t *testing.T) {
	s := NewSession()
	if _, err := s.Assemble("nop\nnop"); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"djmp #4", "call #0", "djmp #16"} {
		if _, err := s.Assemble(src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	want := "1:6: DJMP target #28 is past the end of the code (0x0018)"
	if _, err := s.Assemble("djmp #28"); err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
