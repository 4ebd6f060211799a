package emulator

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// imdsTokenPath is the managed-identity token path of IMDS (and Azure Arc).
const imdsTokenPath = "/metadata/identity/oauth2/token"

// tokenResponse is IMDS's token answer; every number is a JSON string.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
}

// imdsHandler serves the identity endpoint on the plain-HTTP listener.
func (e *Emulator) imdsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := e.now()
		sw := &statusWriter{ResponseWriter: w}
		rec := &requestRecord{op: opUnknown}
		defer e.finish(r, sw, rec, start)
		if r.URL.Path != imdsTokenPath && r.URL.Path != imdsTokenPath+"/" {
			writeIMDSError(sw, http.StatusNotFound, "not_found", "The emulator serves only "+imdsTokenPath+".")
			return
		}
		rec.op = OpToken
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serveToken(w, r, rec) })
		if f, ok := e.faults.take(OpToken, "", ""); ok {
			e.applyFault(sw, r, f, true, next)
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// serveToken issues a token as IMDS does, after IMDS's checks.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request, rec *requestRecord) {
	if r.Method != http.MethodGet {
		writeIMDSError(w, http.StatusMethodNotAllowed, "invalid_request", "Only GET is supported.")
		return
	}
	if r.Header.Get("Metadata") != "true" {
		writeIMDSError(w, http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
		return
	}
	if e.cfg.Arc && !e.arcAuthorised(w, r) {
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		writeIMDSError(w, http.StatusBadRequest, "invalid_request", "Required query variable 'api-version' is missing")
		return
	}
	resource := q.Get("resource")
	if resource == "" {
		writeIMDSError(w, http.StatusBadRequest, "invalid_request", "Required query variable 'resource' is missing")
		return
	}
	clientID, selector, ok := e.selectIdentity(w, q)
	rec.selector = selector
	if !ok {
		return
	}
	now := e.now()
	life := e.cfg.TokenLifetime
	claims := tokenClaims{
		Aud: normaliseResource(resource), Iss: "https://sts.windows.net/" + e.cfg.Tenant + "/",
		AppID: clientID, OID: ObjectID(clientID), TID: e.cfg.Tenant,
		IAT: now.Unix(), NBF: now.Unix(), EXP: now.Add(life).Unix(),
	}
	if clientID != SystemAssignedClientID {
		claims.MIRID = ResourceID(clientID)
	}
	tok, err := e.signer.sign(claims)
	if err != nil {
		writeIMDSError(w, http.StatusInternalServerError, "unknown", "Failed to retrieve token from the Active directory.")
		return
	}
	rec.clientID = clientID
	secs := strconv.FormatInt(int64(life/time.Second), 10)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok, ClientID: clientID, ExpiresIn: secs, ExpiresOn: strconv.FormatInt(claims.EXP, 10),
		ExtExpiresIn: secs, NotBefore: strconv.FormatInt(claims.NBF, 10), Resource: resource, TokenType: "Bearer",
	})
}

// selectIdentity picks the identity a token request names by client_id,
// object_id or msi_res_id (at most one of them), or writes IMDS's 400. It
// returns the client id and the query parameter that selected it ("" for
// the system-assigned identity).
func (e *Emulator) selectIdentity(w http.ResponseWriter, q url.Values) (clientID, selector string, ok bool) {
	var given []string
	for _, p := range []string{"client_id", "object_id", "msi_res_id"} {
		if q.Get(p) != "" {
			given = append(given, p)
		}
	}
	if len(given) > 1 {
		writeIMDSError(w, http.StatusBadRequest, "invalid_request", "Only one of client_id, object_id and msi_res_id may be given; the request has "+strings.Join(given, ", "))
		return "", strings.Join(given, ","), false
	}
	if len(given) == 1 {
		selector = given[0]
		if id, found := e.findIdentity(selector, q.Get(selector)); found {
			return id, selector, true
		}
		writeIMDSError(w, http.StatusBadRequest, "invalid_request", "Identity not found")
		return "", selector, false
	}
	if e.cfg.NoSystemIdentity {
		if len(e.Identities()) == 0 {
			writeIMDSError(w, http.StatusBadRequest, "invalid_request", "Identity not found")
		} else {
			writeIMDSError(w, http.StatusBadRequest, "invalid_request",
				"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request")
		}
		return "", "", false
	}
	return SystemAssignedClientID, "", true
}

// findIdentity returns the client id of the identity whose client id,
// object id or resource id (by selector) is value. The system-assigned
// identity has no resource id of its own kind.
func (e *Emulator) findIdentity(selector, value string) (string, bool) {
	if selector == "client_id" {
		return strings.ToLower(value), e.hasIdentity(value)
	}
	for _, id := range e.Identities() {
		switch {
		case selector == "object_id" && strings.EqualFold(ObjectID(id), value):
			return id, true
		case selector == "msi_res_id" && id != SystemAssignedClientID && strings.EqualFold(ResourceID(id), value):
			return id, true
		}
	}
	return "", false
}

// arcAuthorised runs Azure Arc's key-file challenge.
func (e *Emulator) arcAuthorised(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		w.Header().Set("WWW-Authenticate", "Basic realm="+e.arcFile)
		writeIMDSError(w, http.StatusUnauthorized, "unauthorized", "Read the key file named in the WWW-Authenticate realm and send its content as Authorization: Basic <content>.")
		return false
	}
	scheme, secret, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(secret)), []byte(e.arcKey)) != 1 {
		writeIMDSError(w, http.StatusUnauthorized, "unauthorized", "The Basic credential does not match the key file's content.")
		return false
	}
	return true
}
