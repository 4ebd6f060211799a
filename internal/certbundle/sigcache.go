package certbundle

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
)

// maxVerified bounds the cache of verified signatures. Every observed
// certificate of a vault usually shares its intermediate and root, so a few
// entries serve thousands of certificates.
const maxVerified = 1024

// verified remembers pairs (child, parent) whose signature verified, keyed
// by the SHA-256 of both certificates' full encodings: a hit means the very
// same two certificates were checked before, so the answer cannot differ.
// Only successes are kept; a forged link is checked, and fails, each time.
var verified = struct {
	sync.Mutex
	pairs map[[2][sha256.Size]byte]struct{}
}{pairs: map[[2][sha256.Size]byte]struct{}{}}

// signedBy checks that parent's key verifies c's signature, once for each
// pair of certificates while the cache holds it.
func signedBy(c, parent *x509.Certificate) error {
	key := [2][sha256.Size]byte{sha256.Sum256(c.Raw), sha256.Sum256(parent.Raw)}
	verified.Lock()
	_, ok := verified.pairs[key]
	verified.Unlock()
	if ok {
		return nil
	}
	if err := parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return err
	}
	verified.Lock()
	if len(verified.pairs) >= maxVerified {
		clear(verified.pairs)
	}
	verified.pairs[key] = struct{}{}
	verified.Unlock()
	return nil
}
