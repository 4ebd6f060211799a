package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/keyvault"
)

// checkSecrets asks the vault for the certificate's secret (get, the value
// is discarded unread) and its versions (list), as the agent does.
func (d *doctor) checkSecrets(ctx context.Context, c config.Certificate) {
	u := c.URL
	getCheck, listCheck := "secrets get "+u.Name, "secrets list "+u.Name
	tok, have := d.tokens[u.Cloud.Resource]
	if !have {
		d.rep.Add(Result{Outcome: Skip, Check: getCheck, Detail: "skipped: no token"})
		d.rep.Add(Result{Outcome: Skip, Check: listCheck, Detail: "skipped: no token"})
		return
	}
	gctx, cancel := context.WithTimeout(ctx, checkTimeout)
	s, err := d.kv.Get(gctx, u.VaultURL(), u.Name, u.Version)
	cancel()
	got := err == nil
	if err != nil {
		d.rep.Add(secretFailure(getCheck, "get", u, tok, err))
	} else {
		state := "enabled"
		if !s.Enabled {
			state = "disabled"
		}
		d.rep.Add(Result{Outcome: Pass, Check: getCheck, Detail: fmt.Sprintf("allowed; version %s (%s)", s.Version.Version, state)})
	}
	lctx, cancel := context.WithTimeout(ctx, checkTimeout)
	vs, err := d.kv.Versions(lctx, u.VaultURL(), u.Name)
	cancel()
	if err != nil {
		r := secretFailure(listCheck, "list", u, tok, err)
		if got && isRefusal(err) {
			r = getOnlyWarning(r, tok, err)
		}
		d.rep.Add(r)
		return
	}
	usable := 0
	for _, v := range vs {
		if v.Usable(d.now()) {
			usable++
		}
	}
	d.rep.Add(Result{Outcome: Pass, Check: listCheck, Detail: fmt.Sprintf("allowed; %s, %d usable", plural(len(vs), "version"), usable)})
}

// secretFailure tells a missing secret (404) from a refused identity (403),
// and a refusal by Azure RBAC from one by access policies.
func secretFailure(check, perm string, u keyvault.SecretURL, tok claims, err error) Result {
	var kerr *keyvault.Error
	if !errors.As(err, &kerr) {
		return Result{Outcome: Fail, Check: check, Detail: err.Error(), Fix: "check the vault answers from this machine"}
	}
	status, code := kerr.StatusCode(), kerr.ErrorCode()
	detail := fmt.Sprintf("HTTP %d", status)
	if status == 0 {
		detail = "no answer"
	}
	if code != "" {
		detail += " " + code
	}
	if m := kerr.Message(); m != "" {
		detail += fmt.Sprintf(" (Key Vault: %q)", m)
	}
	if status == 0 {
		detail = kerr.Err.Error()
	}
	switch {
	case status == http.StatusNotFound:
		what := "the secret " + u.Name
		if u.Version != "" {
			what += " version " + u.Version
		}
		return Result{Outcome: Fail, Check: check, Detail: "not found: " + detail,
			Fix: what + " does not exist in " + u.VaultURL() + " (the identity may read the vault: this is not a permission problem); check the name and version in observedCertificates, or create the certificate there"}
	case status == http.StatusForbidden && code != keyvault.CodeSecretDisabled && code != keyvault.CodeForbiddenByFirewall && code != keyvault.CodeForbiddenByConnection:
		return Result{Outcome: Fail, Check: check, Detail: "refused: " + detail, Fix: permissionFix(perm, code, kerr.Message(), tok)}
	}
	fix := kerr.Hint()
	if fix == "" {
		fix = "see the error above"
	}
	return Result{Outcome: Fail, Check: check, Detail: detail, Fix: fix}
}

// permissionModel guesses from Key Vault's code and message whether the
// vault uses Azure RBAC or access policies; "" when neither says.
func permissionModel(code, message string) string {
	m := strings.ToLower(message)
	switch {
	case code == keyvault.CodeForbiddenByRbac || code == keyvault.CodeAccessDenied ||
		strings.Contains(m, "not authorized to perform action") || strings.Contains(m, "rbac") || strings.Contains(m, "role assignment"):
		return "rbac"
	case code == keyvault.CodeForbiddenByPolicy || strings.Contains(m, "access policy") ||
		strings.Contains(m, "does not have secrets"):
		return "policy"
	}
	return ""
}

// permissionFix says how to grant perm to the token's identity.
func permissionFix(perm, code, message string, tok claims) string {
	who := "this identity"
	if tok.OID != "" {
		who += " (object id " + tok.OID + ")"
	}
	switch permissionModel(code, message) {
	case "rbac":
		return "the vault uses Azure RBAC: assign " + who + " the Key Vault Secrets User role on the vault (new assignments take a few minutes to apply)"
	case "policy":
		return "the vault uses access policies: give " + who + " the secret permissions get and list in an access policy (or switch the vault to Azure RBAC and assign the Key Vault Secrets User role)"
	}
	return "the vault refused " + who + " secrets " + perm + ": with Azure RBAC (the vault's Access configuration says which) assign the Key Vault Secrets User role; with access policies grant the secret permissions get and list"
}

// isRefusal reports a 403 that refuses the identity (not a disabled
// version or the vault's network rules).
func isRefusal(err error) bool {
	var kerr *keyvault.Error
	if !errors.As(err, &kerr) || kerr.StatusCode() != http.StatusForbidden {
		return false
	}
	code := kerr.ErrorCode()
	return code != keyvault.CodeSecretDisabled && code != keyvault.CodeForbiddenByFirewall && code != keyvault.CodeForbiddenByConnection
}

// getOnlyWarning turns a refused listing into a warning when get works:
// the agent then reads the current version by GET each poll.
func getOnlyWarning(r Result, tok claims, err error) Result {
	var kerr *keyvault.Error
	errors.As(err, &kerr)
	who := "this identity"
	if tok.OID != "" {
		who += " (object id " + tok.OID + ")"
	}
	grant := "grant " + who + " secrets list"
	switch permissionModel(kerr.ErrorCode(), kerr.Message()) {
	case "policy":
		grant = "give " + who + " the secret permission list in its access policy"
	case "rbac":
		grant = "assign " + who + " the Key Vault Secrets User role (it includes list)"
	}
	r.Outcome = Warn
	r.Detail += "; get works, so akvvm reads the current version instead (list not granted: each poll downloads the current value, private key included; listing is tried again every 24 h)"
	r.Fix = grant + " so that an unchanged poll lists metadata only, or accept that each poll downloads the value"
	return r
}
