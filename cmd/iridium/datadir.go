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
// and what is missing is made and saved.
func loadIdentity(o *options) (identity, error) {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return identity{}, fmt.Errorf("data directory: %w", err)
	}
	alias, err := loadAlias(o.dataDir, o.alias)
	if err != nil {
		return identity{}, err
	}
	cookie, err := loadCookie(o.dataDir, o.cookie)
	if err != nil {
		return identity{}, err
	}
	cert, err := loadCertificate(o.dataDir, alias)
	if err != nil {
		return identity{}, err
	}
	return identity{alias: alias, cookie: cookie, cert: cert}, nil
}

// loadCertificate returns the node's TLS certificate, made and saved (one
// PEM file holding the certificate and its key, mode 0600) on first use.
// Nobody checks it: it only lets the node speak TLS (see the cluster
// package), so a file that cannot be read is an error, not a reason to
// make another.
func loadCertificate(dir, alias string) (tls.Certificate, error) {
	path := filepath.Join(dir, clusterCertFile)
	data, err := os.ReadFile(path)
	if err == nil {
		cert, err := tls.X509KeyPair(data, data)
		if err != nil {
			return cert, fmt.Errorf("cluster certificate %s: %w (delete it to make a new one)", path, err)
		}
		return cert, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("cluster certificate: %w", err)
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

func loadAlias(dir, flagAlias string) (string, error) {
	if flagAlias != "" {
		return flagAlias, nil
	}
	path := filepath.Join(dir, aliasFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if alias := strings.TrimSpace(string(data)); alias != "" {
			return alias, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node alias: %w", err)
	}
	alias := newUUID()
	if err := os.WriteFile(path, []byte(alias+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("saving the node alias: %w", err)
	}
	return alias, nil
}

// loadCookie returns the cluster secret. Like ssh with private keys, it
// refuses a cookie file that others may read.
func loadCookie(dir, flagCookie string) ([]byte, error) {
	if flagCookie != "" {
		return []byte(flagCookie), nil
	}
	path := filepath.Join(dir, cookieFile)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		secret := make([]byte, 32)
		rand.Read(secret)
		cookie := hex.EncodeToString(secret)
		// O_EXCL: two nodes started at once on one data directory must
		// not overwrite each other's cookie.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadCookie(dir, "")
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
		return nil, fmt.Errorf("cookie file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("cookie file %s has mode %#o: it must not be accessible by group or others (chmod 600 %s)", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cookie file: %w", err)
	}
	cookie := strings.TrimSpace(string(data))
	if cookie == "" {
		return nil, fmt.Errorf("cookie file %s is empty", path)
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
