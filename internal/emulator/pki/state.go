package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// File names of the CA state.
const (
	rootCertFile  = "root.pem"
	rootKeyFile   = "root-key.pem"
	interCertFile = "intermediate.pem"
	interKeyFile  = "intermediate-key.pem"
)

// stateFiles lists the state files in the order they are written.
func stateFiles() []string {
	return []string{rootKeyFile, rootCertFile, interKeyFile, interCertFile}
}

// loadOrCreateDir loads the CA kept in dir or, when dir holds none of its
// files, creates a new one there.
func loadOrCreateDir(dir string, now func() time.Time) (*Authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: create CA state directory %s: %w", dir, err)
	}
	var present, missing []string
	for _, name := range stateFiles() {
		_, err := os.Lstat(filepath.Join(dir, name))
		switch {
		case err == nil:
			present = append(present, name)
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
		default:
			return nil, fmt.Errorf("pki: read CA state: %w", err)
		}
	}
	switch {
	case len(present) == 0:
		a, err := create(now)
		if err != nil {
			return nil, err
		}
		if err := a.save(dir); err != nil {
			return nil, err
		}
		return a, nil
	case len(missing) > 0:
		return nil, fmt.Errorf("pki: CA state in %s is incomplete: %s is missing; delete the directory %s to start over (clients must then trust the new root)",
			dir, filepath.Join(dir, missing[0]), dir)
	}
	a, err := load(dir, now)
	if err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("pki: CA state in %s is not usable: %w; delete the directory %s to start over (clients must then trust the new root)", dir, err, dir)
	}
	return a, nil
}

// load reads the four state files.
func load(dir string, now func() time.Time) (*Authority, error) {
	a := &Authority{now: now}
	var err error
	if a.root, err = readCert(dir, rootCertFile); err != nil {
		return nil, err
	}
	if a.rootKey, err = readKey(dir, rootKeyFile); err != nil {
		return nil, err
	}
	if a.inter, err = readCert(dir, interCertFile); err != nil {
		return nil, err
	}
	if a.interKey, err = readKey(dir, interKeyFile); err != nil {
		return nil, err
	}
	return a, nil
}

// corrupt formats an error about an unreadable state file.
func corrupt(dir, name, why string) error {
	path := filepath.Join(dir, name)
	return fmt.Errorf("pki: CA file %s is corrupt (%s); delete the directory %s to start over (clients must then trust the new root)", path, why, dir)
}

func readCert(dir, name string) (*x509.Certificate, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("pki: read CA state: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, corrupt(dir, name, "no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, corrupt(dir, name, err.Error())
	}
	return cert, nil
}

func readKey(dir, name string) (crypto.Signer, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("pki: read CA state: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, corrupt(dir, name, "no PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		// The parse error never contains key bytes, only the failing structure.
		return nil, corrupt(dir, name, err.Error())
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, corrupt(dir, name, fmt.Sprintf("a %T key cannot sign", parsed))
	}
	return key, nil
}

// save writes the CA to dir, each file atomically.
func (a *Authority) save(dir string) error {
	rootKey, err := x509.MarshalPKCS8PrivateKey(a.rootKey)
	if err != nil {
		return fmt.Errorf("pki: encode root CA key: %w", err)
	}
	interKey, err := x509.MarshalPKCS8PrivateKey(a.interKey)
	if err != nil {
		return fmt.Errorf("pki: encode intermediate CA key: %w", err)
	}
	files := []struct {
		name  string
		block *pem.Block
		mode  os.FileMode
	}{
		{rootKeyFile, &pem.Block{Type: "PRIVATE KEY", Bytes: rootKey}, 0o600},
		{rootCertFile, &pem.Block{Type: "CERTIFICATE", Bytes: a.root.Raw}, 0o644},
		{interKeyFile, &pem.Block{Type: "PRIVATE KEY", Bytes: interKey}, 0o600},
		{interCertFile, &pem.Block{Type: "CERTIFICATE", Bytes: a.inter.Raw}, 0o644},
	}
	for _, f := range files {
		if err := fsutil.WriteFileAtomic(filepath.Join(dir, f.name), pem.EncodeToMemory(f.block), f.mode); err != nil {
			return err
		}
	}
	return nil
}
