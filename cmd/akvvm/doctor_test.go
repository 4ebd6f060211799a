package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Settings that are not valid are the first ✗ line, with every problem,
// and exit 2; settings that cannot be read exit 1. No network is needed.
func TestDoctorSettingsCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"secretsManagementSettings": {"observedCertificates": [{"url": "https://nope.example.com/secrets/x"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		code int
		want []string
	}{
		{bad, 2, []string{"✗ settings: not valid", "fix: correct the problems below", "nope.example.com"}},
		{filepath.Join(dir, "missing.json"), 1, []string{"✗ settings: cannot be read", "missing.json", "fix: check the path"}},
	} {
		var out bytes.Buffer
		cmd := newDoctorCommand()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"--settings", tc.file, "--compat", "3.0"})
		err := cmd.Execute()
		var ee exitError
		if !errors.As(err, &ee) || ee.code != tc.code {
			t.Errorf("%s: error %v, want exit %d\n%s", tc.file, err, tc.code, out.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.file, w, out.String())
			}
		}
	}
}
