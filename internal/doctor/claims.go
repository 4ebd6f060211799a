package doctor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// claims are the token claims doctor reports; never the token itself.
type claims struct {
	Aud   string `json:"aud"`
	AppID string `json:"appid"`
	Azp   string `json:"azp"`
	OID   string `json:"oid"`
	TID   string `json:"tid"`
	Exp   int64  `json:"exp"`
	// MIRID is the managed identity's ARM resource id (xms_mirid), when
	// the token carries it.
	MIRID string `json:"xms_mirid"`
}

// clientID is the application (client) id: appid in v1 tokens, azp in v2.
func (c claims) clientID() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.Azp
}

// expires returns the exp claim as a time, or zero.
func (c claims) expires() time.Time {
	if c.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0)
}

// errNotJWT reports a token that is not a JWT, so its claims are unknown.
var errNotJWT = errors.New("the token is not a JWT, so its claims cannot be read")

// decodeClaims reads the payload of a JWT without verifying it: doctor
// only reports who the token is for. Errors never quote the token.
func decodeClaims(token string) (claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}, errNotJWT
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return claims{}, errNotJWT
	}
	return c, nil
}
