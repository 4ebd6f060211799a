package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/identity"
)

// checkTokens asks for a token per Key Vault resource and reports whom it
// is for, its audience and its expiry; never the token.
func (d *doctor) checkTokens(ctx context.Context) {
	for _, res := range d.resources() {
		check := "token for " + res
		tctx, cancel := context.WithTimeout(ctx, checkTimeout)
		tok, err := d.cred.GetToken(tctx, policy.TokenRequestOptions{Scopes: []string{res + "/.default"}})
		cancel()
		if err != nil {
			detail, fix := tokenFailure(err)
			if !strings.HasPrefix(detail, d.cred.Describe()) {
				detail = d.cred.Describe() + ": " + detail
			}
			d.rep.Add(Result{Outcome: Fail, Check: check, Detail: detail, Fix: fix})
			continue
		}
		c, err := decodeClaims(tok.Token)
		if err != nil {
			d.tokens[res] = claims{}
			d.rep.Add(Result{Outcome: Pass, Check: check, Detail: fmt.Sprintf("obtained for %s, expires %s; %v",
				d.cred.Describe(), tok.ExpiresOn.UTC().Format("2006-01-02 15:04:05Z"), err)})
			continue
		}
		d.tokens[res] = c
		d.rep.Add(d.tokenResult(check, res, c))
	}
}

// tokenResult judges the claims of a token obtained for res.
func (d *doctor) tokenResult(check, res string, c claims) Result {
	who := "client id " + orUnknown(c.clientID()) + ", object id " + orUnknown(c.OID)
	if c.TID != "" {
		who += ", tenant " + c.TID
	}
	if c.MIRID != "" {
		who += ", resource id " + c.MIRID
	}
	exp := "expiry unknown"
	if t := c.expires(); !t.IsZero() {
		exp = fmt.Sprintf("expires %s (in %s)", t.UTC().Format("2006-01-02 15:04:05Z"), short(t.Sub(d.now())))
	}
	detail := fmt.Sprintf("%s; audience %s; %s", who, orUnknown(c.Aud), exp)
	id := d.opts.Settings.Identity
	want := id.ClientID
	switch {
	case !strings.EqualFold(strings.TrimSuffix(c.Aud, "/"), res):
		return Result{Outcome: Fail, Check: check, Detail: detail,
			Fix: "the identity endpoint issued a token for another audience than " + res + "; check msiEndpoint points at IMDS or the Azure Arc agent"}
	case want != "" && c.clientID() != "" && !strings.EqualFold(c.clientID(), want):
		return Result{Outcome: Fail, Check: check, Detail: detail,
			Fix: "the token is for client id " + c.clientID() + ", not msiClientId " + want + "; check msiEndpoint and msiClientId"}
	case id.ObjectID != "" && c.OID != "" && !strings.EqualFold(c.OID, id.ObjectID):
		return Result{Outcome: Fail, Check: check, Detail: detail,
			Fix: "the token is for object id " + c.OID + ", not msiObjectId " + id.ObjectID + "; check msiEndpoint and msiObjectId"}
	case id.ResourceID != "" && c.MIRID != "" && !strings.EqualFold(c.MIRID, id.ResourceID):
		return Result{Outcome: Fail, Check: check, Detail: detail,
			Fix: "the token is for identity " + c.MIRID + ", not the resource id in msiClientId " + id.ResourceID + "; check msiEndpoint and msiClientId"}
	}
	return Result{Outcome: Pass, Check: check, Detail: detail}
}

// tokenFailure splits a token error into what happened and what to do.
func tokenFailure(err error) (detail, fix string) {
	var re *identity.ResponseError
	if errors.As(err, &re) {
		detail = fmt.Sprintf("HTTP %d", re.StatusCode)
		if re.Code != "" {
			detail += " " + re.Code
		}
		if re.Description != "" {
			detail += ": " + re.Description
		}
		fix = re.Hint
		if fix == "" {
			fix = "check msiEndpoint and msiClientId, and that the identity is assigned to this machine"
		}
		return detail, fix
	}
	return strings.TrimPrefix(err.Error(), "identity: "), "check the identity endpoint (msiEndpoint) answers, and that the identity is assigned to this machine"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
