//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
)

// The handler's service serves metrics at the settings' metricsListen.
func TestMetricsFromHandlerSettings(t *testing.T) {
	e := startEmulator(t, "methvault")
	e.create(t, "methvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	addr := freeAddr(t)
	g := newGuestAgent(t, "3.0.7")
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{
			"pollingIntervalInS": "3600", "requireInitialSync": true, "metricsListen": addr,
			"observedCertificates": []any{map[string]any{"url": "https://methvault.vault.azure.net/secrets/web",
				"certificateStoreLocation": filepath.Join(t.TempDir(), "store")}},
		},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
	})
	for _, op := range []string{"install", "enable"} {
		if out, code := g.run(t, op, 0); code != 0 {
			t.Fatalf("%s: exit %d\n%s", op, code, out)
		}
	}
	stop := g.startService(t, e)
	g.waitStatus(t, 0, handler.StatusSuccess)
	waitFor(t, "/readyz 200 from the service", func() (bool, string) {
		code, body := httpGet("http://" + addr + "/readyz")
		return code == 200, fmt.Sprint(code, " ", body)
	})
	code, body := httpGet("http://" + addr + "/metrics")
	if v, _ := sample(body, `akvvm_certificate_installs_total{certificate="methvault/web"}`); code != 200 || v != 1 {
		t.Errorf("/metrics = %d, installs %v, want 1:\n%s", code, v, body)
	}
	if !strings.Contains(body, `akvvm_keyvault_requests_total{operation="getSecret",status="200"}`) {
		t.Errorf("no getSecret 200 in the service's metrics")
	}
	stop()
}
