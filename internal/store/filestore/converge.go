package filestore

import (
	"context"
	"errors"

	"github.com/akvvm/akvvm/internal/store"
)

// MakeCurrent is not implemented yet.
func (s *Store) MakeCurrent(ctx context.Context, t store.Target, ref store.Ref, version string) (store.Installed, error) {
	return store.Installed{}, errors.New("filestore: MakeCurrent not implemented")
}

// Delete is not implemented yet.
func (s *Store) Delete(ctx context.Context, t store.Target, ref store.Ref, versions []string) ([]store.Installed, error) {
	return nil, errors.New("filestore: Delete not implemented")
}
