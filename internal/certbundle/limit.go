package certbundle

import (
	"encoding/asn1"
	"fmt"
)

// MaxCertificates is the most certificates one secret value may hold. A
// real chain is two to five certificates: the leaf, one or two
// intermediates, the root and at times a cross-signed root. 32 leaves room
// for odd bundles, such as a PFX exported with a few extra CAs, yet keeps
// the parsing and signature checks per secret small and refuses a value
// built to make akvvm install a chain that TLS servers then send in every
// handshake. A value with more is refused as a whole.
const MaxCertificates = 32

// certificatePEMType is the PEM block type of a certificate.
const certificatePEMType = "CERTIFICATE"

// tooManyCertificates is the error for a value holding n certificates.
func tooManyCertificates(n int) error {
	return fmt.Errorf("%w: %d, more than the %d akvvm accepts (a chain has 2 to 5); store only the certificate, its key and its chain", ErrTooManyCertificates, n, MaxCertificates)
}

// oidCertBag identifies a PKCS #12 SafeBag holding a certificate.
var oidCertBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}

// countPlainCertBags counts the certificate bags of a PFX that are readable
// without decrypting it, without parsing a certificate. Bags in encrypted
// content are counted only after go-pkcs12 decrypted them. Data that is not
// such a PFX counts 0 and is left for the PKCS #12 decoder to reject.
func countPlainCertBags(der []byte) int {
	var f pfxFile
	if _, err := asn1.Unmarshal(der, &f); err != nil || !f.AuthSafe.ContentType.Equal(oidData) {
		return 0
	}
	authSafe, ok := octets(f.AuthSafe.Content.Bytes)
	if !ok {
		return 0
	}
	n := 0
	for _, item := range sequenceItems(authSafe) {
		var ci pfxContentInfo
		if _, err := asn1.Unmarshal(item.FullBytes, &ci); err != nil || !ci.ContentType.Equal(oidData) {
			continue
		}
		contents, ok := octets(ci.Content.Bytes)
		if !ok {
			continue
		}
		for _, bag := range sequenceItems(contents) {
			// A SafeBag starts with its type; the rest is not read.
			var id asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(bag.Bytes, &id); err == nil && id.Equal(oidCertBag) {
				n++
			}
		}
	}
	return n
}

// sequenceItems returns the elements of the DER SEQUENCE der, as far as
// they parse, without decoding them.
func sequenceItems(der []byte) []asn1.RawValue {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil
	}
	var items []asn1.RawValue
	for rest := seq.Bytes; len(rest) > 0; {
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			break
		}
		items = append(items, v)
	}
	return items
}
