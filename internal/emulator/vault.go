package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/cloud"
)

// serveVault handles one data-plane request: routing, faults, vault lookup,
// throttling, api-version, authentication, authorisation, then the operation.
func (e *Emulator) serveVault(w http.ResponseWriter, r *http.Request) {
	start := e.now()
	sw := &statusWriter{ResponseWriter: w}
	rec := &requestRecord{op: opUnknown}
	defer e.finish(r, sw, rec, start)
	setKVHeaders(sw.Header())
	e.setDate(sw.Header())

	c, vaultName, ok := cloud.ForHost(hostName(r.Host))
	if !ok {
		writeAPIError(sw, badParameter("The host '"+truncate(hostName(r.Host), 100)+
			"' is not a Key Vault host name. Use https://<vault>.vault.azure.net (or a sovereign cloud's suffix) and route it to the emulator."))
		return
	}
	rec.vault = vaultName
	vr, aerr := parseVaultPath(r.Method, r.URL.Path)
	rec.op = vr.op
	if aerr != nil {
		writeAPIError(sw, aerr)
		return
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.serveVaultOp(w, r, c, vaultName, vr, rec)
	})
	if f, ok := e.faults.take(vr.op, vaultName, vr.secret); ok {
		e.applyFault(sw, r, f, false, next)
		return
	}
	next.ServeHTTP(sw, r)
}

// serveVaultOp runs the checks that need the vault, then the operation.
func (e *Emulator) serveVaultOp(w http.ResponseWriter, r *http.Request, c cloud.Cloud, vaultName string, vr vaultRequest, rec *requestRecord) {
	key := strings.ToLower(vaultName)
	e.mu.Lock()
	v := e.st.Vaults[key]
	exists := v != nil && cloudByName(v.Cloud).Name == c.Name
	e.mu.Unlock()
	if !exists {
		writeAPIError(w, &apiError{status: http.StatusNotFound, code: "VaultNotFound", message: "The vault '" + vaultName +
			"' (" + c.VaultSuffix + ") does not exist in the emulator. Create it with 'akvvm emulator vault create --name " +
			vaultName + " --cloud " + c.Name + "', with the emulator's --vault flag, or with POST " + adminPrefix + "vaults."})
		return
	}
	if ok, retryAfter := e.throttle.allow(key, e.now()); !ok {
		secs := max(1, int((retryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeAPIError(w, &apiError{status: http.StatusTooManyRequests, code: "Throttled", message: "Request was not processed because too many requests were received. Reason: the request limit of this vault (" +
			strconv.Itoa(e.throttle.currentLimit()) + " per 10 seconds) was exceeded. Please retry after " + strconv.Itoa(secs) + " seconds."})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeAPIError(w, badParameter("The 'api-version' query parameter is missing. Add ?api-version=7.5 (or any Key Vault API version) to the request."))
		return
	}
	claims, aerr := e.authenticate(w, r, c)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	rec.clientID = claims.AppID
	perm := permissionFor(vr.op)
	e.mu.Lock()
	allowed := e.st.Vaults[key] != nil && e.st.Vaults[key].allows(claims.AppID, perm)
	e.mu.Unlock()
	if !allowed {
		writeAPIError(w, &apiError{status: http.StatusForbidden, code: "Forbidden", inner: "ForbiddenByPolicy",
			message: "The user, group or application 'appid=" + claims.AppID + ";oid=" + claims.OID + ";iss=https://sts.windows.net/" +
				claims.TID + "/' does not have secrets " + string(perm) + " permission on key vault '" + vaultName +
				";location=emulator'. Grant it with 'akvvm emulator vault access' or POST " + adminPrefix + "vaults/" + vaultName +
				"/access. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"})
		return
	}
	switch vr.op {
	case OpGetSecret:
		e.getSecret(w, key, vr)
	case OpListVersions:
		e.listVersions(w, r, key, vr)
	case OpListSecrets:
		e.listSecrets(w, r, key)
	case OpSetSecret:
		e.setSecret(w, r, key, vr)
	case OpUpdateSecret:
		e.updateSecret(w, r, key, vr)
	case OpDeleteSecret:
		e.deleteSecret(w, key, vr)
	}
}

// setKVHeaders adds the headers Key Vault sends with every response.
func setKVHeaders(h http.Header) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	s := hex.EncodeToString(id[:])
	h.Set("x-ms-request-id", s[0:8]+"-"+s[8:12]+"-"+s[12:16]+"-"+s[16:20]+"-"+s[20:32])
	h.Set("x-ms-keyvault-region", "emulator")
	h.Set("x-ms-keyvault-service-version", "1.9.0.0-akvvm-emulator")
	h.Set("Cache-Control", "no-cache")
}
