package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/cloud"
)

// vaultProbe is what the unauthenticated request to a vault saw.
type vaultProbe struct {
	// date is the vault's Date header; zero when it sent none.
	date time.Time
	// sent and received bound the moment the vault wrote date.
	sent, received time.Time
}

// checkVault runs the checks of one vault: DNS, TLS, the challenge, the
// secrets of each certificate, and the clock against the vault's Date.
func (d *doctor) checkVault(ctx context.Context, host string) {
	d.rep.Section(host)
	certs := d.certificatesOf(host)
	skipRest := func(why string) {
		d.rep.Add(Result{Outcome: Skip, Check: "TLS " + host, Detail: "skipped: " + why})
		d.rep.Add(Result{Outcome: Skip, Check: "challenge " + host, Detail: "skipped: " + why})
		for _, c := range certs {
			d.rep.Add(Result{Outcome: Skip, Check: "secrets get " + c.URL.Name, Detail: "skipped: " + why})
			d.rep.Add(Result{Outcome: Skip, Check: "secrets list " + c.URL.Name, Detail: "skipped: " + why})
		}
		d.rep.Add(Result{Outcome: Skip, Check: "clock", Detail: "skipped: " + why})
	}
	if !d.checkDNS(ctx, host) {
		skipRest("the name does not resolve")
		return
	}
	if !d.checkTLS(ctx, host) {
		skipRest("no TLS connection")
		return
	}
	probe, ok := d.checkChallenge(ctx, host, certs[0].URL.Cloud)
	for _, c := range certs {
		d.checkSecrets(ctx, c)
	}
	if ok || !probe.date.IsZero() {
		d.rep.Add(d.clockResult(probe))
	} else {
		d.rep.Add(Result{Outcome: Skip, Check: "clock", Detail: "skipped: the vault sent no Date header"})
	}
}

// checkDNS resolves the vault's name, or says it is routed by a test-only
// route, and names a private address as a private endpoint.
func (d *doctor) checkDNS(ctx context.Context, host string) bool {
	check := "DNS " + host
	if r, ok := d.opts.Transport.RouteFor(net.JoinHostPort(host, "443")); ok {
		d.rep.Add(Result{Outcome: Pass, Check: check, Detail: "routed by --connect-to to " + r.Addr + " (test only); DNS not checked"})
		return true
	}
	lctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	addrs, err := d.resolver.LookupIPAddr(lctx, host)
	if err != nil || len(addrs) == 0 {
		detail := "does not resolve"
		if err != nil {
			detail += ": " + dnsError(err)
		}
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: detail,
			Fix: "check the vault name in observedCertificates (the vault must exist in this cloud) and this machine's DNS server; " +
				"with a private endpoint, link the private DNS zone privatelink." + vaultZone(host) + " to this virtual network or forward it from your DNS server"})
		return false
	}
	var ips, private []string
	for _, a := range addrs {
		ips = append(ips, a.IP.String())
		if a.IP.IsPrivate() {
			private = append(private, a.IP.String())
		}
	}
	detail := "resolves to " + strings.Join(ips, ", ")
	if len(private) > 0 {
		detail += " (private address: a private endpoint)"
	} else {
		detail += " (public address)"
	}
	d.rep.Add(Result{Outcome: Pass, Check: check, Detail: detail})
	return true
}

// vaultZone returns the DNS zone of a vault host (vaultcore.azure.net for
// the public cloud's private endpoints).
func vaultZone(host string) string {
	if c, _, ok := cloud.ForHost(host); ok && c.Name == cloud.Public.Name {
		return "vaultcore.azure.net"
	}
	if _, zone, ok := strings.Cut(host, "."); ok {
		return zone
	}
	return host
}

// dnsError shortens a resolver error to its cause.
func dnsError(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "no such host (NXDOMAIN)"
		case de.IsTimeout:
			return "the DNS server did not answer in time"
		}
		return de.Err
	}
	return err.Error()
}

// checkTLS makes a TLS connection to the vault and names its certificate.
func (d *doctor) checkTLS(ctx context.Context, host string) bool {
	check := "TLS " + host
	addr := net.JoinHostPort(host, "443")
	if r, ok := d.opts.Transport.RouteFor(addr); ok {
		addr = r.Addr
	}
	roots, err := d.opts.Transport.RootCAs()
	if err != nil {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: err.Error(), Fix: "check --ca-file"})
		return false
	}
	tctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	dialer := &tls.Dialer{Config: &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}}
	conn, err := dialer.DialContext(tctx, "tcp", addr)
	if err != nil {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: err.Error(), Fix: tlsFix(err)})
		return false
	}
	defer conn.Close()
	tc, ok := conn.(*tls.Conn)
	if !ok || len(tc.ConnectionState().PeerCertificates) == 0 {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: "no server certificate", Fix: "check nothing between this machine and the vault terminates TLS"})
		return false
	}
	st := tc.ConnectionState()
	leaf := st.PeerCertificates[0]
	d.rep.Add(Result{Outcome: Pass, Check: check, Detail: fmt.Sprintf("%s, certificate subject %q, issuer %q, valid until %s",
		tls.VersionName(st.Version), leaf.Subject.String(), leaf.Issuer.String(), leaf.NotAfter.UTC().Format("2006-01-02"))})
	return true
}

