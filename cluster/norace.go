//go:build !race

package cluster

// raceEnabled: this is a race-enabled build (see ioSync).
const raceEnabled = false
