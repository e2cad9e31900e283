package repl

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a REPL starts (background programs, the watch on its
// context) must be gone when its Run or Close returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
