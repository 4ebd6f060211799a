//go:build linux

package e2e

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

// opensslPKI is a root, an intermediate and two leaves (RSA, EC) made by openssl.
type opensslPKI struct {
	dir string
	t   *testing.T
}

func (p opensslPKI) run(args ...string) error {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Logf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return err
}

func (p opensslPKI) must(args ...string) {
	p.t.Helper()
	if err := p.run(args...); err != nil {
		p.t.Fatalf("openssl %s failed", args[0])
	}
}

func (p opensslPKI) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p opensslPKI) read(name string) []byte {
	p.t.Helper()
	data, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		p.t.Fatal(err)
	}
	return data
}

// newOpenSSLPKI issues the certificates with the openssl command.
func newOpenSSLPKI(t *testing.T) opensslPKI {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed; install it to check payloads produced by another tool")
	}
	p := opensslPKI{dir: t.TempDir(), t: t}
	p.write("ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
	p.write("rsa.ext", "subjectAltName=DNS:rsa.openssl.example\nextendedKeyUsage=serverAuth\n")
	p.write("ec.ext", "subjectAltName=DNS:ec.openssl.example\nextendedKeyUsage=serverAuth\n")
	p.must("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "30",
		"-subj", "/CN=E2E OpenSSL Root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	p.must("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=E2E OpenSSL Intermediate")
	p.must("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "30", "-extfile", "ca.ext", "-out", "int.pem")
	p.must("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.csr", "-subj", "/CN=rsa.openssl.example")
	p.must("x509", "-req", "-in", "rsa.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-days", "30", "-extfile", "rsa.ext", "-out", "rsa.pem")
	p.must("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key") // SEC1 "EC PRIVATE KEY"
	p.must("req", "-new", "-key", "ec.key", "-out", "ec.csr", "-subj", "/CN=ec.openssl.example")
	p.must("x509", "-req", "-in", "ec.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-days", "30", "-extfile", "ec.ext", "-out", "ec.pem")
	p.write("chain.pem", string(p.read("int.pem"))+string(p.read("root.pem")))
	p.must("rsa", "-in", "rsa.key", "-traditional", "-out", "rsa-pkcs1.key") // "RSA PRIVATE KEY"
	return p
}

// payload is one secret value as another tool produced it.
type payload struct {
	name, contentType, value string
	leaf                     string // file of the leaf certificate
}

func TestPayloadsFromOpenSSL(t *testing.T) {
	t.Parallel()
	p := newOpenSSLPKI(t)
	p.must("pkcs12", "-export", "-inkey", "rsa.key", "-in", "rsa.pem", "-certfile", "chain.pem", "-passout", "pass:", "-out", "modern.pfx")
	payloads := []payload{
		{"pfx-modern", "application/x-pkcs12", base64.StdEncoding.EncodeToString(p.read("modern.pfx")), "rsa.pem"},
		// Reverse order: root, intermediate, leaf, then the PKCS #1 key.
		{"pem-pkcs1-reversed", "application/x-pem-file",
			string(p.read("root.pem")) + string(p.read("int.pem")) + string(p.read("rsa.pem")) + string(p.read("rsa-pkcs1.key")), "rsa.pem"},
		// SEC1 EC key first, CRLF line ends as a Windows editor saves them.
		{"pem-sec1-crlf", "application/x-pem-file",
			strings.ReplaceAll(string(p.read("ec.key"))+string(p.read("ec.pem"))+string(p.read("chain.pem")), "\n", "\r\n"), "ec.pem"},
	}
	if err := p.run("pkcs12", "-export", "-legacy", "-inkey", "rsa.key", "-in", "rsa.pem", "-certfile", "chain.pem", "-passout", "pass:", "-out", "legacy.pfx"); err != nil {
		t.Log("openssl pkcs12 -legacy is not available (no legacy provider); the legacy PFX payload is not checked")
	} else {
		payloads = append(payloads, payload{"pfx-legacy", "application/x-pkcs12", base64.StdEncoding.EncodeToString(p.read("legacy.pfx")), "rsa.pem"})
	}

	// SetSecret stores the bytes as openssl wrote them; ImportCertificate
	// would re-encode them with the emulator's own encoder.
	e := startEmulator(t, "osslvault")
	b := newBox(t)
	var certs []map[string]any
	for _, pl := range payloads {
		if _, err := e.admin.SetSecret(t.Context(), "osslvault", pl.name, emulator.SecretSpec{Value: pl.value, ContentType: pl.contentType}); err != nil {
			t.Fatalf("store %s: %v", pl.name, err)
		}
		certs = append(certs, map[string]any{"url": "https://osslvault.vault.azure.net/secrets/" + pl.name})
	}
	b.writeSettings(t, e, certs...)
	out, code := b.sync(t, e)
	if code != 0 {
		t.Errorf("sync exit %d:\n%s", code, out)
	}
	s := b.status(t)
	for _, pl := range payloads {
		t.Run(pl.name, func(t *testing.T) {
			c := certStatus(t, s, "osslvault/"+pl.name)
			if !c.Installed() {
				t.Fatalf("not installed: %s", c.LastError)
			}
			leaf := parseCert(t, p.read(pl.leaf))
			sum := sha1.Sum(leaf.Raw)
			if !strings.EqualFold(c.Thumbprint, hex.EncodeToString(sum[:])) {
				t.Errorf("thumbprint %s, want the openssl leaf's %X", c.Thumbprint, sum)
			}
			checkInstalledFile(t, filepath.Join(b.store, "osslvault."+pl.name), leaf)
		})
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkInstalledFile checks the file behind link: leaf, intermediate, root,
// then a PKCS #8 key belonging to the leaf.
func checkInstalledFile(t *testing.T, link string, leaf *x509.Certificate) {
	t.Helper()
	data, err := os.ReadFile(link)
	if err != nil {
		t.Fatalf("installed file: %v", err)
	}
	var names []string
	var key any
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, c.Subject.CommonName)
		case "PRIVATE KEY":
			if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
				t.Fatalf("key is not PKCS #8: %v", err)
			}
			names = append(names, "key")
		default:
			names = append(names, blk.Type)
		}
	}
	want := []string{leaf.Subject.CommonName, "E2E OpenSSL Intermediate", "E2E OpenSSL Root", "key"}
	if strings.Join(names, " | ") != strings.Join(want, " | ") {
		t.Errorf("installed PEM blocks = %q, want %q", names, want)
	}
	pub, ok := key.(crypto.Signer)
	if !ok {
		t.Fatal("no private key installed")
	}
	want2, err := x509.MarshalPKIXPublicKey(leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x509.MarshalPKIXPublicKey(pub.Public())
	if err != nil || !bytes.Equal(got, want2) {
		t.Errorf("installed key does not belong to the leaf (err %v)", err)
	}
}
