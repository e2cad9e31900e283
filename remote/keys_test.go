package remote

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
)

// authorized_keys is read at every key login, as OpenSSH reads it: a key
// added to the file gets in at once and a key taken out is refused at
// once, with no restart. A file that cannot be used refuses every key and
// says why in the log; the server keeps serving and the cookie still works.
func TestAuthorizedKeysReadAtEveryLogin(t *testing.T) {
	logs := &testutil.Buffer{}
	cfg := testConfig(t)
	cfg.Logger = logTo(logs)
	s := listen(t, cfg)
	mine, other := newSigner(t), newSigner(t)
	line := func(k ssh.Signer) string { return string(ssh.MarshalAuthorizedKey(k.PublicKey())) }
	write := func(content string) {
		t.Helper()
		os.RemoveAll(cfg.AuthorizedKeysFile)
		if err := os.WriteFile(cfg.AuthorizedKeysFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unreadable := func() {
		t.Helper()
		// A directory cannot be read as a file, even by root.
		os.RemoveAll(cfg.AuthorizedKeysFile)
		if err := os.Mkdir(cfg.AuthorizedKeysFile, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	fifo := func() {
		t.Helper()
		os.RemoveAll(cfg.AuthorizedKeysFile)
		if err := syscall.Mkfifo(cfg.AuthorizedKeysFile, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	huge := func() {
		t.Helper()
		write(line(mine))
		if err := os.Truncate(cfg.AuthorizedKeysFile, maxAuthorizedKeysFile+1); err != nil { // sparse
			t.Fatal(err)
		}
	}

	for _, step := range []struct {
		name    string
		setup   func()
		key     ssh.Signer
		wantIn  bool
		wantLog string // in the log when the key is refused
	}{
		{"no file", func() {}, mine, false, ""},
		{"key added", func() { write(line(mine)) }, mine, true, ""},
		{"another key", func() {}, other, false, ""},
		{"key replaced", func() { write(line(other)) }, mine, false, ""},
		{"comments and blank lines", func() { write("# keys\n\n" + line(mine) + "  \n") }, mine, true, ""},
		{"a line that is not a key", func() { write(line(mine) + "ssh-ed25519 AAAAnot-base64\n") }, mine, false,
			"line 2: not a public key"},
		{"key options", func() { write(`from="10.0.0.1" ` + line(mine)) }, mine, false,
			`line 1: key options (from=\"10.0.0.1\") are not supported`},
		{"unreadable", unreadable, mine, false, "a directory, not a regular file"},
		{"a FIFO, which would wait for a writer", fifo, mine, false, "a FIFO, not a regular file"},
		{"a file over the limit", huge, mine, false, "larger than 4 MiB"},
		{"fixed", func() { write(line(mine)) }, mine, true, ""},
	} {
		step.setup()
		c, err := dial(t, s, ssh.PublicKeys(step.key))
		if err == nil {
			c.Close()
		}
		if in := err == nil; in != step.wantIn {
			t.Fatalf("%s: logged in %v, want %v (err %v)", step.name, in, step.wantIn, err)
		}
		if step.wantLog != "" {
			want := `msg="remote key logins refused until the file is fixed"`
			if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), step.wantLog) {
				t.Errorf("%s: the log does not say %s: %s:\n%s", step.name, want, step.wantLog, logs.String())
			}
		}
		if !step.wantIn {
			// The cookie still gets in, which also clears the refusal's
			// login delay for the next step.
			c, err := dial(t, s, ssh.Password(cookie))
			if err != nil {
				t.Fatalf("%s: the cookie was refused after a refused key: %v", step.name, err)
			}
			c.Close()
		}
	}
}

// A server starts whatever state authorized_keys is in.
func TestListenWithUnusableAuthorizedKeys(t *testing.T) {
	cfg := testConfig(t)
	if err := os.Mkdir(cfg.AuthorizedKeysFile, 0o700); err != nil {
		t.Fatal(err)
	}
	s := listen(t, cfg)
	c, err := dial(t, s, ssh.Password(cookie))
	if err != nil {
		t.Fatalf("cookie login: %v", err)
	}
	c.Close()
}
