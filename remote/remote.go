// Package remote serves the Iridium REPL over SSH, so that `ssh -p 2244
// localhost` on a node's machine gives its prompt. Users get in with the
// node's cookie as password, or with a key listed in the data directory's
// authorized_keys. Each session gets its own REPL (and default VM) on the
// node; the node's cluster manager is shared.
package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/repl"
)

// Config says where to listen and who may come in.
type Config struct {
	Addr               string // host:port
	HostKeyFile        string // created (ed25519, mode 0600) if missing
	AuthorizedKeysFile string // optional; missing means no key logins
	Cookie             []byte // the password
	// REPL is the template for every session's REPL: NewVM, Threads and
	// cluster access. The server fills in the streams and the terminal.
	REPL   repl.Config
	Logger *slog.Logger
}

// Server accepts SSH connections until Close. It owns every goroutine it
// starts: the accept loop, one per connection and one per session.
type Server struct {
	cfg    Config
	ssh    *ssh.ServerConfig
	ln     net.Listener
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen loads or creates the host key, reads the authorized keys and
// starts serving.
func Listen(cfg Config) (*Server, error) {
	if len(cfg.Cookie) == 0 {
		return nil, errors.New("remote: a cookie is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hostKey, err := loadHostKey(cfg.HostKeyFile)
	if err != nil {
		return nil, err
	}
	authorized, err := loadAuthorizedKeys(cfg.AuthorizedKeysFile)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: map[net.Conn]struct{}{}}
	s.ssh = &ssh.ServerConfig{
		PasswordCallback: func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			if subtle.ConstantTimeCompare(password, cfg.Cookie) == 1 {
				return nil, nil
			}
			return nil, fmt.Errorf("wrong password for %q", meta.User())
		},
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if authorized[string(key.Marshal())] {
				return nil, nil
			}
			return nil, fmt.Errorf("key not authorized for %q", meta.User())
		},
	}
	s.ssh.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("remote access: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, ends every session and waits for their
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return
			}
			s.log.Warn("remote accept", "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// track records a live connection so Close can end it; false once closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	// Bound the SSH handshake so a silent client cannot hold a slot.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(c, s.ssh)
	if err != nil {
		s.log.Info("remote login refused", "peer", c.RemoteAddr(), "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	s.log.Info("remote login", "peer", c.RemoteAddr(), "user", conn.User())
	s.wg.Add(1)
	go func() { // ends when the connection closes
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.serveSession(ch, requests)
		}()
	}
	// chans closes when the connection ends; close each session's channel
	// with it (serveSession returns once its REPL has stopped).
	sessions.Wait()
}

func loadHostKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "iridium host key")
		if err != nil {
			return nil, err
		}
		data = pem.EncodeToMemory(block)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("saving the SSH host key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("SSH host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("SSH host key %s: %w", path, err)
	}
	return signer, nil
}

// loadAuthorizedKeys reads an OpenSSH authorized_keys file; a missing file
// authorizes no keys.
func loadAuthorizedKeys(path string) (map[string]bool, error) {
	keys := map[string]bool{}
	if path == "" {
		return keys, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return keys, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	for len(data) > 0 {
		key, _, _, rest, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			break // ParseAuthorizedKey skips bad lines; err means no more keys
		}
		keys[string(key.Marshal())] = true
		data = rest
	}
	return keys, nil
}
