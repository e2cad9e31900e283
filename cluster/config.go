package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iridium-go/iridium/cluster/internal/wire"
	"github.com/iridium-go/iridium/internal/escape"
)

// Config configures one node's Manager. DefaultConfig returns it filled in;
// New rejects bad values. A zero duration, a zero MaxFrameSize, an empty Host
// and a nil Logger take the DefaultConfig value; Alias and Cookie have no
// default.
type Config struct {
	// Alias is the node's name in the cluster: 1 to 255 bytes of UTF-8 with
	// no white space or control characters.
	Alias string
	// Host and Port are the listen address. Port 0 picks a free port; the
	// node then announces the port it really got.
	Host string
	Port int
	// Cookie is the cluster secret, the HMAC-SHA256 key of the handshake.
	Cookie []byte
	// Certificate is what the node presents on every TLS connection it
	// accepts. Nobody checks it (the cookie decides who may join), so a
	// self-made one does; nil makes a fresh one in New (NewCertificate).
	Certificate *tls.Certificate

	// HandshakeTimeout bounds every step of a handshake (dial, each frame).
	HandshakeTimeout time.Duration
	// HeartbeatInterval is how often a node looks at its connections, on
	// the multiples of the interval since the Unix epoch. The end of a
	// connection with the smaller alias Pings it when it heard or sent
	// nothing for as many whole intervals as fit in four fifths of the
	// timeout, leaving at least one (minus half an interval): 2 s with the
	// defaults.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout: a peer that sends nothing for this long is dropped.
	// It must exceed twice HeartbeatInterval.
	HeartbeatTimeout time.Duration
	// GossipInterval: a member whose list has not changed for this long
	// sends it to every peer whose list differs (their digests tell), at
	// most this often (anti-entropy), so that a member missed by a lost
	// Members message or a failed dial is found again. Zero means four
	// HeartbeatIntervals.
	GossipInterval time.Duration
	// RedialMaxInterval caps the backoff between two dials to a member this
	// node wants but has no connection to: one it lost (its connection
	// failed or fell silent) or one a peer still announces. Zero means four
	// HeartbeatTimeouts, at most DefaultRedialMaxInterval.
	RedialMaxInterval time.Duration
	// RedialFor is how long a lost member is redialled before it is
	// forgotten; a node that has no peer left keeps redialling its lost
	// members until Leave or Shutdown. Zero means DefaultRedialFor.
	RedialFor time.Duration
	// MaxFrameSize is the largest allowed frame length L (type byte + body)
	// on an authenticated connection; before, it is 4 KiB.
	MaxFrameSize int
	// MaxPendingHandshakes bounds the incoming connections not yet
	// authenticated. When it is reached, one of them is closed to make
	// room (the oldest still in its TLS handshake, else the oldest), so
	// that idle or slow connections cannot lock a joining node out. Zero
	// means DefaultMaxPendingHandshakes.
	MaxPendingHandshakes int
	// MaxDials bounds the outgoing member dials in flight, whatever Members
	// messages ask for; the rest wait their turn. Zero means DefaultMaxDials.
	// When a whole cluster forms at once on few cores, every handshake in
	// flight shares them, and so do the heartbeats: with 200 nodes on 2
	// cores, 64 dials each made handshakes outlast HandshakeTimeout and the
	// cluster never formed (the failed ones are redialled, more load). With
	// one thread per daemon, 8 each formed it in about 29 s, but with about
	// 5,000 connections dropped for silence on the way (heartbeats waiting
	// behind a run queue full of handshakes); 4 each form it in about 20 s
	// with several hundred.
	// On a network, 4 dials of a few round trips each still meet 200
	// members in a second or two.
	MaxDials int
	// SpawnTimeout bounds the wait for a member's answer to a Spawn: a
	// member that has not answered by then (it is stuck, or hostile) makes
	// the spawn fail with ErrSpawnTimeout, and a process it starts
	// afterwards is killed, since nobody waits for it. Zero means
	// DefaultSpawnTimeout.
	SpawnTimeout time.Duration
	// Logger receives the manager's logs; nil discards them.
	Logger *slog.Logger
}

// Defaults of DefaultConfig.
const (
	DefaultHost              = "127.0.0.1"
	DefaultPort              = 2254
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultHeartbeatInterval = 500 * time.Millisecond
	DefaultHeartbeatTimeout  = 2500 * time.Millisecond
	DefaultGossipInterval    = 2 * time.Second
	DefaultRedialMaxInterval = 2 * time.Second
	DefaultRedialFor         = 10 * time.Minute
	DefaultSpawnTimeout      = 30 * time.Second

	DefaultMaxPendingHandshakes = 256
	DefaultMaxDials             = 4

	// DefaultMaxFrameSize is the protocol's default frame limit, 1 MiB.
	DefaultMaxFrameSize = wire.DefaultMaxFrameSize
)

// DefaultConfig returns the configuration of a node on 127.0.0.1:2254 with
// the protocol's default timeouts: a dead peer is dropped within
// HeartbeatTimeout (2.5 s). Alias and Cookie are left empty: every node must
// set them.
func DefaultConfig() Config {
	return Config{
		Host:                 DefaultHost,
		Port:                 DefaultPort,
		HandshakeTimeout:     DefaultHandshakeTimeout,
		HeartbeatInterval:    DefaultHeartbeatInterval,
		HeartbeatTimeout:     DefaultHeartbeatTimeout,
		GossipInterval:       DefaultGossipInterval,
		RedialMaxInterval:    DefaultRedialMaxInterval,
		RedialFor:            DefaultRedialFor,
		MaxFrameSize:         DefaultMaxFrameSize,
		MaxPendingHandshakes: DefaultMaxPendingHandshakes,
		MaxDials:             DefaultMaxDials,
		Logger:               slog.New(slog.DiscardHandler),
	}
}

