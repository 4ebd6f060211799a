package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The status file is encoded one certificate at a time; its bytes must be
// what json.MarshalIndent makes of the whole status, so readers (akvvm
// status, the handler, operators' scripts) see the same document.
func TestStatusFileEncodingMatchesMarshalIndent(t *testing.T) {
	now := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	certs := []CertStatus{
		{Key: "v.a", URL: "https://v.vault.azure.net/secrets/a", InstalledVersion: "1", LastCheck: now, Notice: "quote \" and <tag> & \u2028"},
		{Key: "v.b", URL: "https://v.vault.azure.net/secrets/b", LastError: "boom", Attempts: 2, NextCheck: now.Add(time.Minute)},
	}
	for name, s := range map[string]Status{
		"nil certificates":   {Phase: Transitioning, Message: "starting", Updated: now},
		"no certificates":    {Phase: Success, Updated: now, Certificates: []CertStatus{}},
		"one certificate":    {Phase: Success, Updated: now, Warnings: []string{"w"}, Certificates: certs[:1]},
		"two certificates":   {Phase: Error, Message: "m", Identity: "system", Updated: now, Started: now, Certificates: certs},
		"last known entries": {Phase: Success, Updated: now, LastKnownSince: now, Certificates: certs},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			var got bytes.Buffer
			if err := encodeStatus(&got, s); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("encoded status differs from MarshalIndent:\ngot:\n%s\nwant:\n%s", got.Bytes(), want)
			}
			path := filepath.Join(t.TempDir(), "status.json")
			if err := WriteStatusFile(path, s); err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(path); err != nil || !bytes.Equal(data, want) {
				t.Errorf("status file holds %q (%v), want %q", data, err, want)
			}
			back, err := ReadStatusFile(path)
			if err != nil || len(back.Certificates) != len(s.Certificates) {
				t.Errorf("read back %d certificates (%v), want %d", len(back.Certificates), err, len(s.Certificates))
			}
		})
	}
}
