package cluster

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair is both ends of a loopback TCP connection, closed when the test
// ends.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	far, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	near, err := ln.Accept()
	if err != nil {
		far.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { near.Close(); far.Close() })
	return near.(*net.TCPConn), far.(*net.TCPConn)
}

// waitWaiting waits, bounded, until the kernel holds bytes of c (the far
// end's write has crossed loopback).
func waitWaiting(t *testing.T, c net.Conn) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !bytesWaiting(c); {
		if time.Now().After(deadline) {
			t.Fatal("the far end's bytes never arrived")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSilenceGraceSeesBytesWaiting: a peer whose frame is in the kernel
// when its reader's heartbeat deadline passes is alive, and the reader
// gets a whole timeout to read it; a peer that sent nothing gets one short
// read, then is dropped. A read past its deadline does not look at the
// socket (the first check below), which is why the reader asks the kernel.
func TestSilenceGraceSeesBytesWaiting(t *testing.T) {
	m, err := New(testConfig(t, "w"))
	if err != nil {
		t.Fatal(err)
	}
	timeout := m.cfg.HeartbeatTimeout
	cases := []struct {
		name    string
		far     func(far *net.TCPConn) // what the far end does before the deadline
		waiting bool
		first   time.Duration // silenceGrace(0)
		second  bool          // whether silenceGrace(1) waits too
	}{
		{"silent", func(*net.TCPConn) {}, false, recheckWait, false},
		{"a frame came", func(far *net.TCPConn) { far.Write([]byte{0, 0, 0, 1, 7}) }, true, timeout, true},
		{"it closed", func(far *net.TCPConn) { far.Close() }, true, timeout, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			near, far := tcpPair(t)
			tc.far(far)
			if tc.waiting {
				waitWaiting(t, near)
				near.SetReadDeadline(time.Now().Add(-time.Second))
				if _, err := near.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("a read past its deadline with bytes waiting gave %v, want the deadline's error", err)
				}
			} else if bytesWaiting(near) {
				t.Fatal("bytes waiting on a connection nobody wrote to")
			}
			p := &peer{m: m, raw: near}
			if wait, ok := p.silenceGrace(0); !ok || wait != tc.first {
				t.Errorf("first grace %v %v, want %v true", wait, ok, tc.first)
			}
			if wait, ok := p.silenceGrace(1); ok != tc.second || ok && wait != timeout {
				t.Errorf("second grace %v %v, want %v (a timeout if it waits)", wait, ok, tc.second)
			}
		})
	}
}
