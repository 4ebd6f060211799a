package agent

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDroppedCertificatesWarnedAtInstall: a secret whose extra
// certificates are forged installs the leaf with its verified chain, and
// one WARN line names each dropped certificate by subject and serial,
// without key material.
func TestDroppedCertificatesWarnedAtInstall(t *testing.T) {
	h := newHarness(t)
	forged := forgedCert(t, "test root", 7001)
	stranger := forgedCert(t, "stranger", 7002)
	value := h.pki.leafPEM(t, "web.example.com", false) + pemOf(forged) + pemOf(stranger)
	h.src.add("web", "v1", value, t0.Add(-time.Hour))
	var logs lockedBuffer
	a := h.agent(t, func(d *Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	if st := a.SyncOnce(context.Background()); st.Phase != Success {
		t.Fatalf("sync: %s %s", st.Phase, st.Message)
	}
	if h.store.installs != 1 || len(h.store.chain) != 1 || !h.store.chain[0].Equal(h.pki.root) {
		t.Fatalf("installs=%d chain=%d certificates, want 1 install with the root only", h.store.installs, len(h.store.chain))
	}
	var warns []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") {
			warns = append(warns, line)
		}
	}
	if len(warns) != 1 {
		t.Fatalf("WARN lines %q, want one", warns)
	}
	w := warns[0]
	for _, want := range []string{"outside the leaf's verified chain", "version=v1", "dropped=2",
		`\"CN=test root\" (serial 1b59): named as the issuer of`, `\"CN=stranger\" (serial 1b5a): not in the verified chain of the leaf`} {
		if !strings.Contains(w, want) {
			t.Errorf("WARN line %q does not say %q", w, want)
		}
	}
	if strings.Contains(w, "PRIVATE KEY") || strings.Contains(w, "BEGIN") {
		t.Errorf("WARN line %q holds PEM", w)
	}
}

// forgedCert returns a self-signed CA certificate named cn with serial.
func forgedCert(t *testing.T, cn string, serial int64) *x509.Certificate {
	t.Helper()
	c, _ := selfSignedCA(t, cn, serial)
	return c
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
