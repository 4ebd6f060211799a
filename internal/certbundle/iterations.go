package certbundle

import (
	"encoding/asn1"
	"fmt"
)

// maxPFXIterations caps the key-derivation iterations of an imported PFX, so
// a hostile or corrupt file cannot make Decode spin for hours. Real exports
// use 2,000 to 600,000.
const maxPFXIterations = 1_000_000

// maxDERDepth bounds the nesting checkPFXIterations descends into.
const maxDERDepth = 24

// checkPFXIterations rejects a PFX whose MAC or encryption parameters ask
// for more than maxPFXIterations iterations. Every such parameter set
// (MacData, pkcs-12PbeParams, PBKDF2-params) is a SEQUENCE in which the salt
// OCTET STRING is directly followed by the iteration INTEGER; the check
// finds that pattern in the structure and in OCTET STRINGs that hold DER.
// Data that is not DER is left for the PKCS#12 decoder to reject.
func checkPFXIterations(der []byte) error {
	n, ok := maxIterations(der, 0)
	if ok && n > maxPFXIterations {
		return fmt.Errorf("%w: the PFX asks for %d key-derivation iterations, more than the %d allowed; export it again with standard settings", ErrMalformed, n, maxPFXIterations)
	}
	return nil
}

// maxIterations returns the largest iteration count found in der, and
// whether der parsed as a sequence of DER values.
func maxIterations(der []byte, depth int) (int64, bool) {
	if depth > maxDERDepth {
		return 0, false
	}
	var found int64
	var prevOctets bool
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return found, false
		}
		der = rest
		switch {
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger && prevOctets:
			found = max(found, integerValue(v.Bytes))
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && !v.IsCompound:
			if n, ok := maxIterations(v.Bytes, depth+1); ok {
				found = max(found, n)
			}
		case v.IsCompound:
			n, _ := maxIterations(v.Bytes, depth+1)
			found = max(found, n)
		}
		prevOctets = v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString
	}
	return found, true
}

// integerValue returns a DER INTEGER's value, saturating at the int64 range
// and treating negative numbers as zero.
func integerValue(b []byte) int64 {
	if len(b) == 0 || b[0]&0x80 != 0 {
		return 0
	}
	if len(b) > 8 {
		return 1<<63 - 1
	}
	var n int64
	for _, c := range b {
		n = n<<8 | int64(c)
	}
	return n
}
