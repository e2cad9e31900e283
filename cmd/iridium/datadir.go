package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/iridium-go/iridium/cluster"
	"github.com/iridium-go/iridium/internal/fileread"
)

// The node's files in its data directory.
const (
	aliasFile          = "alias"
	cookieFile         = "cookie"
	historyFile        = "history"
	hostKeyFile        = "ssh_host_ed25519_key"
	clusterCertFile    = "cluster.pem" // TLS certificate and private key
	authorizedKeysFile = "authorized_keys"
)

// identity is who this node is in the cluster.
type identity struct {
	alias   string
	cookie  []byte
	cert    tls.Certificate // presented on cluster connections
	hostKey ssh.Signer      // with -r: the SSH server's key
}

// loadIdentity creates the data directory on first use and settles the
// node's alias and cookie: the flags win, then the files in the directory,
// and what is missing is made and saved. It also reads (or makes) the
// private keys the node will use: the TLS key, and with -r the SSH host
// key.
func loadIdentity(o *options) (identity, error) {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		if l, lerr := os.Lstat(o.dataDir); lerr == nil && l.Mode()&fs.ModeSymlink != 0 {
			return identity{}, fmt.Errorf("data directory %s is a symbolic link to nothing (or to what is not a directory)", o.dataDir)
		}
		return identity{}, fmt.Errorf("data directory: %w", err)
	}
	var id identity
	var err error
	if id.alias, err = loadAlias(o.dataDir, o.alias); err != nil {
		return identity{}, err
	}
	if id.cookie, err = loadCookie(o.dataDir, o.cookie, o.cookieFrom); err != nil {
		return identity{}, err
	}
	if id.cert, err = loadCertificate(o.dataDir, id.alias); err != nil {
		return identity{}, err
	}
	if o.remote {
		if id.hostKey, err = loadHostKey(o.dataDir); err != nil {
			return identity{}, err
		}
	}
	return id, nil
}

// maxDataFile bounds a file of the data directory that the node reads: the
// largest, the certificate with its key, takes about a kilobyte.
const maxDataFile = 1 << 20

// dataFile is one of the files a node keeps in its data directory.
type dataFile struct {
	dir, name string
	what      string // names it in errors: "cookie file"
	// secret: it holds a secret, and like ssh with private keys the node
	// does not use it while group or others may access it, since whoever
	// can read it is in the cluster (or can pose as this node).
	secret bool
}

func (f dataFile) path() string { return filepath.Join(f.dir, f.name) }

// read returns the file's contents. It must be a regular file (a directory
// has nothing in it; reading a FIFO would hang the start) of at most
// maxDataFile bytes, and private if secret. A missing file's error wraps
// fs.ErrNotExist, as does a symbolic link to nothing (create makes its
// target).
func (f dataFile) read() ([]byte, error) {
	path := f.path()
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%s: %w", f.what, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s %s is not a regular file", f.what, path)
	}
	if perm := info.Mode().Perm(); f.secret && perm&0o077 != 0 {
		return nil, fmt.Errorf("%s %s has mode %#o: it must not be accessible by group or others (chmod 600 %s)", f.what, path, perm, path)
	}
	data, err := fileread.Read(context.Background(), path, maxDataFile, true)
	if errors.Is(err, fileread.ErrTooLarge) {
		return nil, fmt.Errorf("%s %s is larger than %d KiB", f.what, path, maxDataFile>>10)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.what, err)
	}
	return data, nil
}

// readOrMake returns the file's contents, or saves and returns made()'s
// when it is missing (create).
func (f dataFile) readOrMake(made func() ([]byte, error)) ([]byte, error) {
	data, err := f.read()
	if !errors.Is(err, fs.ErrNotExist) {
		return data, err
	}
	if data, err = made(); err != nil {
		return nil, fmt.Errorf("making the %s: %w", f.what, err)
	}
	err = f.create(data)
	if errors.Is(err, fs.ErrExist) {
		return f.read() // made meanwhile by another node
	}
	if err != nil {
		return nil, fmt.Errorf("saving the %s: %w", f.what, err)
	}
	return data, nil
}

// create saves data as the file, which is missing, made whole or not at
// all: the contents go to a temporary file that is then linked into place,
// which fails (fs.ErrExist) if a file is there already. So two nodes
// started at once on one directory agree on the first file made (the
// other reads it, complete), and a write that fails (a full disk) leaves
// nothing that would refuse the next start. A symbolic link to nothing
// (a file kept elsewhere) is made where it leads, the same way. On a file
// system without hard links (vfat) the temporary file is renamed into
// place if nothing is there yet: still never half written, but nodes
// started at the same moment may each make it.
func (f dataFile) create(data []byte) error {
	path, err := linkTarget(f.path())
	if err != nil {
		return err
	}
	tmp := tempName(filepath.Dir(path), "."+f.name+".")
	if err := writeNew(tmp, data, f.perm()); err != nil {
		return err
	}
	defer os.Remove(tmp) // linked or renamed by then, or not to be kept
	err = link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fs.ErrExist
	}
	return os.Rename(tmp, path)
}

