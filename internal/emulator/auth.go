package emulator

import (
	"net/http"
	"strings"

	"github.com/akvvm/akvvm/internal/cloud"
)

// challenge is the WWW-Authenticate value Key Vault sends for cloud c.
func (e *Emulator) challenge(c cloud.Cloud) string {
	return `Bearer authorization="` + c.Authority + "/" + e.cfg.Tenant + `", resource="` + c.Resource + `"`
}

// authenticate checks the bearer token of r for a vault in cloud c. On failure
// it sets the challenge header and returns the 401 to write.
func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request, c cloud.Cloud) (tokenClaims, *apiError) {
	fail := func(msg string) (tokenClaims, *apiError) {
		w.Header().Set("WWW-Authenticate", e.challenge(c))
		return tokenClaims{}, &apiError{status: http.StatusUnauthorized, code: "Unauthorized", message: msg}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return fail("AKV10000: Request is missing a Bearer or PoP token.")
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return fail("AKV10000: Request is missing a Bearer or PoP token.")
	}
	claims, err := e.signer.verify(strings.TrimSpace(tok), e.now())
	if err != nil {
		return fail("The bearer token was rejected: " + err.Error() + ".")
	}
	if !strings.EqualFold(normaliseResource(claims.Aud), c.Resource) {
		return fail("AKV10022: Invalid audience. Expected " + c.Resource + ", found: " + truncate(claims.Aud, 100) + ".")
	}
	return claims, nil
}
