package winstore

import (
	"context"
	"fmt"

	"github.com/akvvm/akvvm/internal/store"
)

// Remove removes every version of ref that carries akvvm's marker at t,
// with its private key unless another certificate still uses the key
// container (under Wine keys stay: Wine shares one container per user).
// Intermediates in CA are shared with other certificates and stay, as does
// every certificate without akvvm's marker. Removing what is already gone
// succeeds with nothing removed.
func (s *Store) Remove(ctx context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	removed, err := s.Prune(ctx, t, ref, 0)
	for _, in := range removed {
		s.log.Info("removed certificate version", "store", t.Location+`\`+t.StoreName, "version", in.Version, "thumbprint", in.Thumbprint)
	}
	if err != nil {
		return removed, fmt.Errorf("removing %s/%s from %s\\%s (%w): fix the cause and remove again", ref.Vault, ref.Name, t.Location, t.StoreName, err)
	}
	return removed, nil
}
