// Package floor is the bare job akvvm's agent is measured against: one get
// of a secret's current version with the official azsecrets client, its
// decoding, and an fsync'd atomic write of the PEM file the Linux store
// would hold. It has no listing, no records, no status and no recovery.
package floor

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/fsutil"
)

// Install fetches the current version of secret name and writes it to
// dir as "<vault>.<name>.<version>".
func Install(ctx context.Context, c *azsecrets.Client, vault, name, dir string) error {
	resp, err := c.GetSecret(ctx, name, "", nil)
	if err != nil {
		return err
	}
	if resp.Value == nil || resp.ID == nil {
		return errors.New("secret has no value")
	}
	ct := ""
	if resp.ContentType != nil {
		ct = *resp.ContentType
	}
	bundle, err := certbundle.Decode(*resp.Value, ct)
	if err != nil {
		return err
	}
	data, err := PEM(bundle)
	if err != nil {
		return err
	}
	defer clear(data)
	return fsutil.WriteFileAtomic(filepath.Join(dir, vault+"."+name+"."+resp.ID.Version()), data, 0o600)
}

// PEM is the file content the Linux store writes: leaf, chain, PKCS #8 key.
func PEM(b *certbundle.Bundle) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(b.Key)
	if err != nil {
		return nil, fmt.Errorf("encode the key: %w", err)
	}
	defer clear(der)
	var buf bytes.Buffer
	blocks := []*pem.Block{{Type: "CERTIFICATE", Bytes: b.Leaf.Raw}}
	for _, ca := range b.Chain {
		blocks = append(blocks, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	}
	blocks = append(blocks, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, blk := range blocks {
		if err := pem.Encode(&buf, blk); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
