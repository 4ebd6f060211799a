package pki

import "testing"

func BenchmarkIssueECP256(b *testing.B) {
	a := newAuthority(b)
	for b.Loop() {
		issue(b, a, Request{CommonName: "bench.example.com", KeyType: ECP256})
	}
}

func BenchmarkDecodePKCS12(b *testing.B) {
	iss := issue(b, newAuthority(b), Request{CommonName: "bench.example.com", KeyType: ECP256})
	value, err := Encode(iss, ContentTypePKCS12)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Decode([]byte(value), ""); err != nil {
			b.Fatal(err)
		}
	}
}
