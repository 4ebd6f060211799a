package pki

import (
	"encoding/base64"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func FuzzDecode(f *testing.F) {
	a := newAuthority(f)
	iss := issue(f, a, Request{CommonName: "fuzz.example.com", KeyType: ECP256})
	for _, ct := range []string{ContentTypePEM, ContentTypePKCS12} {
		value, err := Encode(iss, ct)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(value), "")
	}
	pfx, err := pkcs12.LegacyDES.Encode(iss.Key, iss.Leaf, iss.Chain, "pw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pfx, "pw")
	f.Add([]byte(base64.StdEncoding.EncodeToString(pfx)), "")
	f.Add(a.RootPEM(), "")
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\r\nAAAA\r\n-----END EC PRIVATE KEY-----\r\n"), "")
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x03}, "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		iss, err := Decode(data, password)
		if err != nil {
			return
		}
		if iss.Leaf == nil || iss.Key == nil {
			t.Fatal("Decode succeeded without a leaf or key")
		}
		if !publicKeysEqual(iss.Key.Public(), iss.Leaf.PublicKey) {
			t.Fatal("Decode returned a leaf that does not match the key")
		}
	})
}
