package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runAkvvm runs the root command in-process and returns its exit status and output.
func runAkvvm(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = 1
		errOut.WriteString(err.Error())
	}
	return code, out.String(), errOut.String()
}

const samplesDir = "../../internal/config/testdata/samples"

func TestValidateGoodSettings(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--settings", filepath.Join(samplesDir, "win40-schema.json"), "--platform", "windows"},
			[]string{"valid KeyVaultForWindows 4.0 settings", "every 1h0m0s", "up to 25 attempts", "Certificates:  3",
				"https://myvault.vault.azure.cn/secrets/mycertificate3", "LocalMachine\\TrustedPeople", "read: Network Service, Local Service",
				"user-assigned managed identity 00001111-aaaa-2222-bbbb-3333cccc4444"}},
		{[]string{"--settings", filepath.Join(samplesDir, "win10-template.json"), "--platform", "windows", "--compat", "1.0"},
			[]string{"valid KeyVaultForWindows 1.0 settings", "as soon as polling starts", "system-assigned managed identity"}},
		{[]string{"--settings", filepath.Join(samplesDir, "linux30.json"), "--platform", "linux"},
			[]string{"valid KeyVaultForLinux 3.0 settings", "/var/lib/waagent/Microsoft.Azure.KeyVault/app1/app1Cert1", "read: user app1, group appGroup1", "fluentd"}},
		{[]string{"--settings", filepath.Join(samplesDir, "win10-cli.json"), "--platform", "windows", "--compat", "1.0"},
			[]string{"Warnings:", "observedCertificates[0]: has spaces around the URL"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runAkvvm(t, "", append([]string{"validate"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestValidateBadSettings(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "settings.json")
	text := `{"secretsManagementSettings": {"linkOnRenewal": true, "observedCertificates": [
  {"url": "https://myvault.vault.azure.net/certificates/web"},
  {"url": "https://myvault.vault.azure.net/secrets/api", "certificateStoreLocation": "localmachine"}]},
 "authenticationSettings": {"msiClientId": "00001111-aaaa-2222-bbbb-3333cccc4444"}}`
	if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runAkvvm(t, "", "validate", "--settings", bad, "--platform", "windows")
	if code != exitInvalidSettings {
		t.Fatalf("exit %d, want %d; stdout:\n%s", code, exitInvalidSettings, out)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
	for _, w := range []string{
		"not valid KeyVaultForWindows 4.0 settings (4 problems)",
		"secretsManagementSettings.linkOnRenewal: \"linkOnRenewal\" was removed in 4.0",
		"observedCertificates[0].url: \"https://myvault.vault.azure.net/certificates/web\" points at /certificates/",
		"write https://myvault.vault.azure.net/secrets/web.",
		"observedCertificates[1].certificateStoreLocation: \"localmachine\" is not a store location: the value is case-sensitive. Write \"LocalMachine\".",
		"authenticationSettings.msiEndpoint: is missing; it is required when msiClientId is given.",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}

// A guest agent file: the paths are the operator's, and the first line
// says where the file keeps the settings.
func TestValidateGuestAgentFileNamesTheOperatorsPaths(t *testing.T) {
	in := `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"secretsManagementSettings":{"observedCertificates":[
  {"url":"https://myvault.vault.azure.net/secrets/a"},{"url":"https://myvault.vault.azure.net/certificates/b"}]}}}}]}`
	code, _, errOut := runAkvvm(t, in, "validate", "--settings", "-", "--platform", "linux")
	if code != exitInvalidSettings {
		t.Fatalf("exit %d, want %d:\n%s", code, exitInvalidSettings, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "paths are inside runtimeSettings[0].handlerSettings.publicSettings") ||
		!strings.HasPrefix(lines[1], "  - secretsManagementSettings.observedCertificates[1].url: ") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestValidateStdinJSON(t *testing.T) {
	in := `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"secretsManagementSettings":{"observedCertificates":["https://myvault.vault.azure.net/secrets/c"]}}}}]}`
	code, out, errOut := runAkvvm(t, in, "validate", "--settings", "-", "--platform", "linux", "--compat", "2.0", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Platform     string `json:"platform"`
		Version      string `json:"version"`
		Interval     int    `json:"pollingIntervalInS"`
		Certificates []struct {
			URL           string `json:"url"`
			StoreLocation string `json:"storeLocation"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Platform != "linux" || got.Version != "2.0" || got.Interval != 3600 || len(got.Certificates) != 1 ||
		got.Certificates[0].URL != "https://myvault.vault.azure.net/secrets/c" || got.Certificates[0].StoreLocation != "/var/lib/waagent/Microsoft.Azure.KeyVault.Store" {
		t.Errorf("got %+v", got)
	}
}

func TestValidateUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, `required flag(s) "settings" not set`},
		{[]string{"validate", "--settings", "x.json", "--platform", "windows", "--compat", "2.0"}, "2.0 is not a schema akvvm knows"},
		{[]string{"validate", "--settings", filepath.Join(samplesDir, "no-such-file.json"), "--platform", "linux"}, "check the path given to --settings"},
	}
	for _, tt := range tests {
		code, _, errOut := runAkvvm(t, "", tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
}
