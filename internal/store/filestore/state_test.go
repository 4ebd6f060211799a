package filestore

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const validState = `{
  "format": 1,
  "certificates": [
    {
      "vault": "exampleVault",
      "name": "myCertificate",
      "link": "exampleVault.myCertificate",
      "versions": [
        {
          "version": "0123456789abcdef0123456789abcdef",
          "file": "exampleVault.myCertificate.0123456789abcdef0123456789abcdef",
          "thumbprint": "AB",
          "notAfter": "2027-01-01T00:00:00Z",
          "installedAt": "2026-01-01T00:00:00Z",
          "acls": [
            "u:alice"
          ]
        }
      ]
    }
  ]
}
`

func TestParseState(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // error substring; "" means valid
	}{
		{"valid", validState, ""},
		{"empty object", `{"format":1}`, ""},
		{"not json", `{`, "decoding"},
		{"other format", `{"format":2}`, "format 2"},
		{"file outside the directory", strings.Replace(validState, `"file": "exampleVault.myCertificate.0123`, `"file": "../../etc/passwd`, 1), "records file"},
		{"file of another certificate", strings.Replace(validState, `"file": "exampleVault.myCertificate.`, `"file": "exampleVault.other.`, 1), "records file"},
		{"link with slash", strings.Replace(validState, `"link": "exampleVault.myCertificate"`, `"link": "/etc/passwd"`, 1), "plain file name"},
		{"bad vault", strings.Replace(validState, `"vault": "exampleVault"`, `"vault": "a.b"`, 1), "vault name"},
		{"duplicate certificate", `{"format":1,"certificates":[{"vault":"v","name":"n"},{"vault":"v","name":"n"}]}`, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseState([]byte(tt.data))
			if tt.want == "" && err != nil {
				t.Fatalf("parseState: %v", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("parseState error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestStateEncodingIsStable(t *testing.T) {
	st, err := parseState([]byte(validState))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.cert(testRef).Versions[0].InstalledAt; !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("InstalledAt = %v", got)
	}
	data, err := st.encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != validState {
		t.Errorf("re-encoded state differs from the input:\n%s", data)
	}
}

// FuzzParseState checks that any accepted state names only plain version
// files of its own certificates and survives a round trip unchanged.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(validState))
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"certificates":[{"vault":"v","name":"n","versions":[{"version":"1","file":"v.n.1"}]}]}`))
	f.Add([]byte(`{"format":1,"certificates":[{"vault":"v","name":"n","versions":[{"version":"1","file":"../x"}]}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		if err != nil {
			return
		}
		for _, c := range st.Certificates {
			for _, v := range c.Versions {
				if strings.ContainsAny(v.File, "/\\") || v.File != versionFileName(c.ref(), v.Version) {
					t.Fatalf("accepted file name %q", v.File)
				}
			}
			if strings.ContainsAny(c.Link, "/\\") || strings.HasPrefix(c.Link, reservedPrefix) {
				t.Fatalf("accepted link name %q", c.Link)
			}
		}
		enc, err := st.encode()
		if err != nil {
			t.Fatalf("encoding an accepted state: %v", err)
		}
		again, err := parseState(enc)
		if err != nil {
			t.Fatalf("re-parsing an encoded state: %v", err)
		}
		enc2, err := again.encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("state encoding is not stable: %v", err)
		}
	})
}
