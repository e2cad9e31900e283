package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/iridium-go/iridium/internal/testutil"
)

// nodeOptions parses args (a node's flags, the data directory first) with
// env as the environment, as a node started so would.
func nodeOptions(t *testing.T, dir string, env map[string]string, args ...string) *options {
	t.Helper()
	o, err := parseFlags(append([]string{"--data-root-dir", dir}, args...),
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("flags %v: %v", args, err)
	}
	return o
}

// put writes a file of the data directory with mode perm (umask aside).
func put(t *testing.T, dir, name, content string, perm os.FileMode) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// certificate saves a real cluster certificate in dir, mode perm.
func certificate(t *testing.T, dir string, perm os.FileMode) {
	t.Helper()
	if _, err := loadCertificate(dir, "n"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, clusterCertFile), perm); err != nil {
		t.Fatal(err)
	}
}

// A node refuses a data directory file it cannot use with one error that
// names the file and says what is wrong with it (README "The data
// directory"); files that hold a secret are refused, as ssh refuses
// private keys, when group or others can access them.
func TestDataDirectoryRefusals(t *testing.T) {
	mkdir := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		env   map[string]string
		want  string // the error, DIR for the data directory; "" for none
	}{
		{name: "alias not UTF-8", setup: func(t *testing.T, dir string) { put(t, dir, aliasFile, "a\xffb\n", 0o644) },
			want: "alias file DIR/alias: alias is not valid UTF-8 (correct it, or delete it to make a new alias)"},
		{name: "alias with a space", setup: func(t *testing.T, dir string) { put(t, dir, aliasFile, "node one\n", 0o644) },
			want: `alias file DIR/alias: alias "node one" contains white space or a non-printing character (U+0020) (correct it, or delete it to make a new alias)`},
		{name: "alias of two lines", setup: func(t *testing.T, dir string) { put(t, dir, aliasFile, "a\nb\n", 0o644) },
			want: `alias file DIR/alias: alias "a\nb" contains white space or a non-printing character (U+000A) (correct it, or delete it to make a new alias)`},
		{name: "alias with a bidi override", setup: func(t *testing.T, dir string) { put(t, dir, aliasFile, "a\u202eb\n", 0o644) },
			want: `alias file DIR/alias: alias "a\u202eb" contains white space or a non-printing character (U+202E) (correct it, or delete it to make a new alias)`},
		{name: "alias too long", setup: func(t *testing.T, dir string) { put(t, dir, aliasFile, strings.Repeat("x", 256), 0o644) },
			want: "alias file DIR/alias: alias is 256 bytes, limit 255 (correct it, or delete it to make a new alias)"},
		{name: "alias a directory", setup: mkdir(aliasFile), want: "alias file DIR/alias is not a regular file"},
		{name: "alias readable by all", setup: func(t *testing.T, dir string) { put(t, dir, aliasFile, "nœud-1\n", 0o644) }},

		{name: "cookie a directory", setup: mkdir(cookieFile), want: "cookie file DIR/cookie is not a regular file"},
		{name: "cookie readable by others", setup: func(t *testing.T, dir string) { put(t, dir, cookieFile, "secret\n", 0o604) },
			want: "cookie file DIR/cookie has mode 0604: it must not be accessible by group or others (chmod 600 DIR/cookie)"},
		{name: "cookie file of white space", setup: func(t *testing.T, dir string) { put(t, dir, cookieFile, " \t\n", 0o600) },
			want: "cookie file DIR/cookie is empty or only white space"},
		{name: "IRIDIUM_COOKIE empty is unset", env: map[string]string{"IRIDIUM_COOKIE": ""}},

		{name: "TLS key readable by all", setup: func(t *testing.T, dir string) { certificate(t, dir, 0o644) },
			want: "cluster certificate DIR/cluster.pem has mode 0644: it must not be accessible by group or others (chmod 600 DIR/cluster.pem)"},
		{name: "TLS key readable by the group", setup: func(t *testing.T, dir string) { certificate(t, dir, 0o640) },
			want: "cluster certificate DIR/cluster.pem has mode 0640: it must not be accessible by group or others (chmod 600 DIR/cluster.pem)"},
		{name: "TLS key a directory", setup: mkdir(clusterCertFile),
			want: "cluster certificate DIR/cluster.pem is not a regular file"},
		{name: "TLS key private", setup: func(t *testing.T, dir string) { certificate(t, dir, 0o600) }},

		{name: "SSH host key readable by all", setup: func(t *testing.T, dir string) { put(t, dir, hostKeyFile, "key", 0o644) },
			args: []string{"-r"},
			want: "SSH host key DIR/ssh_host_ed25519_key has mode 0644: it must not be accessible by group or others (chmod 600 DIR/ssh_host_ed25519_key)"},
		{name: "SSH host key a directory", setup: mkdir(hostKeyFile), args: []string{"-r"},
			want: "SSH host key DIR/ssh_host_ed25519_key is not a regular file"},
		{name: "SSH host key unused without -r", setup: func(t *testing.T, dir string) { put(t, dir, hostKeyFile, "key", 0o644) }},
		{name: "authorized_keys is public", setup: func(t *testing.T, dir string) { put(t, dir, authorizedKeysFile, "", 0o644) },
			args: []string{"-r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			_, err := loadIdentity(nodeOptions(t, dir, tc.env, tc.args...))
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			switch {
			case want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case want != "" && err == nil:
				t.Fatalf("accepted; want %q", want)
			case want != "" && err.Error() != want:
				t.Fatalf("error\n %q\nwant\n %q", err, want)
			}
		})
	}
}

