package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/iridium-go/iridium/cluster"
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
	alias  string
	cookie []byte
	cert   tls.Certificate // presented on cluster connections
}

// loadIdentity creates the data directory on first use and settles the
// node's alias and cookie: the flags win, then the files in the directory,
// and what is missing is made and saved. It also checks the private files
// the node will use (see checkPrivate): the TLS key, and with -r the SSH
// host key, which the remote package reads or makes itself.
func loadIdentity(o *options) (identity, error) {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return identity{}, fmt.Errorf("data directory: %w", err)
	}
	alias, err := loadAlias(o.dataDir, o.alias)
	if err != nil {
		return identity{}, err
	}
	cookie, err := loadCookie(o.dataDir, o.cookie, o.cookieFrom)
	if err != nil {
		return identity{}, err
	}
	cert, err := loadCertificate(o.dataDir, alias)
	if err != nil {
		return identity{}, err
	}
	if o.remote {
		path := filepath.Join(o.dataDir, hostKeyFile)
		if err := checkPrivate(path, "SSH host key"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return identity{}, err // a missing one is made, mode 0600
		}
	}
	return identity{alias: alias, cookie: cookie, cert: cert}, nil
}

// checkPrivate checks the file at path, which holds a secret (the cookie, a
// private key): like ssh with private keys, a secret that group or others
// may read is not used, since whoever can read it is in the cluster (or
// can pose as this node). It must be a regular file, too: a directory has
// no secret in it, and reading a FIFO would hang the start. The error
// names the file as what; a missing file's wraps fs.ErrNotExist.
func checkPrivate(path, what string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return err
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case !info.Mode().IsRegular():
		return fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %#o: it must not be accessible by group or others (chmod 600 %s)", what, path, perm, path)
	}
	return nil
}

// loadCertificate returns the node's TLS certificate, made and saved (one
// PEM file holding the certificate and its key, mode 0600) on first use.
// Nobody checks it: it only lets the node speak TLS (see the cluster
// package), so a file that cannot be read is an error, not a reason to
// make another. Its key is private (checkPrivate).
func loadCertificate(dir, alias string) (tls.Certificate, error) {
	const what = "cluster certificate"
	path := filepath.Join(dir, clusterCertFile)
	err := checkPrivate(path, what)
	if err == nil {
		data, err := os.ReadFile(path)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%s: %w", what, err)
		}
		cert, err := tls.X509KeyPair(data, data)
		if err != nil {
			return cert, fmt.Errorf("%s %s: %w (delete it to make a new one)", what, path, err)
		}
		return cert, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, err
	}
	cert, certPEM, keyPEM, err := cluster.NewCertificate(alias)
	if err != nil {
		return cert, fmt.Errorf("making the cluster certificate: %w", err)
	}
	// O_EXCL: two nodes started at once on one data directory keep the
	// same certificate.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadCertificate(dir, alias)
	}
	if err != nil {
		return cert, fmt.Errorf("saving the cluster certificate: %w", err)
	}
	_, err = f.Write(append(certPEM, keyPEM...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return cert, fmt.Errorf("saving the cluster certificate: %w", err)
	}
	return cert, nil
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
	path := filepath.Join(dir, aliasFile)
	info, err := os.Stat(path)
	if err == nil && !info.Mode().IsRegular() {
		return "", fmt.Errorf("alias file %s is not a regular file", path)
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	if err == nil {
		if alias := strings.TrimSpace(string(data)); alias != "" {
			if err := cluster.CheckAlias(alias); err != nil {
				return "", fmt.Errorf("alias file %s: %v (correct it, or delete it to make a new alias)", path, err)
			}
			return alias, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("alias file: %w", err)
	}
	alias := newUUID()
	if err := os.WriteFile(path, []byte(alias+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("saving the node alias: %w", err)
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
	path := filepath.Join(dir, cookieFile)
	err := checkPrivate(path, "cookie file")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		secret := make([]byte, 32)
		rand.Read(secret)
		cookie := hex.EncodeToString(secret)
		// O_EXCL: two nodes started at once on one data directory must
		// not overwrite each other's cookie.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadCookie(dir, "", "")
		}
		if err != nil {
			return nil, fmt.Errorf("creating the cookie file: %w", err)
		}
		_, err = f.WriteString(cookie + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("writing the cookie file: %w", err)
		}
		return []byte(cookie), nil
	case err != nil:
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cookie file: %w", err)
	}
	cookie := strings.TrimSpace(string(data))
	if cookie == "" {
		return nil, fmt.Errorf("cookie file %s is empty or only white space", path)
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
