package handler

import (
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
)

// A plain secret's substatus says which version is written to which file,
// with no thumbprint or expiry of a certificate.
func TestFromAgentSecret(t *testing.T) {
	st := agent.Status{Phase: agent.Success, Updated: now, Message: "1 of 1 secrets written",
		Certificates: []agent.CertStatus{{Key: "v/db", Kind: agent.KindSecret, URL: "https://v.vault.azure.net/secrets/db",
			InstalledVersion: "0123", Location: "/etc/app/db"}}}
	s := FromAgent("x", st).Status.SubStatus[0]
	if s.Status != StatusSuccess || s.FormattedMessage.Message != "secret version 0123 written to /etc/app/db" {
		t.Errorf("substatus %+v", s)
	}
	if strings.Contains(s.FormattedMessage.Message, "thumbprint") {
		t.Error("a secret has a thumbprint")
	}
}