// tlsFix says what to check after a failed handshake.
func tlsFix(err error) string {
	var unknown x509.UnknownAuthorityError
	var name x509.HostnameError
	var invalid x509.CertificateInvalidError
	var op *net.OpError
	switch {
	case errors.As(err, &unknown):
		return "the vault's certificate is not trusted: a TLS-inspecting proxy or firewall may sit between this machine and Key Vault; let the vault's traffic through uninspected, or add its root to the system trust store"
	case errors.As(err, &name):
		return "another server answers for this name: check the hosts file and DNS entries of the vault name"
	case errors.As(err, &invalid):
		return "the certificate is expired or not yet valid as this machine sees it: check the machine's clock"
	case errors.As(err, &op) && op.Op == "dial":
		return "allow outbound HTTPS (TCP 443) from this machine to the vault: network security group, firewall, or proxy"
	}
	return "check nothing between this machine and the vault interferes with TLS"
}

// checkChallenge sends an unauthenticated request, as the SDK does first,
// and reads the 401's Bearer challenge: the resource must be the cloud's
// Key Vault resource, and its tenant the token's.
func (d *doctor) checkChallenge(ctx context.Context, host string, c cloud.Cloud) (vaultProbe, bool) {
	check := "challenge " + host
	var probe vaultProbe
	rctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, "https://"+host+"/secrets?api-version=7.5&maxresults=1", nil)
	if err != nil {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: err.Error()})
		return probe, false
	}
	probe.sent = d.now()
	resp, err := d.kvHTTP.Do(req)
	probe.received = d.now()
	if err != nil {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: err.Error(), Fix: "check outbound HTTPS to the vault is allowed, and no proxy refuses it"})
		return probe, false
	}
	_ = resp.Body.Close()
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		probe.date = t
	}
	ch, ok := parseBearerChallenge(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized || !ok {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: fmt.Sprintf("HTTP %d without a Bearer challenge", resp.StatusCode),
			Fix: "the server at this name does not answer like Key Vault: check the vault URL, and that no proxy answers in its place"})
		return probe, false
	}
	detail := fmt.Sprintf("resource %s, authorization %s", orUnknown(ch.resource), orUnknown(ch.authorization))
	if !strings.EqualFold(strings.TrimSuffix(ch.resource, "/"), c.Resource) {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: detail,
			Fix: "the vault asks for tokens for " + ch.resource + ", not " + c.Resource + ": check the vault URL's cloud suffix"})
		return probe, true
	}
	if tok, have := d.tokens[c.Resource]; have && tok.TID != "" && ch.tenant() != "" && !strings.EqualFold(tok.TID, ch.tenant()) {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: detail + "; the token is from tenant " + tok.TID,
			Fix: "the vault belongs to tenant " + ch.tenant() + " and the identity to " + tok.TID + ": a managed identity reaches only vaults of its own tenant"})
		return probe, true
	}
	d.rep.Add(Result{Outcome: Pass, Check: check, Detail: detail})
	return probe, true
}

// clockResult compares the vault's Date with this machine's clock at the
// moment of the answer (between sending and receiving).
func (d *doctor) clockResult(p vaultProbe) Result {
	mid := p.sent.Add(p.received.Sub(p.sent) / 2)
	skew := p.date.Sub(mid.Truncate(time.Second)) // Date has whole seconds
	text := fmt.Sprintf("the vault's Date is %s", p.date.UTC().Format(time.RFC3339))
	if skew.Abs() <= MaxClockSkew {
		return Result{Outcome: Pass, Check: "clock", Detail: fmt.Sprintf("%s, this machine's clock is within %s of it", text, short(max(skew.Abs(), time.Second)))}
	}
	dir := "behind"
	if skew < 0 {
		dir = "ahead of"
	}
	return Result{Outcome: Fail, Check: "clock",
		Detail: fmt.Sprintf("%s: this machine's clock is %s %s the vault's", text, short(skew.Abs()), dir),
		Fix:    "set this machine's clock right (timedatectl and chronyc tracking on Linux, w32tm /resync on Windows): tokens and Key Vault allow about 5 minutes of skew"}
}
