package handler

import (
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// A held version is named in the certificate's substatus: beside the
// installed version (success), or, with nothing installed, as what the
// certificate waits for (transitioning, not an error).
func TestFromAgentPendingVersion(t *testing.T) {
	until := now.Add(90 * time.Second)
	text := "version 4567 pending until " + until.Format(time.RFC3339) + " (activationDelayInS 1m30s after its creation at " + now.Format(time.RFC3339) + ")"
	st := agent.Status{Phase: agent.Success, Updated: now,
		Certificates: []agent.CertStatus{{Key: "v/web", URL: "https://v.vault.azure.net/secrets/web", InstalledVersion: "0123",
			Thumbprint: "AB12", NotAfter: now.Add(time.Hour), Location: "/store/v.web", Pending: text + "; version 0123 stays current until then", PendingUntil: until}}}
	s := FromAgent("x", st).Status.SubStatus[0]
	if s.Status != StatusSuccess || !strings.Contains(s.FormattedMessage.Message, "installed version 0123") ||
		!strings.Contains(s.FormattedMessage.Message, "; "+text+"; version 0123 stays current until then") {
		t.Errorf("installed: substatus %+v", s)
	}

	st.Phase = agent.Transitioning
	st.Certificates[0] = agent.CertStatus{Key: "v/web", URL: "https://v.vault.azure.net/secrets/web", Pending: text, PendingUntil: until}
	s = FromAgent("x", st).Status.SubStatus[0]
	if s.Status != StatusTransitioning || s.Code != 0 || s.FormattedMessage.Message != text {
		t.Errorf("nothing installed: substatus %+v", s)
	}
}
