package wire

import "testing"

// TestAliasHash pins the digest's definition: nodes of any version must
// compute the same number for the same members.
func TestAliasHash(t *testing.T) {
	for _, tc := range []struct {
		alias string
		want  uint64
	}{
		{"a", 0xca978112ca1bbdca}, // SHA-256("a") = ca978112ca1bbdca fac231b3...
		{"", 0xe3b0c44298fc1c14},  // SHA-256("") = e3b0c44298fc1c14 9afbf4c8...
	} {
		if got := AliasHash(tc.alias); got != tc.want {
			t.Errorf("AliasHash(%q) = %#x, want %#x", tc.alias, got, tc.want)
		}
	}
}

// TestDecodeHeartbeatAllocatesNothing: a reader that keeps its Ping and
// Pong decodes an idle connection's frames without allocating.
func TestDecodeHeartbeatAllocatesNothing(t *testing.T) {
	body, err := (&Ping{Seq: 9, Digest: 77}).MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ping Ping
	allocs := testing.AllocsPerRun(100, func() {
		ping = Ping{}
		if err := DecodeInto(&ping, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 || ping.Seq != 9 || ping.Digest != 77 {
		t.Errorf("Decode: %v allocations, got %+v", allocs, ping)
	}
}
