package main

import (
	"bufio"
	"crypto/tls"
	be "encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// plainBinary builds iridium without the race detector, whose shadow
// memory would hide what the node itself uses.
var plainBinary = sync.OnceValues(func() (string, error) {
	path := binary + "-plain"
	build := exec.Command("go", "build", "-o", path, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return path, nil
})

// peakRSS is the most resident memory process pid has used, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestPreAuthFloodMemory: 1000 strangers each open a TLS connection, read
// the Challenge and send most of a 1 MiB Hello. Before authentication a
// frame over 4 KiB closes the connection, so the node never holds their
// bytes: its peak RSS stays under 100 MB, and it still takes a member.
func TestPreAuthFloodMemory(t *testing.T) {
	bin, err := plainBinary()
	if err != nil {
		t.Fatal(err)
	}
	start := func(alias string, extra ...string) (*replNode, string) {
		args := append([]string{"--daemon-mode", "-P", "0", "--node-alias", alias, "--cookie", "c",
			"--data-root-dir", filepath.Join(t.TempDir(), alias)}, extra...)
		n := startProc(t, alias, exec.Command(bin, args...))
		return n, n.expect(alias + ` listening on 127\.0\.0\.1:(\d+)\n`)[1]
	}
	victim, port := start("victim")
	addr := "127.0.0.1:" + port

	const conns, parallel = 1000, 50
	hello := be.BigEndian.AppendUint32(nil, 1<<20) // L = 1 MiB
	hello = append(hello, 1)                       // Hello
	chunk := make([]byte, 64<<10)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		held     []net.Conn
		accepted int // connections that got a Challenge
	)
	sem := make(chan struct{}, parallel)
	for range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			tc := tls.Client(c, &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
			if tc.Handshake() != nil {
				return
			}
			var hdr [5]byte
			if _, err := io.ReadFull(tc, hdr[:]); err != nil {
				return
			}
			body := make([]byte, be.BigEndian.Uint32(hdr[:4])-1)
			if _, err := io.ReadFull(tc, body); err != nil || hdr[4] != 9 {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			if _, err := tc.Write(hello); err != nil {
				return
			}
			for sent := 0; sent < 900<<10; sent += len(chunk) {
				if _, err := tc.Write(chunk); err != nil {
					return // closed by the node, as it should
				}
			}
		}()
	}
	wg.Wait()
	peak := peakRSS(t, victim.cmd.Process.Pid)
	mu.Lock()
	for _, c := range held {
		c.Close()
	}
	got := accepted
	mu.Unlock()
	t.Logf("%d of %d connections got a Challenge; node's peak RSS %.1f MB", got, conns, float64(peak)/(1<<20))
	if got < conns/2 {
		t.Fatalf("only %d connections got as far as the Challenge: the attack was not made", got)
	}
	if peak >= 100<<20 {
		t.Fatalf("peak RSS %.1f MB, want under 100 MB", float64(peak)/(1<<20))
	}

	// The node still serves: a member joins.
	joiner, _ := start("joiner", "--join", addr)
	joiner.expect(`members 2\n`)
	victim.expect(`members 2\n`)
}
