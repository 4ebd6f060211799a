//go:build linux

package e2e

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
)

// checkVersionFile says what is wrong with an installed version file, or
// nil: it must be complete PEM whose first certificate is the leaf with
// thumbprint want (any leaf when want is "") and that holds the private key
// matching that leaf. Errors never quote the content.
func checkVersionFile(path, want string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var leaf *x509.Certificate
	var key crypto.PrivateKey
	certs := 0
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			if len(strings.TrimSpace(string(rest))) != 0 {
				return fmt.Errorf("%s: %d bytes after the last complete PEM block (a partial write?)", filepath.Base(path), len(rest))
			}
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return fmt.Errorf("%s: certificate %d does not parse: %w", filepath.Base(path), certs+1, err)
			}
			if certs == 0 {
				leaf = c
			}
			certs++
		case "PRIVATE KEY":
			if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
				return fmt.Errorf("%s: the private key does not parse: %w", filepath.Base(path), err)
			}
		default:
			return fmt.Errorf("%s: unexpected PEM block %q", filepath.Base(path), blk.Type)
		}
	}
	switch {
	case leaf == nil:
		return fmt.Errorf("%s: no certificate (%d bytes)", filepath.Base(path), len(data))
	case key == nil:
		return fmt.Errorf("%s: no private key", filepath.Base(path))
	}
	signer, ok := key.(crypto.Signer)
	pub, ok2 := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !ok2 || !pub.Equal(signer.Public()) {
		return fmt.Errorf("%s: the private key does not match the first certificate", filepath.Base(path))
	}
	if got := store.Thumbprint(leaf.Raw); want != "" && got != want {
		return fmt.Errorf("%s: holds the certificate %s, want %s", filepath.Base(path), got, want)
	}
	return nil
}

// storeView is what a store directory holds, by kind of entry.
type storeView struct {
	// versions maps "<vault>.<cert>" to the versions with a file.
	versions map[string][]string
	// links maps a link name to the base name of its target.
	links map[string]string
	// temps are temporary files a write left behind.
	temps []string
}

// isTemp reports whether a store or state entry is a temporary file of an
// atomic write: the store's ".akvvm-tmp-*" or fsutil's ".<name>.tmp-*".
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".akvvm-tmp-") || (strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-"))
}

// viewStore reads dir for the certificates in keys ("<vault>.<cert>"). An
// entry of another kind under a certificate's name is an error.
func viewStore(dir string, keys []string) (storeView, error) {
	v := storeView{versions: map[string][]string{}, links: map[string]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return v, err
	}
	var errs []error
	for _, en := range entries {
		name := en.Name()
		if isTemp(name) {
			v.temps = append(v.temps, name)
			continue
		}
		if strings.HasPrefix(name, ".") {
			continue // akvvm's own records and lock
		}
		matched := false
		for _, k := range keys {
			switch {
			case name == k:
				matched = true
				target, err := os.Readlink(filepath.Join(dir, name))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s is not a symbolic link: %w", name, err))
					continue
				}
				v.links[name] = filepath.Base(target)
			case strings.HasPrefix(name, k+"."):
				matched = true
				if !en.Type().IsRegular() {
					errs = append(errs, fmt.Errorf("%s is not a regular file (%v)", name, en.Type()))
					continue
				}
				v.versions[k] = append(v.versions[k], strings.TrimPrefix(name, k+"."))
			}
		}
		if !matched {
			errs = append(errs, fmt.Errorf("unexpected entry %s", name))
		}
	}
	return v, errors.Join(errs...)
}

// stateTemps returns the temporary files in a state directory.
func stateTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, en := range entries {
		if isTemp(en.Name()) {
			out = append(out, en.Name())
		}
	}
	return out, nil
}
