package winstore

import (
	"context"
	"fmt"

	"github.com/akvvm/akvvm/internal/store"
)

// Remove removes every version of ref that carries akvvm's marker at t,
// the current one included, with its private key unless another
// certificate still uses the key container (under Wine keys stay: Wine
// shares one container per user). Intermediates in CA are shared with
// other certificates and stay, as does every certificate without akvvm's
// marker. Removing what is already gone succeeds with nothing removed.
func (s *Store) Remove(ctx context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lockStore(ctx, t)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := openSystemStore(t.Location, t.StoreName)
	if err != nil {
		return nil, err
	}
	es := st.managed(t, ref)
	all := make([]int, len(es))
	for i := range es {
		all[i] = i
	}
	removed, err := s.deleteEntries(st, t, es, all)
	freeEntries(es)
	if cerr := st.close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return removed, fmt.Errorf("removing %s/%s from %s\\%s (%w): fix the cause and remove again", ref.Vault, ref.Name, t.Location, t.StoreName, err)
	}
	return removed, nil
}
