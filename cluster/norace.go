//go:build !race

package cluster

// raceEnabled says whether this is a race-enabled build (see ioSync).
const raceEnabled = false
