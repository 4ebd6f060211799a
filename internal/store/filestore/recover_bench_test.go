package filestore

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// BenchmarkRecover measures one Recover pass over a store directory holding
// 1,000 certificates with nothing to recover: the cost the agent pays
// before every pass. With default link names no record is read; with
// custom ones every record is.
func BenchmarkRecover(b *testing.B) {
	for _, custom := range []bool{false, true} {
		b.Run(fmt.Sprintf("customLinks=%v", custom), func(b *testing.B) {
			s := New(Options{Logger: discard()})
			dir := filepath.Join(b.TempDir(), "store")
			c := newCert(b, testRef, "v1", ecKey, 0)
			for i := range 1000 {
				c.Ref = store.Ref{Vault: "vault", Name: fmt.Sprintf("cert%04d", i)}
				target := store.Target{Location: dir}
				if custom {
					target.LinkName = fmt.Sprintf("link%04d.pem", i)
				}
				if _, err := s.Install(b.Context(), target, c); err != nil {
					b.Fatal(err)
				}
			}
			targets := []store.Target{{Location: dir}}
			for b.Loop() {
				if err := s.Recover(b.Context(), targets); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
