package keyvault

import (
	"context"
	"time"
)

// SecretItem is one entry of a vault's secret listing: the name and the
// attributes of the secret's current version. Key Vault gives no version
// id here, and never a value.
type SecretItem struct {
	Name        string
	Enabled     bool
	NotBefore   time.Time
	Expires     time.Time
	Created     time.Time
	Updated     time.Time
	ContentType string
	Managed     bool
}

// Listing says how much of a vault's secret listing was read.
type Listing struct {
	// Pages is the number of pages read, one request each.
	Pages int
	// Complete says the last page was read: no secret of the vault is
	// missing from the items handed over.
	Complete bool
}

// ListSecrets lists the secrets of the vault (25 a page), handing the
// items of each page to each as it arrives. It stops after maxPages pages
// (0: no limit); Listing.Complete then says whether the vault had more.
func (c *Clients) ListSecrets(ctx context.Context, vaultURL string, maxPages int, each func([]SecretItem)) (Listing, error) {
	var l Listing
	cl, err := c.client(vaultURL)
	if err != nil {
		return l, err
	}
	pager := cl.NewListSecretPropertiesPager(nil)
	items := make([]SecretItem, 0, 25)
	for pager.More() {
		if maxPages > 0 && l.Pages >= maxPages {
			return l, nil
		}
		pageCtx, tr := withTries(ctx)
		page, err := pager.NextPage(pageCtx)
		if err != nil {
			return l, NewError("list the secrets", vaultURL, "", "", tr.explain(err, c.retry.TryTimeout))
		}
		l.Pages++
		items = items[:0]
		for _, p := range page.Value {
			if p == nil || p.ID == nil {
				continue
			}
			v := versionFrom(p.ID, p.Attributes, p.ContentType, p.Managed)
			items = append(items, SecretItem{Name: p.ID.Name(), Enabled: v.Enabled, NotBefore: v.NotBefore, Expires: v.Expires,
				Created: v.Created, Updated: v.Updated, ContentType: v.ContentType, Managed: v.Managed})
		}
		each(items)
	}
	l.Complete = true
	return l, nil
}
