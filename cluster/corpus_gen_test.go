package cluster

import (
	"testing"

	"github.com/iridium-go/iridium/internal/testutil"
)

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzHandshake from
// handshakeSeeds when CLUSTER_WRITE_CORPUS is set; otherwise it checks the
// files are there.
func TestWriteSeedCorpus(t *testing.T) {
	var seeds []testutil.Seed
	for _, hs := range handshakeSeeds() {
		seeds = append(seeds, testutil.Seed{Target: "FuzzHandshake", Args: []string{testutil.Byte(hs.mode), testutil.Bytes(hs.data)}})
	}
	testutil.SeedCorpus(t, "CLUSTER_WRITE_CORPUS", seeds)
}
