package remote

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestLoginDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 100 * ms}, {2, 200 * ms}, {3, 400 * ms}, {4, 800 * ms},
		{7, 6400 * ms}, {8, loginDelayMax}, {9, loginDelayMax}, {1 << 20, loginDelayMax},
	}
	for _, tc := range tests {
		if got := loginDelay(tc.failures); got != tc.want {
			t.Errorf("loginDelay(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
	if loginDelayMax >= loginQuietPeriod {
		t.Errorf("loginDelayMax %v must be shorter than loginQuietPeriod %v", loginDelayMax, loginQuietPeriod)
	}
}

// throttleStep is one event in the life of a loginThrottle; times are
// offsets from the start of the scenario.
type throttleStep struct {
	op          string // "begin", "fail", "pass" (a check's result) or "login"
	ip          string
	at, arrived time.Duration // arrived: when the attempt came in (begin only)
	want        time.Duration // begin's answer: how long still to wait
}

func begin(ip string, at, arrived, want time.Duration) throttleStep {
	return throttleStep{op: "begin", ip: ip, at: at, arrived: arrived, want: want}
}
func fail(ip string, at time.Duration) throttleStep { return throttleStep{op: "fail", ip: ip, at: at} }
func pass(ip string, at time.Duration) throttleStep { return throttleStep{op: "pass", ip: ip, at: at} }
func login(ip string) throttleStep                  { return throttleStep{op: "login", ip: ip} }

// TestLoginThrottle plays scenarios against the throttle on a made-up
// clock and checks every wait it asks for.
func TestLoginThrottle(t *testing.T) {
	const a, b = "192.0.2.1", "192.0.2.2"
	ms := time.Millisecond
	tests := []struct {
		name  string
		steps []throttleStep
	}{
		{"each failure doubles the next wait", []throttleStep{
			begin(a, 0, 0, 0), fail(a, 0),
			begin(a, 10*ms, 10*ms, 100*ms), begin(a, 110*ms, 10*ms, 0), fail(a, 110*ms),
			begin(a, 110*ms, 110*ms, 200*ms), begin(a, 310*ms, 110*ms, 0), fail(a, 310*ms),
			begin(a, 310*ms, 310*ms, 400*ms),
		}},
		{"the wait runs from the attempt's arrival", []throttleStep{
			begin(a, 0, 0, 0), fail(a, 0),
			begin(a, 5*time.Second, 5*time.Second, 100*ms),
		}},
		{"other addresses are not held back", []throttleStep{
			begin(a, 0, 0, 0), fail(a, 0), begin(a, 0, 0, 100*ms), begin(a, 100*ms, 0, 0), fail(a, 100*ms),
			begin(b, 100*ms, 100*ms, 0), pass(b, 100*ms),
			begin(a, 100*ms, 100*ms, 200*ms),
		}},
		{"parallel attempts take turns", []throttleStep{
			begin(a, 0, 0, 0), begin(a, 0, 0, 100*ms), // the second waits as if the first failed
			pass(a, 0), begin(a, 0, 0, 0), fail(a, 0),
			begin(a, 100*ms, 0, 0), begin(a, 100*ms, 0, 200*ms), fail(a, 100*ms),
			begin(a, 300*ms, 0, 0),
		}},
		{"an accepted key keeps the failures", []throttleStep{
			begin(a, 0, 0, 0), fail(a, 0),
			begin(a, 100*ms, 0, 0), pass(a, 100*ms),
			begin(a, 100*ms, 100*ms, 100*ms),
		}},
		{"a login forgets the address", []throttleStep{
			begin(a, 0, 0, 0), fail(a, 0), begin(a, 100*ms, 0, 0), fail(a, 100*ms),
			login(a),
			begin(a, 100*ms, 100*ms, 0),
		}},
		{"a quiet period starts afresh", []throttleStep{
			begin(a, 0, 0, 0), fail(a, 0),
			begin(a, loginQuietPeriod-time.Second, loginQuietPeriod-time.Second, 100*ms),
			begin(a, loginQuietPeriod, loginQuietPeriod, 0),
		}},
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := newLoginThrottle(slog.New(slog.DiscardHandler))
			for i, st := range tc.steps {
				ip, now := netip.MustParseAddr(st.ip), start.Add(st.at)
				switch st.op {
				case "begin":
					if got := th.begin(ip, start.Add(st.arrived), now); got != st.want {
						t.Fatalf("step %d: begin(%s, arrived %v) at %v = %v, want %v", i, st.ip, st.arrived, st.at, got, st.want)
					}
				case "fail", "pass":
					th.end(ip, now, st.op == "pass")
				case "login":
					th.forget(ip)
				}
			}
		})
	}
}

// The table of addresses stays within its bound however many addresses
// fail, dropping quiet ones first, then the longest quiet.
func TestLoginThrottleIsBounded(t *testing.T) {
	th := newLoginThrottle(slog.New(slog.DiscardHandler))
	th.maxAddrs = 4
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failAt := func(i int, at time.Duration) {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		now := start.Add(at)
		if wait := th.begin(ip, now, now); wait != 0 {
			t.Fatalf("a first attempt from %v waits %v", ip, wait)
		}
		th.end(ip, now, false)
	}
	tracked := func() string {
		var s []string
		for i := range 8 {
			if th.addrs[netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})] != nil {
				s = append(s, fmt.Sprint(i))
			}
		}
		return fmt.Sprint(len(th.addrs), s)
	}

	for i := range 5 { // 4 fills the table; 5 drops 0, the longest quiet
		failAt(i, time.Duration(i)*time.Second)
	}
	if got, want := tracked(), "4 [1 2 3 4]"; got != want {
		t.Errorf("after 5 addresses: %s, want %s", got, want)
	}
	// 1 and 2 have been quiet for the quiet period: both go for 5.
	failAt(5, 2*time.Second+loginQuietPeriod)
	if got, want := tracked(), "3 [3 4 5]"; got != want {
		t.Errorf("after a quiet period: %s, want %s", got, want)
	}
	for i := range 10000 {
		failAt(1000+i, 3*time.Second+loginQuietPeriod)
		if len(th.addrs) > th.maxAddrs {
			t.Fatalf("%d addresses tracked, bound %d", len(th.addrs), th.maxAddrs)
		}
	}
	// Checks that pass leave nothing behind.
	th = newLoginThrottle(slog.New(slog.DiscardHandler))
	for i := range 100 {
		ip := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
		th.begin(ip, start, start)
		th.end(ip, start, true)
	}
	if len(th.addrs) != 0 {
		t.Errorf("%d addresses tracked after checks that passed", len(th.addrs))
	}
}

func TestLoginSource(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}, "127.0.0.1"},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40001}, "127.0.0.1"},
		{&net.TCPAddr{IP: net.ParseIP("127.0.4.9"), Port: 40001}, "127.0.0.1"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 40001}, "127.0.0.1"},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 22}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 22}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 22}, "2001:db8::1"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::ffff:1"), Port: 22}, "2001:db8::ffff:1"},
		{&net.UnixAddr{Name: "/tmp/sock", Net: "unix"}, "invalid IP"},
	}
	for _, tc := range tests {
		if got := loginSource(tc.addr).String(); got != tc.want {
			t.Errorf("loginSource(%v) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}
