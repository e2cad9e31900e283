package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// hookHandler is a slog handler that calls hook for every record whose
// message is msg, in the goroutine that logs it.
type hookHandler struct {
	msg  string
	hook func()
}

func (h hookHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h hookHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.hook()
	}
	return nil
}
func (h hookHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h hookHandler) WithGroup(string) slog.Handler      { return h }

// Join's own dial registers its contact and then, in Join's goroutine,
// which is not one of the session's, starts the connection's writer and
// reader. A Shutdown that comes in between may have waited for the
// session's goroutines already: they must not be started then (the race
// detector sees the WaitGroup counted up after its Wait, with nothing
// ordering the two), and Join says the node was shut down.
func TestShutdownWhileJoinRegisters(t *testing.T) {
	b := newNode(t, testConfig(t, "b"))
	registered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	cfg := testConfig(t, "a")
	cfg.Logger = slog.New(hookHandler{msg: "member joined", hook: func() {
		once.Do(func() { // Join's contact, registered: hold Join there
			close(registered)
			<-release
		})
	}})
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	joined := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		joined <- a.Join(ctx, addrOf(t, b))
	}()
	<-registered
	shut := make(chan struct{})
	go func() {
		defer close(shut)
		a.Shutdown()
	}()
	select { // Join is not one of the session's goroutines: Shutdown does not wait for it
	case <-shut:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waited for a Join held after its contact registered")
	}
	close(release)
	err = <-joined
	if !errors.Is(err, ErrShutdown) {
		t.Errorf("Join: %v, want %v", err, ErrShutdown)
	}
}
