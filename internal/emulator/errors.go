package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// kvErrorBody is Key Vault's error response body.
type kvErrorBody struct {
	Error kvError `json:"error"`
}

// kvError is one Key Vault error, possibly with an inner error.
type kvError struct {
	Code       string   `json:"code"`
	Message    string   `json:"message,omitempty"`
	InnerError *kvError `json:"innererror,omitempty"`
}

// apiError is an error the vault handlers answer with.
type apiError struct {
	status  int
	code    string
	message string
	inner   string // innererror code, optional
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badParameter(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadParameter", message: msg}
}

func secretNotFound(name string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "SecretNotFound", message: "A secret with (name/id) " + name +
		" was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"}
}

// writeAPIError writes e as Key Vault does.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	body := kvErrorBody{Error: kvError{Code: e.code, Message: e.message}}
	if e.inner != "" {
		body.Error.InnerError = &kvError{Code: e.inner}
	}
	writeJSON(w, e.status, body)
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// imdsErrorBody is the error body of the managed-identity endpoint.
type imdsErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeIMDSError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, imdsErrorBody{Error: code, Description: desc})
}

// defaultErrorCode is the Key Vault error code used for an injected status.
func defaultErrorCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Throttled"
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusBadRequest:
		return "BadParameter"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	default:
		if status >= 500 {
			return "InternalServerError"
		}
		return "FaultInjected"
	}
}