// DefaultLocalConfig is DefaultConfig for nodes on one machine (tests,
// benchmarks): a free port on 127.0.0.1, a shorter handshake timeout and
// faster heartbeats (a dead peer is dropped within 1 s; the timeout is ten
// intervals so that a loaded machine does not drop live peers), and faster
// gossip and redials.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.Port = 0
	c.HandshakeTimeout = 2 * time.Second
	c.HeartbeatInterval = 100 * time.Millisecond
	c.HeartbeatTimeout = time.Second
	c.GossipInterval = 500 * time.Millisecond
	c.RedialMaxInterval = 500 * time.Millisecond
	return c
}

// withDefaults fills the zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Host == "" {
		c.Host = d.Host
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = d.HandshakeTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = d.HeartbeatInterval
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = max(d.HeartbeatTimeout, 5*c.HeartbeatInterval)
	}
	if c.GossipInterval == 0 {
		c.GossipInterval = 4 * c.HeartbeatInterval
	}
	if c.RedialMaxInterval == 0 {
		c.RedialMaxInterval = min(4*c.HeartbeatTimeout, DefaultRedialMaxInterval)
	}
	if c.RedialFor == 0 {
		c.RedialFor = DefaultRedialFor
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = d.MaxFrameSize
	}
	if c.MaxPendingHandshakes == 0 {
		c.MaxPendingHandshakes = d.MaxPendingHandshakes
	}
	if c.MaxDials == 0 {
		c.MaxDials = d.MaxDials
	}
	if c.SpawnTimeout == 0 {
		c.SpawnTimeout = DefaultSpawnTimeout
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	c.Cookie = append([]byte(nil), c.Cookie...)

	var errs []error
	if err := CheckAlias(c.Alias); err != nil {
		errs = append(errs, fmt.Errorf("cluster: %w", err))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("cluster: Port %d is out of range 0..65535", c.Port))
	}
	if len(c.Cookie) == 0 {
		errs = append(errs, errors.New("cluster: Cookie is required"))
	}
	if c.SpawnTimeout < 0 {
		errs = append(errs, fmt.Errorf("cluster: SpawnTimeout %v must be positive", c.SpawnTimeout))
	}
	if c.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("cluster: HandshakeTimeout %v must be positive", c.HandshakeTimeout))
	}
	if c.HeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("cluster: HeartbeatInterval %v must be positive", c.HeartbeatInterval))
	}
	if c.HeartbeatTimeout <= 2*c.HeartbeatInterval {
		// A quiet connection Pings at most an interval after it has been
		// quiet for the timeout minus two intervals: the gap between two
		// frames stays an interval short of the timeout.
		errs = append(errs, fmt.Errorf("cluster: HeartbeatTimeout %v must exceed twice HeartbeatInterval %v",
			c.HeartbeatTimeout, c.HeartbeatInterval))
	}
	if c.GossipInterval < 0 {
		errs = append(errs, fmt.Errorf("cluster: GossipInterval %v must be positive", c.GossipInterval))
	}
	if c.RedialMaxInterval < 0 {
		errs = append(errs, fmt.Errorf("cluster: RedialMaxInterval %v must be positive", c.RedialMaxInterval))
	}
	if c.RedialFor < 0 {
		errs = append(errs, fmt.Errorf("cluster: RedialFor %v must be positive", c.RedialFor))
	}
	if c.MaxFrameSize < wire.MinMaxFrameSize {
		errs = append(errs, fmt.Errorf("cluster: MaxFrameSize %d is below %d", c.MaxFrameSize, wire.MinMaxFrameSize))
	}
	if c.MaxPendingHandshakes < 0 {
		errs = append(errs, fmt.Errorf("cluster: MaxPendingHandshakes %d must be positive", c.MaxPendingHandshakes))
	}
	if c.MaxDials < 0 {
		errs = append(errs, fmt.Errorf("cluster: MaxDials %d must be positive", c.MaxDials))
	}
	return c, errors.Join(errs...)
}

// SplitHostPort splits a member's address, HOST:PORT, where PORT is a
// listening port (1 to 65535). It checks the form only: the host is
// resolved when it is dialled.
func SplitHostPort(addr string) (host string, port uint16, err error) {
	host, ps, err := net.SplitHostPort(addr)
	var ae *net.AddrError
	if errors.As(err, &ae) {
		// It quotes the whole address, which may be as long as a line:
		// the caller names it, clipped.
		return "", 0, errors.New(ae.Err)
	}
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("port %q is not a number from 1 to 65535", escape.Clip(ps))
	}
	return host, uint16(n), nil
}

// CheckAlias reports whether s can name a node: 1 to 255 bytes of UTF-8,
// every character a printing one (unicode.IsPrint: a letter, mark,
// number, punctuation or symbol) other than the space. Aliases are printed
// as they are (member lists, ALIAS:PID, reports), so that one holding a
// control or format character (a bidi override, a zero-width space) could
// reorder or hide what a terminal shows, and one with white space would
// split a line's fields. Every alias a node uses or learns is checked
// here: its own (Config, --node-alias, the alias file), both ends' in the
// handshake, and those a Members or HelloAck lists before they are dialled.
func CheckAlias(s string) error {
	switch {
	case s == "":
		return errors.New("Alias is required")
	case len(s) > wire.MaxAliasLen:
		return fmt.Errorf("alias is %d bytes, limit %d", len(s), wire.MaxAliasLen)
	case !utf8.ValidString(s):
		return errors.New("alias is not valid UTF-8")
	}
	for _, r := range s {
		if r == ' ' || !unicode.IsPrint(r) {
			return fmt.Errorf("alias %q contains white space or a non-printing character (%U)", s, r)
		}
	}
	return nil
}
