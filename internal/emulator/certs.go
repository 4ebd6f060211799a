package emulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/emulator/pki"
)

// CertificateSpec describes a certificate to issue into a vault as a
// certificate-backed (managed) secret.
type CertificateSpec struct {
	// CommonName is the subject CN; default the first DNS name, else the secret name.
	CommonName string `json:"commonName,omitempty"`
	// DNSNames are the subject alternative names.
	DNSNames []string `json:"dnsNames,omitempty"`
	// KeyType is RSA-2048 (default), RSA-3072, RSA-4096, EC-P256 or EC-P384.
	KeyType string `json:"keyType,omitempty"`
	// Validity is the lifetime; default 365 days.
	Validity Duration `json:"validity,omitempty"`
	// NotBefore is the start of validity; default now (slightly backdated).
	NotBefore *time.Time `json:"notBefore,omitempty"`
	// ContentType is application/x-pkcs12 (default) or application/x-pem-file.
	ContentType string `json:"contentType,omitempty"`
	// NoServerAuth and NoClientAuth drop the extended key usages Key Vault's
	// default policy sets (server and client authentication).
	NoServerAuth bool `json:"noServerAuth,omitempty"`
	NoClientAuth bool `json:"noClientAuth,omitempty"`
	// SelfSigned issues a self-signed leaf without chain.
	SelfSigned bool              `json:"selfSigned,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// ImportSpec is a certificate file to import as a new version.
type ImportSpec struct {
	// Data is a PFX (raw or base64) or PEM file.
	Data []byte `json:"data"`
	// Password opens a PFX.
	Password string `json:"password,omitempty"`
	// ContentType is how the value is stored: application/x-pkcs12 (default) or application/x-pem-file.
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// normaliseContentType maps "", "pfx", "pkcs12" and "pem" to Key Vault's content types.
func normaliseContentType(ct string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "", "pfx", "pkcs12", "p12", pki.ContentTypePKCS12:
		return pki.ContentTypePKCS12, nil
	case "pem", pki.ContentTypePEM:
		return pki.ContentTypePEM, nil
	}
	return "", fmt.Errorf("content type %q is not a certificate content type: use %s (pfx) or %s (pem)", ct, pki.ContentTypePKCS12, pki.ContentTypePEM)
}

// CreateCertificate issues a certificate from the emulator CA and stores it as
// a new version of the managed secret name.
func (e *Emulator) CreateCertificate(vault, name string, spec CertificateSpec) (SecretVersion, error) {
	if !secretNamePattern.MatchString(name) {
		return SecretVersion{}, fmt.Errorf("certificate name %q is invalid: use 1-127 letters, digits and hyphens", truncate(name, 130))
	}
	ct, err := normaliseContentType(spec.ContentType)
	if err != nil {
		return SecretVersion{}, err
	}
	spec.ContentType = ct
	req := pki.Request{CommonName: spec.CommonName, DNSNames: spec.DNSNames, Validity: time.Duration(spec.Validity),
		ServerAuth: !spec.NoServerAuth, ClientAuth: !spec.NoClientAuth, SelfSigned: spec.SelfSigned}
	if req.CommonName == "" && len(req.DNSNames) == 0 {
		req.CommonName = name
	}
	if spec.KeyType != "" {
		if req.KeyType, err = pki.ParseKeyType(spec.KeyType); err != nil {
			return SecretVersion{}, err
		}
	}
	if spec.NotBefore != nil {
		req.NotBefore = *spec.NotBefore
	}
	if err := e.checkVault(vault); err != nil {
		return SecretVersion{}, err
	}
	iss, err := e.ca.Issue(req)
	if err != nil {
		return SecretVersion{}, fmt.Errorf("issue certificate %s: %w", name, err)
	}
	saved := spec
	return e.storeCertificate(vault, name, iss, ct, spec.Tags, &saved)
}

// RotateCertificate issues a new version of a certificate with the parameters
// of its last CreateCertificate.
func (e *Emulator) RotateCertificate(vault, name string) (SecretVersion, error) {
	e.mu.Lock()
	v, err := e.vaultLocked(vault)
	var spec *CertificateSpec
	if err == nil {
		if s := v.Secrets[strings.ToLower(name)]; s != nil && s.Cert != nil {
			c := *s.Cert
			spec = &c
		}
	}
	e.mu.Unlock()
	if err != nil {
		return SecretVersion{}, err
	}
	if spec == nil {
		return SecretVersion{}, fmt.Errorf("certificate %s in vault %s: %w: it was never created by the emulator (create it first, or import a new version)", name, vault, ErrNotFound)
	}
	return e.CreateCertificate(vault, name, *spec)
}

// ImportCertificate decodes a PFX or PEM file and stores it, re-encoded in
// the requested content type, as a new version of the managed secret name.
func (e *Emulator) ImportCertificate(vault, name string, spec ImportSpec) (SecretVersion, error) {
	if !secretNamePattern.MatchString(name) {
		return SecretVersion{}, fmt.Errorf("certificate name %q is invalid: use 1-127 letters, digits and hyphens", truncate(name, 130))
	}
	ct, err := normaliseContentType(spec.ContentType)
	if err != nil {
		return SecretVersion{}, err
	}
	if err := e.checkVault(vault); err != nil {
		return SecretVersion{}, err
	}
	iss, err := pki.Decode(spec.Data, spec.Password)
	if err != nil {
		return SecretVersion{}, fmt.Errorf("import certificate %s: %w", name, err)
	}
	return e.storeCertificate(vault, name, iss, ct, spec.Tags, nil)
}

func (e *Emulator) checkVault(vault string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.vaultLocked(vault)
	return err
}

// storeCertificate encodes iss and appends it as a managed version; params,
// when not nil, become the parameters used by rotation.
func (e *Emulator) storeCertificate(vault, name string, iss *pki.Issued, ct string, tags map[string]string, params *CertificateSpec) (SecretVersion, error) {
	value, err := pki.Encode(iss, ct)
	if err != nil {
		return SecretVersion{}, fmt.Errorf("encode certificate %s: %w", name, err)
	}
	nbf, exp := iss.Leaf.NotBefore, iss.Leaf.NotAfter
	spec := SecretSpec{Value: value, ContentType: ct, NotBefore: &nbf, Expires: &exp, Tags: tags}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := e.vaultLocked(vault)
	if err != nil {
		return SecretVersion{}, err
	}
	if params != nil {
		if s := v.Secrets[strings.ToLower(name)]; s != nil {
			s.Cert = params
		} else {
			v.Secrets[strings.ToLower(name)] = &secretState{Name: name, Cert: params}
		}
	}
	s, ver, err := e.addVersionLocked(v, name, spec, true)
	if err != nil {
		if s := v.Secrets[strings.ToLower(name)]; s != nil && len(s.Versions) == 0 {
			delete(v.Secrets, strings.ToLower(name))
		}
		return SecretVersion{}, err
	}
	ref := versionRef(v, s, ver)
	ref.Thumbprint = pki.Thumbprint(iss.Leaf)
	e.log.Info("emulator certificate stored", "vault", v.Name, "name", s.Name, "version", ver.Version, "thumbprint", ref.Thumbprint)
	return ref, nil
}