// linkTarget is where path leads while it is a symbolic link (to
// nothing: a file kept elsewhere, to be made there), else path.
func linkTarget(path string) (string, error) {
	for range 40 {
		l, err := os.Lstat(path)
		if err != nil || l.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		to, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(path), to)
		}
		path = to
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// link is os.Link, which tests replace to play a file system without hard
// links.
var link = os.Link

// tempName names a temporary file in dir: prefix and 8 random hex digits,
// short, so that it fits wherever the file it stands for does.
func tempName(dir, prefix string) string {
	var suffix [4]byte
	rand.Read(suffix[:])
	return filepath.Join(dir, prefix+hex.EncodeToString(suffix[:]))
}

// writeNew makes the file at path, which must not exist, with data (mode
// perm less the umask); on a failed write it removes it.
func writeNew(path string, data []byte, perm os.FileMode) error {
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// perm is the mode the file is made with: private for a secret.
func (f dataFile) perm() os.FileMode {
	if f.secret {
		return 0o600
	}
	return 0o644
}

// loadCertificate returns the node's TLS certificate, made and saved (one
// PEM file holding the certificate and its key, mode 0600) on first use.
// Nobody checks it: it only lets the node speak TLS (see the cluster
// package), so a file that cannot be read is an error, not a reason to
// make another.
func loadCertificate(dir, alias string) (tls.Certificate, error) {
	f := dataFile{dir: dir, name: clusterCertFile, what: "cluster certificate", secret: true}
	data, err := f.readOrMake(func() ([]byte, error) {
		_, certPEM, keyPEM, err := cluster.NewCertificate(alias)
		return append(certPEM, keyPEM...), err
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(data, data)
	if err != nil {
		return cert, fmt.Errorf("%s %s: %w (delete it to make a new one)", f.what, f.path(), err)
	}
	return cert, nil
}

// loadHostKey returns the SSH server's host key, an ed25519 key made and
// saved (mode 0600) on first use, so that a restarted node presents the
// same key and clients' known_hosts entries stay valid.
func loadHostKey(dir string) (ssh.Signer, error) {
	f := dataFile{dir: dir, name: hostKeyFile, what: "SSH host key", secret: true}
	data, err := f.readOrMake(func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "iridium host key")
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(block), nil
	})
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (delete it to make a new one)", f.what, f.path(), err)
	}
	return signer, nil
}

// loadAlias returns the --node-alias flag's alias (checked with the flags),
// else the one saved in the alias file, which must be one the cluster
// takes (cluster.CheckAlias): the error names the file, which the user
// wrote or copied, not the cluster's configuration. A missing or empty
// file gets a new UUID.
func loadAlias(dir, flagAlias string) (string, error) {
	if flagAlias != "" {
		return flagAlias, nil
	}
	f := dataFile{dir: dir, name: aliasFile, what: "alias file"}
	data, err := f.readOrMake(func() ([]byte, error) { return []byte(newUUID() + "\n"), nil })
	if err != nil {
		return "", err
	}
	alias := strings.TrimSpace(string(data))
	if alias == "" { // written over in place: its mode, and a link to it, stay
		alias = newUUID()
		if err := os.WriteFile(f.path(), []byte(alias+"\n"), f.perm()); err != nil {
			return "", fmt.Errorf("saving the %s: %w", f.what, err)
		}
		return alias, nil
	}
	if err := cluster.CheckAlias(alias); err != nil {
		return "", fmt.Errorf("%s %s: %v (correct it, or delete it to make a new alias)", f.what, f.path(), err)
	}
	return alias, nil
}

// loadCookie returns the cluster secret: given, which came from from
// (--cookie or IRIDIUM_COOKIE; from is "" when neither gave one), else the
// cookie file's content, made when missing. The key is a given cookie's
// bytes as they are, and the file's with surrounding white space trimmed
// (the spec's rule, so that every implementation derives the same key). A
// cookie file that is empty or only white space is refused rather than
// used, as a given cookie is by parseFlags.
func loadCookie(dir, given, from string) ([]byte, error) {
	if from != "" {
		return []byte(given), nil // not empty: parseFlags checked it
	}
	f := dataFile{dir: dir, name: cookieFile, what: "cookie file", secret: true}
	data, err := f.readOrMake(func() ([]byte, error) {
		secret := make([]byte, 32)
		rand.Read(secret)
		return []byte(hex.EncodeToString(secret) + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	cookie := strings.TrimSpace(string(data))
	if cookie == "" {
		return nil, fmt.Errorf("%s %s is empty or only white space", f.what, f.path())
	}
	return []byte(cookie), nil
}

// newUUID makes a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
