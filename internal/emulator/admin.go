package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// adminPrefix is the path prefix of the admin API on the HTTPS listener.
const adminPrefix = "/_emulator/"

// AccessRequest is the body of a set-access admin request; a nil Access opens the vault.
type AccessRequest struct {
	Access map[string][]Permission `json:"access"`
}

// IdentityRequest is the body of an add-identity admin request.
type IdentityRequest struct {
	ClientID string `json:"clientId"`
}

// ThrottleRequest is the body of a set-throttle admin request.
type ThrottleRequest struct {
	Limit   int  `json:"limit"`
	Sliding bool `json:"sliding,omitempty"`
}

// FaultAdded is the answer to an add-fault admin request.
type FaultAdded struct {
	ID string `json:"id"`
}

// adminHandler serves the admin API: JSON in, JSON out, Key Vault-shaped errors.
func (e *Emulator) adminHandler() http.Handler {
	m := http.NewServeMux()
	p := adminPrefix
	m.HandleFunc("GET "+p+"health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET "+p+"ca.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(e.ca.RootPEM())
	})
	m.HandleFunc("GET "+p+"vaults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Vaults())
	})
	m.HandleFunc("POST "+p+"vaults", adminCall(func(r *http.Request, spec VaultSpec) (any, error) {
		return e.CreateVault(spec)
	}))
	m.HandleFunc("PUT "+p+"vaults/{vault}/access", adminCall(func(r *http.Request, req AccessRequest) (any, error) {
		return nil, e.SetAccess(r.PathValue("vault"), req.Access)
	}))
	m.HandleFunc("GET "+p+"identities", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Identities())
	})
	m.HandleFunc("POST "+p+"identities", adminCall(func(r *http.Request, req IdentityRequest) (any, error) {
		return nil, e.AddIdentity(req.ClientID)
	}))
	m.HandleFunc("PUT "+p+"vaults/{vault}/secrets/{name}", adminCall(func(r *http.Request, spec SecretSpec) (any, error) {
		return e.SetSecret(r.PathValue("vault"), r.PathValue("name"), spec)
	}))
	m.HandleFunc("POST "+p+"vaults/{vault}/fill", adminCall(func(r *http.Request, spec FillSpec) (any, error) {
		return e.FillSecrets(r.PathValue("vault"), spec)
	}))
	m.HandleFunc("GET "+p+"vaults/{vault}/secrets/{name}/{version...}", adminCall(func(r *http.Request, _ struct{}) (any, error) {
		return e.GetSecret(r.PathValue("vault"), r.PathValue("name"), r.PathValue("version"))
	}))
	m.HandleFunc("PATCH "+p+"vaults/{vault}/secrets/{name}/{version...}", adminCall(func(r *http.Request, req EnabledRequest) (any, error) {
		return nil, e.SetSecretEnabled(r.PathValue("vault"), r.PathValue("name"), r.PathValue("version"), req.Enabled)
	}))
	m.HandleFunc("DELETE "+p+"vaults/{vault}/secrets/{name}", adminCall(func(r *http.Request, _ struct{}) (any, error) {
		return nil, e.DeleteSecret(r.PathValue("vault"), r.PathValue("name"))
	}))
	m.HandleFunc("DELETE "+p+"vaults/{vault}/secrets/{name}/{version}", adminCall(func(r *http.Request, _ struct{}) (any, error) {
		return nil, e.DeleteSecretVersion(r.PathValue("vault"), r.PathValue("name"), r.PathValue("version"))
	}))
	m.HandleFunc("POST "+p+"vaults/{vault}/certificates/{name}", adminCall(func(r *http.Request, spec CertificateSpec) (any, error) {
		return e.CreateCertificate(r.PathValue("vault"), r.PathValue("name"), spec)
	}))
	m.HandleFunc("POST "+p+"vaults/{vault}/certificates/{name}/rotate", adminCall(func(r *http.Request, _ struct{}) (any, error) {
		return e.RotateCertificate(r.PathValue("vault"), r.PathValue("name"))
	}))
	m.HandleFunc("POST "+p+"vaults/{vault}/certificates/{name}/import", adminCall(func(r *http.Request, spec ImportSpec) (any, error) {
		return e.ImportCertificate(r.PathValue("vault"), r.PathValue("name"), spec)
	}))
	m.HandleFunc("GET "+p+"faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Faults())
	})
	m.HandleFunc("POST "+p+"faults", adminCall(func(r *http.Request, f Fault) (any, error) {
		id, err := e.AddFault(f)
		return FaultAdded{ID: id}, err
	}))
	m.HandleFunc("DELETE "+p+"faults", func(w http.ResponseWriter, _ *http.Request) {
		e.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("DELETE "+p+"faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !e.RemoveFault(r.PathValue("id")) {
			writeAPIError(w, &apiError{status: http.StatusNotFound, code: "NotFound", message: "No active fault has id " + truncate(r.PathValue("id"), 20) + "."})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET "+p+"requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Requests())
	})
	m.HandleFunc("DELETE "+p+"requests", func(w http.ResponseWriter, _ *http.Request) {
		e.ResetLog()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET "+p+"counts", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Counts())
	})
	m.HandleFunc("GET "+p+"connections", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Connections())
	})
	m.HandleFunc("PUT "+p+"throttle", adminCall(func(r *http.Request, req ThrottleRequest) (any, error) {
		e.SetThrottle(req.Limit, req.Sliding)
		return nil, nil
	}))
	e.handleDateSkew(m)
	m.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, &apiError{status: http.StatusNotFound, code: "NotFound",
			message: "Unknown admin endpoint " + r.Method + " " + truncate(r.URL.Path, 100) + "; see 'akvvm emulator --help'."})
	})
	return m
}

// adminCall decodes a JSON body into T, runs fn, and writes its result or error.
func adminCall[T any](fn func(*http.Request, T) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in T
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4*maxBodyBytes))
		if err != nil {
			writeAPIError(w, badParameter("The request body could not be read."))
			return
		}
		if len(data) > 0 {
			if err := json.Unmarshal(data, &in); err != nil {
				writeAPIError(w, badParameter("The request body is not valid JSON of the expected shape: "+err.Error()))
				return
			}
		}
		out, err := fn(r, in)
		switch {
		case errors.Is(err, ErrNotFound):
			writeAPIError(w, &apiError{status: http.StatusNotFound, code: "NotFound", message: err.Error()})
		case err != nil:
			writeAPIError(w, badParameter(err.Error()))
		case out == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, out)
		}
	}
}
