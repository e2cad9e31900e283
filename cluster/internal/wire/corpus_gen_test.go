package wire

import (
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/iridium-go/iridium/internal/testutil"
)

// TestWriteSeedCorpus rewrites testdata/fuzz/* from sampleMessages when
// WIRE_WRITE_CORPUS is set; otherwise it checks the files are there.
func TestWriteSeedCorpus(t *testing.T) {
	seed := func(target string, args ...string) testutil.Seed { return testutil.Seed{Target: target, Args: args} }
	q := testutil.Bytes
	var seeds []testutil.Seed
	for _, m := range sampleMessages() {
		fr, err := AppendFrame(nil, m, DefaultMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := m.MarshalMsg(nil)
		seeds = append(seeds,
			seed("FuzzDecodeFrame", q(fr)),
			seed("FuzzDecodeFrame", q(append(fr, fr[:len(fr)/2]...))), // truncated second frame
			seed("FuzzDecodeMessage", testutil.Byte(uint8(m.Type())), q(body)),
		)
	}
	huge := msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "nodes"), 1<<31)
	seeds = append(seeds,
		seed("FuzzDecodeFrame", q([]byte{0, 0, 0, 0, 5})),
		seed("FuzzDecodeFrame", q([]byte{0, 0x10, 0, 1, 10})),
		seed("FuzzDecodeFrame", q([]byte{0, 0, 0, 2, 99, 0x80})),
		seed("FuzzDecodeMessage", testutil.Byte(8), q(huge)),
		seed("FuzzDecodeMessage", testutil.Byte(1), q([]byte{0x81, 0xa4, 'p', 'o', 'r', 't', 0xce, 0, 1, 0, 0})),
	)
	testutil.SeedCorpus(t, "WIRE_WRITE_CORPUS", seeds)
}
