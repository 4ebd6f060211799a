package identity

import (
	"context"
	"strings"
	"testing"
)

// TestGetTokenSelectors checks that each way of naming a user-assigned
// identity reaches the endpoint as its query parameter, and only that one.
func TestGetTokenSelectors(t *testing.T) {
	const rid = "/subscriptions/00001111-aaaa-2222-bbbb-3333cccc4444/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web"
	for _, tt := range []struct {
		name         string
		opts         Options
		param, value string
		describe     string
	}{
		{"client id", Options{ClientID: "c7373ae5-91c2-4165-8ab6-7381d6e75619"}, "client_id", "c7373ae5-91c2-4165-8ab6-7381d6e75619", "user-assigned identity c7373ae5-91c2-4165-8ab6-7381d6e75619 at "},
		{"object id", Options{ObjectID: "aaaa0000-bb11-2222-33cc-444444dddddd"}, "object_id", "aaaa0000-bb11-2222-33cc-444444dddddd", "user-assigned identity with object id aaaa0000-bb11-2222-33cc-444444dddddd at "},
		{"resource id", Options{ResourceID: rid}, "msi_res_id", rid, "user-assigned identity " + rid + " at "},
		{"system-assigned", Options{}, "", "", "system-assigned identity at "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, okReply(3600))
			tt.opts.Endpoint = f.tokenURL()
			c, _, _ := testCred(t, tt.opts)
			if _, err := c.GetToken(context.Background(), tokenOptions(vaultScope)); err != nil {
				t.Fatal(err)
			}
			q := query(f.requests()[0])
			for _, p := range []string{"client_id", "object_id", "msi_res_id"} {
				got, ok := q[p]
				switch {
				case p == tt.param && (!ok || len(got) != 1 || got[0] != tt.value):
					t.Errorf("%s = %q, want %q", p, got, tt.value)
				case p != tt.param && ok:
					t.Errorf("%s = %q sent too", p, got)
				}
			}
			if !strings.HasPrefix(c.Describe(), tt.describe) {
				t.Errorf("Describe = %q, want %q…", c.Describe(), tt.describe)
			}
		})
	}
	if _, err := New(Options{ClientID: "c7373ae5-91c2-4165-8ab6-7381d6e75619", ObjectID: "aaaa0000-bb11-2222-33cc-444444dddddd"}); err == nil ||
		!strings.Contains(err.Error(), "give only one of msiClientId and msiObjectId") {
		t.Errorf("two selectors: %v", err)
	}
}
