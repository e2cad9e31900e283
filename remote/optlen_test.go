package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthorizedKeysLongOptions: FuzzAuthorizedKeys holds an error to one
// line of at most 200 bytes plus the path; the options of a key are
// quoted back whole.
func TestAuthorizedKeysLongOptions(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyvYjNSe0DjtQcsMi3IHcN4ScOgjTq6ZhwCq2KQ1zbY user@host"
	path := filepath.Join(t.TempDir(), "authorized_keys")
	os.WriteFile(path, []byte(`command="`+strings.Repeat("x", 300)+`" `+key+"\n"), 0o600)
	_, err := readAuthorizedKeys(path)
	if err == nil {
		t.Fatal("no error")
	}
	if msg := err.Error(); len(msg) > 200+len(path) {
		t.Errorf("error of %d bytes (limit %d): %.120q", len(msg), 200+len(path), msg)
	}
}
