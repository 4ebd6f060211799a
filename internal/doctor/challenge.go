package doctor

import (
	"strings"
)

// challenge is Key Vault's Bearer challenge (the WWW-Authenticate of a 401):
// authorization is the login authority with the vault's tenant, resource
// the token audience Key Vault expects.
type challenge struct {
	authorization, resource, scope string
}

// tenant returns the last path segment of the authorization URL.
func (c challenge) tenant() string {
	a := strings.TrimSuffix(c.authorization, "/")
	if i := strings.LastIndexByte(a, '/'); i >= 0 && i < len(a)-1 && strings.Contains(a[:i], "//") {
		return a[i+1:]
	}
	return ""
}

// parseBearerChallenge reads `Bearer authorization="…", resource="…"`
// (authorization_uri and scope are accepted too). ok is false for any other
// scheme. azsecrets parses the challenge inside the SDK and exports nothing.
func parseBearerChallenge(header string) (challenge, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return challenge{}, false
	}
	var c challenge
	for rest = strings.TrimSpace(rest); rest != ""; {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimSpace(after)
		var value string
		if v, quoted := strings.CutPrefix(after, `"`); quoted {
			value, rest, ok = strings.Cut(v, `"`)
			if !ok {
				return challenge{}, false
			}
		} else {
			value, rest, _ = strings.Cut(after, ",")
			value = strings.TrimSpace(value)
		}
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
		switch name {
		case "authorization", "authorization_uri":
			c.authorization = value
		case "resource":
			c.resource = value
		case "scope":
			c.scope = value
		}
	}
	if c.resource == "" && c.scope != "" {
		c.resource = strings.TrimSuffix(c.scope, "/.default")
	}
	return c, c.authorization != "" || c.resource != ""
}
