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
	var selectors []string
	if v := o.vals["msiClientId"]; v != nil {
		selectors = append(selectors, "msiClientId")
		id.ClientID, id.ResourceID = clientID(v, field(path, "msiClientId"), r)
	}
	if v := o.vals["msiObjectId"]; v != nil {
		selectors = append(selectors, "msiObjectId")
		id.ObjectID = objectID(v, field(path, "msiObjectId"), r)
	}
	if len(selectors) > 1 {
		r.add(field(path, "msiObjectId"), "and msiClientId both select a user-assigned identity; only one may be given",
			"Keep msiClientId (the identity's Client ID) and remove msiObjectId, or the other way round.")
		id.ObjectID = ""
	}
	if len(selectors) > 0 && !endpointGiven {
		r.add(field(path, "msiEndpoint"), "is missing; it is required when "+selectors[0]+" is given",
			`Add "msiEndpoint": "`+DefaultIMDSEndpoint+`" (on Azure Arc: "http://localhost:40342/metadata/identity").`)
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
// An ARM resource id of a user-assigned identity is accepted with a
// warning and returned as resourceID: the identity endpoint takes it as
// msi_res_id, but the Microsoft extension fails on it.
func clientID(v any, p string, r *report) (id, resourceID string) {
	s, ok := r.asString(v, p)
	if !ok || templateValue(s, p, `"00001111-aaaa-2222-bbbb-3333cccc4444"`, r) {
		return "", ""
	}
	switch {
	case guidPattern.MatchString(s):
		return strings.ToLower(s), ""
	case identityResourcePattern.MatchString(strings.TrimSpace(s)):
		rid := strings.TrimSuffix(strings.TrimSpace(s), "/")
		r.warn(p, "is the ARM resource id of a user-assigned identity, not its client id; akvvm asks the identity endpoint for it by resource id (msi_res_id)",
			"The Microsoft extension fails on a resource id here: write the identity's Client ID (a GUID) in msiClientId, from the identity's Overview page in the portal or az identity show --ids "+rid+" --query clientId -o tsv.")
		return "", rid
	case strings.Contains(strings.ToLower(s), "/subscriptions/"):
		r.add(p, "is an ARM resource id, but not of a user-assigned managed identity (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>)",
			"Copy the Client ID (a GUID) from the user-assigned identity's Overview page in the portal; a system-assigned identity needs no msiClientId.")
	default:
		r.add(p, fmt.Sprintf("%q is not a client id", s),
			"Copy the Client ID (a GUID such as 00001111-aaaa-2222-bbbb-3333cccc4444) of the user-assigned identity from its Overview page in the portal.")
	}
	return "", ""
}

// identityResourcePattern matches the ARM resource id of a user-assigned
// identity; ARM ids are case-insensitive.
var identityResourcePattern = regexp.MustCompile(`(?i)^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/resourcegroups/[^/?#\s]+/providers/microsoft\.managedidentity/userassignedidentities/[^/?#\s]+/?$`)

// objectID checks msiObjectId, the object (principal) id of a
// user-assigned identity.
func objectID(v any, p string, r *report) string {
	s, ok := r.asString(v, p)
	if !ok || templateValue(s, p, `"aaaa0000-bb11-2222-33cc-444444dddddd"`, r) {
		return ""
	}
	switch {
	case guidPattern.MatchString(s):
		return strings.ToLower(s)
	case strings.Contains(strings.ToLower(s), "/subscriptions/"):
		r.add(p, "is a resource id, not an object id", "Copy the Object (principal) ID (a GUID) from the identity's Overview page in the portal, or write its Client ID in msiClientId instead.")
	default:
		r.add(p, fmt.Sprintf("%q is not an object id", s),
			"Copy the Object (principal) ID (a GUID such as aaaa0000-bb11-2222-33cc-444444dddddd) of the user-assigned identity from its Overview page in the portal.")
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
