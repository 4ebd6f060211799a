package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseIdentity reads authenticationSettings.
func parseIdentity(o *object, path string, s Schema, r *report) Identity {
	checkFields(o, path, s, lvAuth, r)
	id := Identity{Endpoint: DefaultIMDSEndpoint}
	endpointGiven := false
	if v := o.vals["msiEndpoint"]; v != nil {
		endpointGiven = true
		id.Endpoint = tokenEndpoint(v, field(path, "msiEndpoint"), r)
	}
	if v := o.vals["msiClientId"]; v != nil {
		id.ClientID = clientID(v, field(path, "msiClientId"), r)
		if !endpointGiven {
			r.add(field(path, "msiEndpoint"), "is missing; it is required when msiClientId is given",
				`Add "msiEndpoint": "`+DefaultIMDSEndpoint+`" (on Azure Arc: "http://localhost:40342/metadata/identity").`)
		}
	}
	return id
}

// templateValue reports ARM expressions and documentation placeholders,
// which are not values yet.
func templateValue(s, p, example string, r *report) bool {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
		r.add(p, fmt.Sprintf("%q is an ARM template expression, not a value", s),
			"ARM evaluates it at deployment; validate the settings with the evaluated value, such as "+example+".")
	case strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">"):
		r.add(p, fmt.Sprintf("%q is a placeholder copied from the documentation", s), "Replace it with a real value, such as "+example+".")
	default:
		return false
	}
	return true
}

// tokenEndpoint checks msiEndpoint and returns the full token URL. The
// documents show it both with and without /oauth2/token.
func tokenEndpoint(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok || templateValue(s, p, DefaultIMDSEndpoint, r) {
		return DefaultIMDSEndpoint
	}
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case s == "":
		r.add(p, "is empty", "Remove it to use "+DefaultIMDSEndpoint+", or give the token endpoint.")
	case err != nil:
		r.add(p, fmt.Sprintf("%q is not a URL", s), "Write the token endpoint, such as "+DefaultIMDSEndpoint+".")
	case u.Scheme != "http" && u.Scheme != "https":
		r.add(p, fmt.Sprintf("%q does not start with http://", s), "Write the token endpoint, such as "+DefaultIMDSEndpoint+".")
	case u.Host == "":
		fixed := u.Scheme + "://" + strings.TrimLeft(u.Path, "/")
		hint := "Write the token endpoint, such as " + DefaultIMDSEndpoint + "."
		if fu, err := url.Parse(fixed); err == nil && fu.Host != "" {
			hint = "Remove the extra slash: write " + fixed + "."
		}
		r.add(p, fmt.Sprintf("%q has no host", s), hint)
	case u.User != nil:
		r.add(p, "has user information before the host", "Remove it: the endpoint takes no credentials; give only scheme, host and path, such as "+DefaultIMDSEndpoint+".")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		r.add(p, fmt.Sprintf("%q has a query or fragment", s), "Remove everything from the ? or # on; akvvm adds api-version, resource and client_id itself.")
	case u.Hostname() == "169.254.169.254" && u.Scheme == "https":
		r.add(p, "uses https, but the instance metadata service answers only over http", "Write "+DefaultIMDSEndpoint+".")
	default:
		u.Host = strings.ToLower(u.Host)
		trimmed := strings.TrimSuffix(u.Path, "/")
		switch {
		case strings.HasSuffix(trimmed, "/oauth2/token"):
			u.Path = trimmed
		case strings.HasSuffix(trimmed, "/metadata/identity"):
			u.Path = trimmed + "/oauth2/token"
		case !strings.Contains(strings.ToLower(trimmed), "token"):
			r.add(p, fmt.Sprintf("%q is not a managed-identity token endpoint", s),
				"Use "+DefaultIMDSEndpoint+" on Azure VMs or http://localhost:40342/metadata/identity/oauth2/token on Azure Arc.")
			return DefaultIMDSEndpoint
		}
		return u.String()
	}
	return DefaultIMDSEndpoint
}

// clientID checks msiClientId, the client id of a user-assigned identity.
func clientID(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok || templateValue(s, p, `"00001111-aaaa-2222-bbbb-3333cccc4444"`, r) {
		return ""
	}
	switch {
	case guidPattern.MatchString(s):
		return strings.ToLower(s)
	case strings.Contains(strings.ToLower(s), "/subscriptions/"):
		r.add(p, "is the resource id of the identity, not its client id", "Copy the Client ID from the identity's Overview page in the portal (a GUID).")
	default:
		r.add(p, fmt.Sprintf("%q is not a client id", s),
			"Copy the Client ID (a GUID such as 00001111-aaaa-2222-bbbb-3333cccc4444) of the user-assigned identity from its Overview page in the portal.")
	}
	return ""
}

// parseLogging reads the Linux loggingSettings object.
func parseLogging(o *object, path string, s Schema, r *report) *Logging {
	checkFields(o, path, s, lvLogging, r)
	l := &Logging{}
	for _, f := range []struct {
		key string
		dst *string
	}{{"logger", &l.Logger}, {"endpoint", &l.Endpoint}, {"format", &l.Format}, {"servicename", &l.ServiceName}} {
		if v := o.vals[f.key]; v != nil {
			*f.dst, _ = r.asString(v, field(path, f.key))
		}
	}
	checkLogging(l, path, r)
	return l
}
