package cluster

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
)

// memNet is an in-memory network of listeners on 127.0.0.1 whose
// connections are net.Pipe pairs. A process may hold only so many
// descriptors (20,000 on the benchmark machine), and a full mesh of N nodes
// in one process over loopback TCP needs N(N-1) of them: 200 nodes do not
// fit. Nodes on a memNet behave as on TCP (TLS, frames, deadlines) without
// the kernel.
type memNet struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	nextPort  int
}

func newMemNet() *memNet {
	return &memNet{listeners: make(map[string]*memListener), nextPort: 20000}
}

// use makes m listen and dial on the network; call before Start.
func (n *memNet) use(m *Manager) {
	m.listen = n.listen
	m.dialContext = n.dial
}

func (n *memNet) port() int {
	n.nextPort++
	return n.nextPort
}

func (n *memNet) listen(network, addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if port == "0" {
		port = strconv.Itoa(n.port())
	}
	addr = net.JoinHostPort(host, port)
	if n.listeners[addr] != nil {
		return nil, errors.New("memnet: address in use")
	}
	p, _ := strconv.Atoi(port)
	l := &memListener{net: n, addr: &net.TCPAddr{IP: net.ParseIP(host), Port: p},
		conns: make(chan net.Conn, 128), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

func (n *memNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[addr]
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: n.port()}
	n.mu.Unlock()
	if l == nil {
		return nil, errors.New("memnet: connection refused")
	}
	c, s := net.Pipe()
	client := &memConn{Conn: c, local: local, remote: l.addr}
	server := &memConn{Conn: s, local: l.addr, remote: local}
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	c.Close()
	s.Close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, errors.New("memnet: connection refused")
}

type memListener struct {
	net   *memNet
	addr  *net.TCPAddr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, l.addr.String())
		l.net.mu.Unlock()
		for {
			select {
			case c := <-l.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

// memConn is one end of a pipe with TCP addresses.
type memConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }
