package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// memory is what the node may use of the machine's memory: its RAM, or
// the memory limit of the control group (a container's) it runs in, as
// the group's root sees it, if that is lower; 0 if neither can be read.
func memory() int64 {
	var info syscall.Sysinfo_t
	total := int64(0)
	if syscall.Sysinfo(&info) == nil {
		total = int64(info.Totalram) * int64(info.Unit)
	}
	// cgroup v2 says "max" or a byte count; v1 a byte count, near 2^63
	// for none.
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
	}
	return total
}
