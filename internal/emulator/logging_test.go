package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := startEmulator(t, Config{Logger: logger, Arc: false})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	cred := newCred(e, "")
	c := sdkClient(t, e, "https://myvault.vault.azure.net", cred)
	ctx := context.Background()

	const secretValue = "s3cr3t-value-that-must-not-be-logged"
	if _, err := c.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr(secretValue)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateCertificate("myvault", "pem-cert", CertificateSpec{ContentType: "pem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateCertificate("myvault", "pfx-cert", CertificateSpec{}); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, name := range []string{"db", "pem-cert", "pfx-cert"} {
		s, err := c.GetSecret(ctx, name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, *s.Value)
	}
	_, _ = c.GetSecret(ctx, "missing", "", nil)
	if _, err := e.AddFault(Fault{Op: OpGetSecret, Kind: FaultTruncate, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetSecret(ctx, "db", "", nil)
	tok, err := cred.GetToken(ctx, policyScope("https://vault.azure.net/.default"))
	if err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, "emulator request") || !strings.Contains(out, "emulator started") {
		t.Fatalf("expected request and lifecycle lines, got:\n%s", out)
	}
	forbidden := map[string]string{
		"secret value":     secretValue,
		"access token":     tok.Token,
		"token signature":  tok.Token[strings.LastIndex(tok.Token, ".")+1:],
		"token signer key": base64.StdEncoding.EncodeToString(e.signer.key),
		"private key PEM":  "PRIVATE KEY",
		"Authorization":    "Bearer ",
	}
	for i, v := range values[1:] {
		forbidden["certificate value "+string(rune('A'+i))] = v[len(v)/2 : len(v)/2+40]
	}
	for what, s := range forbidden {
		if strings.Contains(out, s) {
			t.Errorf("the log contains the %s", what)
		}
	}
}
