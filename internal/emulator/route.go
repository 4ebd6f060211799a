package emulator

import (
	"net/http"
	"regexp"
	"strings"
)

// Operation names, as used by faults, the request log and counters.
const (
	OpGetSecret    = "getSecret"
	OpListVersions = "listVersions"
	OpListSecrets  = "listSecrets"
	OpSetSecret    = "setSecret"
	OpUpdateSecret = "updateSecret"
	OpDeleteSecret = "deleteSecret"
	OpToken        = "token"
	// OpAny matches every operation in a fault.
	OpAny = "*"
	// opAdmin and opUnknown only appear in the request log.
	opAdmin   = "admin"
	opUnknown = "unknown"
)

// validOp reports whether op names an operation a fault can match.
func validOp(op string) bool {
	switch op {
	case OpGetSecret, OpListVersions, OpListSecrets, OpSetSecret, OpUpdateSecret, OpDeleteSecret, OpToken, OpAny:
		return true
	}
	return false
}

// secretNamePattern is Key Vault's secret name rule.
var secretNamePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// vaultRequest is a parsed data-plane request.
type vaultRequest struct {
	op      string
	secret  string
	version string // "" = latest
}

// parseVaultPath maps a method and URL path of the secrets API to an operation.
func parseVaultPath(method, path string) (vaultRequest, *apiError) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if segs[0] != "secrets" {
		return vaultRequest{op: opUnknown}, &apiError{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "The emulator serves only the secrets API (/secrets); " + firstSegment(path) + " is not supported."}
	}
	notAllowed := func(op string) (vaultRequest, *apiError) {
		return vaultRequest{op: op}, &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
			message: "Method " + method + " is not allowed on " + path + "."}
	}
	// /secrets and /secrets/
	if len(segs) == 1 || (len(segs) == 2 && segs[1] == "") {
		if method != http.MethodGet {
			return notAllowed(OpListSecrets)
		}
		return vaultRequest{op: OpListSecrets}, nil
	}
	name := segs[1]
	if !secretNamePattern.MatchString(name) {
		return vaultRequest{op: opUnknown}, badParameter("The secret name '" + truncate(name, 130) +
			"' is invalid: a secret name is 1-127 characters of 0-9, a-z, A-Z and '-'.")
	}
	switch {
	case len(segs) == 2:
		switch method {
		case http.MethodGet:
			return vaultRequest{op: OpGetSecret, secret: name}, nil
		case http.MethodPut:
			return vaultRequest{op: OpSetSecret, secret: name}, nil
		case http.MethodDelete:
			return vaultRequest{op: OpDeleteSecret, secret: name}, nil
		case http.MethodPatch:
			return vaultRequest{op: OpUpdateSecret, secret: name}, nil
		}
		return notAllowed(opUnknown)
	case len(segs) == 3 && segs[2] == "versions":
		if method != http.MethodGet {
			return notAllowed(OpListVersions)
		}
		return vaultRequest{op: OpListVersions, secret: name}, nil
	case len(segs) == 3:
		switch method {
		case http.MethodGet:
			return vaultRequest{op: OpGetSecret, secret: name, version: segs[2]}, nil
		case http.MethodPatch:
			return vaultRequest{op: OpUpdateSecret, secret: name, version: segs[2]}, nil
		}
		return notAllowed(opUnknown)
	}
	return vaultRequest{op: opUnknown}, &apiError{status: http.StatusNotFound, code: "NotFound",
		message: "The path " + truncate(path, 200) + " is not part of the secrets API."}
}

func firstSegment(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return "/" + truncate(seg, 64)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
