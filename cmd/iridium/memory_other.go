//go:build !linux

package main

// memory is what the node may use of the machine's memory; 0: unknown
// here, so that the heap total takes its fallback.
func memory() int64 { return 0 }