// One cookie text gives one key whichever way it is passed: the file's
// newline and white space around a flag or variable are not part of it.
func TestCookieSourcesAgree(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		env  map[string]string
		want string
	}{
		{name: "file", file: "  s3cret \n", want: "s3cret"},
		{name: "--cookie as given", args: []string{"--cookie", " s3cret\n"}, want: " s3cret\n"},
		{name: "IRIDIUM_COOKIE as given", env: map[string]string{"IRIDIUM_COOKIE": "\ts3cret "}, want: "\ts3cret "},
		{name: "--cookie wins over IRIDIUM_COOKIE", args: []string{"--cookie", "flag"}, env: map[string]string{"IRIDIUM_COOKIE": "env"}, want: "flag"},
		{name: "inner white space kept", args: []string{"--cookie", "two words"}, want: "two words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				put(t, dir, cookieFile, tc.file, 0o600)
			}
			id, err := loadIdentity(nodeOptions(t, dir, tc.env, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			if string(id.cookie) != tc.want {
				t.Errorf("cookie %q, want %q", id.cookie, tc.want)
			}
		})
	}
}

// The SSH host key is made once and kept, private: a restarted node
// presents the same key, so clients' known_hosts entries stay valid.
func TestHostKeyIsKept(t *testing.T) {
	dir := t.TempDir()
	first, err := loadHostKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, hostKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v, mode %v", err, info.Mode())
	}
	second, err := loadHostKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := ssh.FingerprintSHA256(first.PublicKey()), ssh.FingerprintSHA256(second.PublicKey()); a != b {
		t.Errorf("host key changed across restarts: %s then %s", a, b)
	}
}

// Nodes started at once on one empty data directory agree on every file
// they make: each reads the first one made, whole, and none is refused for
// finding another's file half written. So do nodes whose data files are
// symbolic links to nothing yet. On a file system without hard links no
// node finds a file half written either (they may disagree there).
func TestDataFilesMadeAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		links  bool // the data files are links to nothing yet
		noLink bool // a file system without hard links
	}{
		{"an empty directory", false, false},
		{"links to files kept elsewhere", true, false},
		{"no hard links", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.noLink {
				link = func(oldname, newname string) error {
					return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
				}
				t.Cleanup(func() { link = os.Link })
			}
			for round := range 20 {
				dir := filepath.Join(t.TempDir(), "data")
				if tc.links {
					elsewhere := t.TempDir()
					if err := os.Mkdir(dir, 0o700); err != nil {
						t.Fatal(err)
					}
					for _, name := range []string{aliasFile, cookieFile, clusterCertFile, hostKeyFile} {
						if err := os.Symlink(filepath.Join(elsewhere, name), filepath.Join(dir, name)); err != nil {
							t.Fatal(err)
						}
					}
				}
				const nodes = 4
				ids := make([]identity, nodes)
				errs := make([]error, nodes)
				var wg sync.WaitGroup
				for i := range nodes {
					wg.Go(func() {
						o := nodeOptions(t, dir, nil, "-r")
						ids[i], errs[i] = loadIdentity(o)
					})
				}
				wg.Wait()
				for i := range nodes {
					if errs[i] != nil {
						t.Fatalf("round %d: node %d refused: %v", round, i, errs[i])
					}
					a, b := ids[0], ids[i]
					if !tc.noLink && (a.alias != b.alias || !bytes.Equal(a.cookie, b.cookie) ||
						!bytes.Equal(a.cert.Certificate[0], b.cert.Certificate[0]) ||
						!bytes.Equal(a.hostKey.PublicKey().Marshal(), b.hostKey.PublicKey().Marshal())) {
						t.Fatalf("round %d: node %d disagrees with node 0: alias %s and %s", round, i, b.alias, a.alias)
					}
				}
				again, err := loadIdentity(nodeOptions(t, dir, nil, "-r"))
				if err != nil || !tc.noLink && (again.alias != ids[0].alias || !bytes.Equal(again.cookie, ids[0].cookie)) {
					t.Fatalf("round %d: a restart got alias %s (%v), want the saved %s", round, again.alias, err, ids[0].alias)
				}
				if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) > 0 {
					t.Fatalf("round %d: temporary files left: %v", round, leftovers)
				}
			}
		})
	}
}

