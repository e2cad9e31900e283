package remote

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/internal/testutil"
)

// authorizedKeysSeeds are the seed corpus of FuzzAuthorizedKeys
// (testdata/fuzz/FuzzAuthorizedKeys, written by TestWriteSeedCorpus).
func authorizedKeysSeeds() []string {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyvYjNSe0DjtQcsMi3IHcN4ScOgjTq6ZhwCq2KQ1zbY user@host"
	return []string{
		key + "\n",
		"# comment\n\n  " + key + "  \r\n" + key + "\n",
		`command="echo \x1b[31m",no-pty ` + key + "\n",
		"restrict " + key,
		"ssh-ed25519 AAAA\n",
		"ssh-rsa\n",
		"\x00\xff garbage",
	}
}

// FuzzAuthorizedKeys: any authorized_keys file is read without a panic
// into a set of keys or an error, never both; the error is one line of
// bounded length; and the keys read are exactly those of a file that
// lists them again in OpenSSH's own form.
func FuzzAuthorizedKeys(f *testing.F) {
	for _, s := range authorizedKeysSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "authorized_keys")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := readAuthorizedKeys(path)
		if err != nil {
			if keys != nil {
				t.Fatalf("keys and error %v", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || len(msg) > 200+len(path) {
				t.Fatalf("error of %d bytes: %.300q", len(msg), msg)
			}
			return
		}
		var again strings.Builder
		for k := range keys {
			pk, err := ssh.ParsePublicKey([]byte(k))
			if err != nil {
				t.Fatalf("a key read does not parse: %v", err)
			}
			again.Write(ssh.MarshalAuthorizedKey(pk))
		}
		if err := os.WriteFile(path, []byte(again.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		keys2, err := readAuthorizedKeys(path)
		if err != nil || len(keys2) != len(keys) {
			t.Fatalf("the keys written again: %d keys, %v; want %d", len(keys2), err, len(keys))
		}
		for k := range keys {
			if !keys2[k] {
				t.Fatal("a key is lost when written again")
			}
		}
	})
}

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzAuthorizedKeys when
// REMOTE_WRITE_CORPUS is set; otherwise it checks the files are there.
func TestWriteSeedCorpus(t *testing.T) {
	var seeds []testutil.Seed
	for _, s := range authorizedKeysSeeds() {
		seeds = append(seeds, testutil.Seed{Target: "FuzzAuthorizedKeys", Args: []string{"string(" + strconv.Quote(s) + ")"}})
	}
	testutil.SeedCorpus(t, "REMOTE_WRITE_CORPUS", seeds)
}
