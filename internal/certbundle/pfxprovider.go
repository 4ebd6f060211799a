package certbundle

import (
	"encoding/asn1"
	"unicode/utf16"
)

// PKCS #12 (RFC 7292) object identifiers the provider parser needs.
var (
	oidData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidKeyBag          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidMicrosoftCSPKey = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 17, 1}
)

// pfxContentInfo is a PKCS #7 ContentInfo: a type and, for data, an
// explicitly tagged OCTET STRING.
type pfxContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type pfxFile struct {
	Version  int
	AuthSafe pfxContentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type pfxSafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  `asn1:"explicit,tag:0"`
	Attributes []pfxAttribute `asn1:"set,optional"`
}

type pfxAttribute struct {
	ID     asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// PFXKeyProvider returns the name of the Windows key provider that the PFX's
// private-key bag asks for, or "" when it names none.
//
// Windows writes the provider of an exported key into the key bag's
// attribute 1.3.6.1.4.1.311.17.1 ("Microsoft CSP name", a BMPString), such as
// "Microsoft Enhanced RSA and AES Cryptographic Provider" (CAPI) or
// "Microsoft Software Key Storage Provider" (CNG); openssl pkcs12 -export
// -CSP writes it too. PFXImportCertStore puts the key into that provider.
// Only key bags in unencrypted (data) safe contents are read, as Windows and
// openssl lay them out; the PFX's password and MAC are not checked.
func PFXKeyProvider(pfx []byte) string {
	var f pfxFile
	if _, err := asn1.Unmarshal(pfx, &f); err != nil || !f.AuthSafe.ContentType.Equal(oidData) {
		return ""
	}
	authSafe, ok := octets(f.AuthSafe.Content.Bytes)
	if !ok {
		return ""
	}
	var infos []pfxContentInfo
	if _, err := asn1.Unmarshal(authSafe, &infos); err != nil {
		return ""
	}
	for _, ci := range infos {
		if !ci.ContentType.Equal(oidData) {
			continue // encryptedData: its bags cannot be read without the password
		}
		contents, ok := octets(ci.Content.Bytes)
		if !ok {
			continue
		}
		var bags []pfxSafeBag
		if _, err := asn1.Unmarshal(contents, &bags); err != nil {
			continue
		}
		for _, bag := range bags {
			if !bag.ID.Equal(oidKeyBag) && !bag.ID.Equal(oidShroudedKeyBag) {
				continue
			}
			if name := cspName(bag.Attributes); name != "" {
				return name
			}
		}
	}
	return ""
}

// octets unwraps a DER OCTET STRING.
func octets(der []byte) ([]byte, bool) {
	var b []byte
	if _, err := asn1.Unmarshal(der, &b); err != nil {
		return nil, false
	}
	return b, true
}

// cspName returns the first value of the Microsoft CSP name attribute.
func cspName(attrs []pfxAttribute) string {
	for _, a := range attrs {
		if !a.ID.Equal(oidMicrosoftCSPKey) {
			continue
		}
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(a.Values.Bytes, &v); err != nil {
			return ""
		}
		switch v.Tag {
		case asn1.TagBMPString:
			return bmpString(v.Bytes)
		case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String:
			return string(v.Bytes)
		}
	}
	return ""
}

// bmpString decodes big-endian UTF-16 without a terminating zero.
func bmpString(b []byte) string {
	if len(b)%2 != 0 {
		return ""
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}
