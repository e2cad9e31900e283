#!/usr/bin/env bash
# pgo.sh: writes cmd/iridium/default.pgo, the CPU profile that `go build`,
# `go run` and `go install` of ./cmd/iridium use for profile-guided
# optimization (the go command picks up default.pgo in a main package's
# directory by itself).
#
# The profile is of the first ten workloads of this directory (count ...
# gcd), run in one process by `go test -bench Workload`: a profile of all
# sixteen ran the same on average but sieve 1.16x slower (bench/README.md,
# "Programs nobody tuned for"). Why it is committed: the dispatch
# loop is one very large function, and its speed depends on where its hot
# blocks fall relative to 64-byte lines; without a profile the same source
# ran 14 % slower in one build than in another (a static build against a
# cgo one) because the function started 32 bytes further on. With the
# profile the compiler aligns the hot blocks, and both builds run at the
# faster speed (bench/README.md: "The generated dispatch loop", step 7).
#
# Run it again after a change to the dispatch loop or to the workloads,
# on a quiet machine, and commit the new profile with default.pgo.loop,
# the SHA-256 of the vm/exec_gen.go it was made for (compare.sh warns when
# they differ). A stale profile is not wrong, only less useful: the
# compiler matches it by function and line.
#
# Usage: bench/pgo.sh        (BENCHTIME=5x to profile longer)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$root"
go test -c -o "$tmp/bench.test" ./bench
(cd "$here" && "$tmp/bench.test" -test.run '^$' -test.bench 'Workload/^(count|arith|fib|tak|collatz|sieve|matmul|print|sort|gcd)$' \
  -test.benchtime "${BENCHTIME:-3x}" -test.cpuprofile "$tmp/cpu.pprof" >/dev/null)
cp "$tmp/cpu.pprof" cmd/iridium/default.pgo
# The loop the profile was made for, so that compare.sh can warn when the
# loop has changed since.
sha256sum vm/exec_gen.go | cut -d' ' -f1 >cmd/iridium/default.pgo.loop
echo "wrote cmd/iridium/default.pgo ($(wc -c <cmd/iridium/default.pgo) bytes), for the loop in cmd/iridium/default.pgo.loop"
