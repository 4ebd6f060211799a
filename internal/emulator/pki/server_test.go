package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServerCertificateTLSHandshake(t *testing.T) {
	a := newAuthority(t)
	cert, err := a.ServerCertificate([]string{"*.vault.azure.net", "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("ServerCertificate: %v", err)
	}
	if len(cert.Certificate) != 2 {
		t.Fatalf("tls.Certificate has %d certs, want leaf and intermediate", len(cert.Certificate))
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(a.RootPEM()) {
		t.Fatal("RootPEM does not load into a pool")
	}
	tests := []struct {
		serverName string
		wantErr    bool
	}{
		{"myvault.vault.azure.net", false},
		{"localhost", false},
		{"myvault.vault.azure.cn", true},
		{"a.b.vault.azure.net", true}, // a wildcard covers one label only
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: roots, ServerName: tt.serverName})
			if err == nil {
				conn.Close()
			}
			if tt.wantErr {
				var hostErr x509.HostnameError
				if !errors.As(err, &hostErr) {
					t.Errorf("handshake as %s: err = %v, want a host name error", tt.serverName, err)
				}
				return
			}
			if err != nil {
				t.Errorf("handshake as %s: %v", tt.serverName, err)
			}
		})
	}
}

func TestServerCertificateIPOnly(t *testing.T) {
	a := newAuthority(t)
	cert, err := a.ServerCertificate(nil, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyServer(cert.Leaf, []*x509.Certificate{a.Intermediate()}, a.Root(), "127.0.0.1"); err != nil {
		t.Errorf("IP-only server certificate does not verify for 127.0.0.1: %v", err)
	}
	if _, err := a.ServerCertificate(nil, nil); err == nil {
		t.Error("ServerCertificate with no names succeeded")
	}
}
