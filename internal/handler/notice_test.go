package handler

import (
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// A certificate's notice (here: read by GET alone) is in its substatus,
// which stays a success.
func TestSubStatusSaysTheNotice(t *testing.T) {
	sub := certSubStatus(agent.CertStatus{Key: "v/web", URL: "https://v.vault.azure.net/secrets/web", InstalledVersion: "v1",
		Thumbprint: "AB", NotAfter: time.Now().Add(90 * 24 * time.Hour), Location: "/store/v.web", Notice: agent.GetOnlyNotice})
	if sub.Status != StatusSuccess || !strings.Contains(sub.FormattedMessage.Message, agent.GetOnlyNotice) {
		t.Errorf("substatus %s %q; want success saying %q", sub.Status, sub.FormattedMessage.Message, agent.GetOnlyNotice)
	}
}
