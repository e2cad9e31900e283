package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// memory is what the node may use of the machine's memory: its RAM, or
// the memory limit of its control group (a container's) if that is lower;
// 0 if neither can be read.
func memory() int64 {
	var info syscall.Sysinfo_t
	total := int64(0)
	if syscall.Sysinfo(&info) == nil {
		total = int64(info.Totalram) * int64(info.Unit)
	}
	// cgroup v2 gives "max" or a byte count.
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
	}
	return total
}
