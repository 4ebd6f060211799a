package winstore

import (
	"context"
	"strings"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

var _ store.Enumerator = (*Store)(nil)

// Owned returns the certificates whose versions carry akvvm's marker for
// t (its location and store), whatever settings installed them.
func (s *Store) Owned(_ context.Context, t store.Target) ([]store.Ref, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := openSystemStore(t.Location, t.StoreName)
	if err != nil {
		return nil, err
	}
	seen := map[store.Ref]bool{}
	var out []store.Ref
	st.each(func(ctx *windows.CertContext) bool {
		desc, ok := getStringProperty(ctx, propDescription)
		if !ok {
			return true
		}
		rec, err := parseMarker(desc)
		if err != nil || !strings.EqualFold(rec.Location, t.Location) || !strings.EqualFold(rec.Store, t.StoreName) {
			return true
		}
		ref := store.Ref{Vault: rec.Vault, Name: rec.Name}
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
		return true
	})
	return out, st.close()
}
