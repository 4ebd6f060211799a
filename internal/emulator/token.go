package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// clockSkew is the leeway given to nbf and exp, as Microsoft Entra tokens get.
const clockSkew = 5 * time.Minute

// tokenClaims are the claims of an emulator access token.
type tokenClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	AppID string `json:"appid"`
	OID   string `json:"oid"`
	TID   string `json:"tid"`
	IAT   int64  `json:"iat"`
	NBF   int64  `json:"nbf"`
	EXP   int64  `json:"exp"`
	// MIRID is the resource id of a user-assigned identity, as Entra ID
	// puts it in managed-identity tokens.
	MIRID string `json:"xms_mirid,omitempty"`
}

type tokenHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

// tokenSigner signs and verifies JWT-shaped tokens with HMAC-SHA256.
type tokenSigner struct {
	key []byte
}

var errTokenMalformed = errors.New("the token is not a well-formed JWT")

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign returns the token for c.
func (s tokenSigner) sign(c tokenClaims) (string, error) {
	h, err := json.Marshal(tokenHeader{Alg: "HS256", Typ: "JWT"})
	if err != nil {
		return "", fmt.Errorf("encode token header: %w", err)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	signed := b64(h) + "." + b64(body)
	return signed + "." + b64(s.mac(signed)), nil
}

func (s tokenSigner) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// verify checks the token's signature and lifetime at now and returns its claims.
// Errors describe the problem without quoting the token.
func (s tokenSigner) verify(tok string, now time.Time) (tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tokenClaims{}, errTokenMalformed
	}
	rawHeader, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	rawClaims, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return tokenClaims{}, errTokenMalformed
	}
	var h tokenHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return tokenClaims{}, errTokenMalformed
	}
	if h.Alg != "HS256" {
		return tokenClaims{}, fmt.Errorf("the token algorithm %q is not accepted; only tokens issued by the emulator's identity endpoint are valid", truncate(h.Alg, 16))
	}
	if !hmac.Equal(sig, s.mac(parts[0]+"."+parts[1])) {
		return tokenClaims{}, errors.New("the token signature is invalid; get a token from this emulator's identity endpoint")
	}
	var c tokenClaims
	if err := json.Unmarshal(rawClaims, &c); err != nil {
		return tokenClaims{}, errTokenMalformed
	}
	if now.Add(clockSkew).Unix() < c.NBF {
		return tokenClaims{}, errors.New("the token is not valid yet (nbf)")
	}
	if now.Add(-clockSkew).Unix() >= c.EXP {
		return tokenClaims{}, errors.New("the token has expired; get a new one from the identity endpoint")
	}
	return c, nil
}

// ObjectID is the emulator's object (principal) id of the identity with
// clientID: a stable GUID derived from it. Token requests may name the
// identity by it (object_id).
func ObjectID(clientID string) string {
	sum := sha256.Sum256([]byte("akvvm-emulator-oid:" + strings.ToLower(clientID)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// EmulatorSubscription is the subscription of the emulator's identities'
// resource ids.
const EmulatorSubscription = "5a5e0000-0000-4000-8000-0000000000e1"

// ResourceID is the ARM resource id of the user-assigned identity with
// clientID in the emulator. Token requests may name the identity by it
// (msi_res_id, compared without regard to case, as ARM does).
func ResourceID(clientID string) string {
	return "/subscriptions/" + EmulatorSubscription + "/resourceGroups/akvvm-emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + strings.ToLower(clientID)
}

// normaliseResource trims the trailing slash of a resource (token audience).
func normaliseResource(r string) string { return strings.TrimSuffix(r, "/") }
