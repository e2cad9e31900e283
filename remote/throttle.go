package remote

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The login delay of a source address: after its n-th failed credential
// check in a row, each attempt from it waits loginDelay(n) before being
// checked. From the 8th failure the delay reaches loginDelayMax, which
// outlasts the default login timeout: the address's connections are then
// closed unchecked until it has gone loginQuietPeriod without a check.
const (
	loginDelayFirst = 100 * time.Millisecond
	loginDelayMax   = 10 * time.Second
	// loginQuietPeriod: an address with no check for this long starts
	// afresh. It is longer than loginDelayMax, so that the waits never
	// outlast it and pausing to start afresh pays less than retrying.
	loginQuietPeriod = time.Minute
	// maxThrottledAddrs bounds the table of addresses, about 100 bytes
	// each.
	maxThrottledAddrs = 4096
)

// loginDelay is how long an attempt waits after failures failed checks in
// a row: none for the first, then doubling from loginDelayFirst up to
// loginDelayMax.
func loginDelay(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := loginDelayFirst
	for i := 1; i < failures && d < loginDelayMax; i++ {
		d *= 2
	}
	return min(d, loginDelayMax)
}

// loginThrottle slows credential guessing per source address. Every
// password or key check goes through check, which holds the attempt back
// until the address's delay has passed; each failure doubles the delay.
// Checks from one address are also spaced out across its connections: an
// attempt that starts a check pushes the address's next check back by the
// delay a failure would earn, so parallel connections get no more checks
// than one.
//
// The table holds only addresses with a failure or a check under way, at
// most maxAddrs of them: when it is full, a new address first drops those
// quiet for loginQuietPeriod, else the longest quiet one.
type loginThrottle struct {
	log      *slog.Logger
	maxAddrs int

	mu    sync.Mutex // guards addrs; never held while waiting
	addrs map[netip.Addr]*addrLogins
}

// addrLogins is the state of one source address.
type addrLogins struct {
	failures int       // failed checks in a row
	next     time.Time // no check from the address starts before this
	seen     time.Time // when its last check started
}

func newLoginThrottle(log *slog.Logger) *loginThrottle {
	return &loginThrottle{log: log, maxAddrs: maxThrottledAddrs, addrs: map[netip.Addr]*addrLogins{}}
}

// check runs try, the check of one attempt from ip, once the address's
// delay has passed, and records the result. A wait cut short by ctx (the
// login timeout, or the server closing) fails the attempt unchecked.
func (t *loginThrottle) check(ctx context.Context, ip netip.Addr, try func() error) error {
	arrived := time.Now()
	for {
		wait := t.begin(ip, arrived, time.Now())
		if wait == 0 {
			break
		}
		t.log.Debug("remote login delayed", "peer", ip, "wait", wait)
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return context.Cause(ctx)
		}
	}
	err := try()
	t.end(ip, time.Now(), err == nil)
	return err
}

// begin returns how long an attempt from ip that arrived at arrived must
// still wait, or 0 if it may be checked now, in which case it has claimed
// the address and end must follow.
func (t *loginThrottle) begin(ip netip.Addr, arrived, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.lookup(ip, now)
	ready := arrived.Add(loginDelay(a.failures))
	if a.next.After(ready) {
		ready = a.next
	}
	if now.Before(ready) {
		return ready.Sub(now)
	}
	// Until end, any other attempt waits as if this one had failed.
	a.next = now.Add(loginDelay(a.failures + 1))
	a.seen = now
	return 0
}

// end records the result of the check begin let through. A check that
// passes releases the address but keeps its failures: a key the server
// accepts is not yet a login (the client has still to sign), and only a
// login forgets the address.
func (t *loginThrottle) end(ip netip.Addr, now time.Time, passed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.lookup(ip, now)
	if passed {
		if a.failures == 0 {
			delete(t.addrs, ip)
		} else {
			a.next = now
		}
		return
	}
	a.failures++
	a.next = now.Add(loginDelay(a.failures))
}

// forget clears ip's failures after a login from it.
func (t *loginThrottle) forget(ip netip.Addr) {
	t.mu.Lock()
	delete(t.addrs, ip)
	t.mu.Unlock()
}

// lookup returns ip's entry, made or restarted if the address has been
// quiet for loginQuietPeriod. t.mu is held.
func (t *loginThrottle) lookup(ip netip.Addr, now time.Time) *addrLogins {
	a := t.addrs[ip]
	if a != nil && now.Sub(a.seen) >= loginQuietPeriod {
		*a = addrLogins{seen: now}
	}
	if a == nil {
		if len(t.addrs) >= t.maxAddrs {
			t.evict(now)
		}
		a = &addrLogins{seen: now}
		t.addrs[ip] = a
	}
	return a
}

// evict makes room for one address: it drops every address quiet for
// loginQuietPeriod and, if that frees nothing, the longest quiet one. It
// scans the table, which is bounded, once per new address while full.
// t.mu is held.
func (t *loginThrottle) evict(now time.Time) {
	var oldest netip.Addr
	var oldestSeen time.Time
	found := false
	for ip, a := range t.addrs {
		if now.Sub(a.seen) >= loginQuietPeriod {
			delete(t.addrs, ip)
			continue
		}
		if !found || a.seen.Before(oldestSeen) {
			oldest, oldestSeen, found = ip, a.seen, true
		}
	}
	if len(t.addrs) >= t.maxAddrs {
		delete(t.addrs, oldest)
	}
}

// loginSource is the source whose logins are throttled together, and
// whose connections not logged in are counted together when the cap makes
// room: the IP of addr (exactIP), except that every loopback address
// (127.0.0.0/8, ::1) is one source, 127.0.0.1, since any local user may
// send from any of them: one client could otherwise spread its guesses
// over sixteen million addresses, each with its own delay. IPv6 addresses
// count one by one: a /64 is a whole LAN as often as one host.
func loginSource(addr net.Addr) netip.Addr {
	ip := exactIP(addr)
	if ip.IsLoopback() {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return ip
}

// exactIP is the IP of addr, without the port (each connection has its
// own) and with IPv4-mapped IPv6 addresses unmapped. Any other kind of
// address is the zero Addr.
func exactIP(addr net.Addr) netip.Addr {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