// A data directory that is a symbolic link to nothing says so, rather than
// "mkdir: file exists".
func TestDataDirectoryLinkToNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere"), dir); err != nil {
		t.Fatal(err)
	}
	_, err := loadIdentity(nodeOptions(t, dir, nil))
	if want := "data directory " + dir + " is a symbolic link to nothing"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
}

// A data file that is a symbolic link to nothing (a file kept elsewhere,
// not made yet) is made where the link points, and the link stays.
func TestDataFileLinkToNothing(t *testing.T) {
	for _, name := range []string{aliasFile, cookieFile, clusterCertFile, hostKeyFile} {
		t.Run(name, func(t *testing.T) {
			dir, elsewhere := t.TempDir(), filepath.Join(t.TempDir(), name)
			if err := os.Symlink(elsewhere, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			if _, err := loadIdentity(nodeOptions(t, dir, nil, "-r")); err != nil {
				t.Fatal(err)
			}
			if info, err := os.Stat(elsewhere); err != nil || info.Size() == 0 {
				t.Fatalf("the link's target: %v", err)
			}
			if l, err := os.Lstat(filepath.Join(dir, name)); err != nil || l.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("the link is gone: %v", err)
			}
		})
	}
}

// On a file system without hard links (vfat) the files are made in place.
func TestDataFilesWithoutHardLinks(t *testing.T) {
	link = func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	t.Cleanup(func() { link = os.Link })
	dir := t.TempDir()
	id, err := loadIdentity(nodeOptions(t, dir, nil, "-r"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadIdentity(nodeOptions(t, dir, nil, "-r"))
	if err != nil || again.alias != id.alias || !bytes.Equal(again.cookie, id.cookie) {
		t.Fatalf("a restart got alias %s (%v), want %s", again.alias, err, id.alias)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Fatalf("in the directory: %v, want the four files", entries)
	}
}

// An empty alias file gets a new alias written into it: its mode stays,
// and so does a link to it.
func TestEmptyAliasFileFilledInPlace(t *testing.T) {
	dir, elsewhere := t.TempDir(), filepath.Join(t.TempDir(), "alias")
	put(t, filepath.Dir(elsewhere), "alias", "", 0o600)
	if err := os.Symlink(elsewhere, filepath.Join(dir, aliasFile)); err != nil {
		t.Fatal(err)
	}
	id, err := loadIdentity(nodeOptions(t, dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(elsewhere)
	info, _ := os.Stat(elsewhere)
	if err != nil || strings.TrimSpace(string(data)) != id.alias || info.Mode().Perm() != 0o600 {
		t.Fatalf("the target holds %q (%v), mode %v; want %s, 0600", data, err, info.Mode(), id.alias)
	}
}

// A start that cannot save a file (a full disk) leaves nothing of it
// behind, so that the next start, with room again, makes it and goes on.
func TestDataFilesOnAFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		testutil.Missing(t, fmt.Sprintf("cannot mount a small tmpfs (needs root, as in CI): %v", err))
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, err = f.Write(make([]byte, 4096)); err == nil; _, err = f.Write(make([]byte, 4096)) {
	}
	f.Close()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := loadIdentity(nodeOptions(t, data, nil, "-r")); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("on a full disk: %v, want no space left", err)
	}
	if entries, _ := os.ReadDir(data); len(entries) > 0 {
		t.Fatalf("left behind: %v", entries)
	}
	os.Remove(filler)
	if _, err := loadIdentity(nodeOptions(t, data, nil, "-r")); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}
