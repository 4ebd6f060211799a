package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// Phase is the overall state, as the guest agent knows it.
type Phase string

// The phases of the guest agent's status vocabulary.
const (
	Transitioning Phase = "transitioning"
	Success       Phase = "success"
	Error         Phase = "error"
)

// CertStatus is what the agent knows about one certificate.
type CertStatus struct {
	Key string `json:"key"`
	// Kind is "secret" for a plain secret written to a file
	// (observedSecrets; Location is the file); empty for a certificate.
	Kind             string    `json:"kind,omitempty"`
	URL              string    `json:"url"`
	Location         string    `json:"location,omitempty"`
	InstalledVersion string    `json:"installedVersion,omitempty"`
	Thumbprint       string    `json:"thumbprint,omitempty"`
	NotAfter         time.Time `json:"notAfter,omitzero"`
	// NotBefore is the start of the installed version's validity; zero
	// when the store did not record it.
	NotBefore   time.Time `json:"notBefore,omitzero"`
	LastCheck   time.Time `json:"lastCheck,omitzero"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	NextCheck   time.Time `json:"nextCheck,omitzero"`
	// Attempts counts failed attempts since the last success.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the real cause of the last failure, empty after a success.
	LastError string `json:"lastError,omitempty"`
	// Cause is LastError without the certificate's own name and vault, so
	// certificates that failed the same way share it; empty when LastError
	// names nothing of its own.
	Cause string `json:"cause,omitempty"`
	// HTTPStatus and ErrorCode come from the failed call, when there was
	// one; ErrorCode is Key Vault's most specific code (SecretDisabled
	// rather than Forbidden).
	HTTPStatus int    `json:"httpStatus,omitempty"`
	ErrorCode  string `json:"errorCode,omitempty"`
	// Notice says what the vault withdrew (disabled, expired or gone
	// versions) and which version is current because of it.
	Notice string `json:"notice,omitempty"`
	// ValidityWarning says, after the last check, that the installed current
	// version expires within the warning time (expiryWarningInS, default
	// 30 days or a third of its lifetime) while the vault offers no newer
	// usable version, has expired, or is not valid yet, with the date.
	ValidityWarning string `json:"validityWarning,omitempty"`
	// Pending says which newer versions the vault offers that may not
	// become current yet (their nbf, or activationDelayInS since their
	// creation, is ahead) and until when: "version X pending until T (…)".
	Pending string `json:"pending,omitempty"`
	// PendingUntil is the earliest release of a pending version; the
	// certificate is checked again then.
	PendingUntil time.Time `json:"pendingUntil,omitzero"`
	// HookError is the last failure of the reload command; the install stands.
	HookError string `json:"hookError,omitempty"`
	// Fatal marks a failure that ended the initial sync.
	Fatal bool `json:"fatal,omitempty"`
	// CheckingSince is when the check in flight started; zero when none is.
	CheckingSince time.Time `json:"checkingSince,omitzero"`
	// Attempt is the number of the attempt in flight (Attempts + 1).
	Attempt int `json:"attempt,omitempty"`
	// MaxAttempts is how many attempts the initial sync allows before it
	// reports an error, while the certificate is not installed; 0 when it
	// retries forever or does not wait.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// LastKnown marks an entry the previous run wrote: this process has
	// not finished a check of the certificate yet.
	LastKnown bool `json:"lastKnown,omitempty"`
	// Tie is the vault's answer for versions sharing the newest creation
	// second, kept so no later poll or run asks again (ties.go).
	Tie *TieStatus `json:"tie,omitempty"`

	// retryNotBefore is the time a Retry-After asked to wait for.
	retryNotBefore time.Time
}

// Installed reports whether some version of the certificate is installed.
func (c CertStatus) Installed() bool { return c.InstalledVersion != "" }

// CauseText is the cause of the last failure as certificates that failed
// the same way share it: Cause, or LastError when that is empty.
func (c CertStatus) CauseText() string {
	if c.Cause != "" {
		return c.Cause
	}
	return c.LastError
}

// Status is the agent's whole state, written to the status file.
type Status struct {
	Phase    Phase  `json:"phase"`
	Message  string `json:"message"`
	Identity string `json:"identity,omitempty"`
	// Warnings are what the settings needed repaired or ignored.
	Warnings []string  `json:"warnings,omitempty"`
	Updated  time.Time `json:"updated"`
	// Started is when this process's agent started.
	Started time.Time `json:"started,omitzero"`
	// LastKnownSince is when the previous run wrote the entries marked
	// LastKnown; zero when there are none.
	LastKnownSince time.Time `json:"lastKnownSince,omitzero"`
	// Detection is the change detection strategy of each vault that has
	// one (see docs/architecture.md, "Change detection").
	Detection    []VaultDetection `json:"detection,omitempty"`
	Certificates []CertStatus     `json:"certificates"`
}

// WriteStatusFile writes s to path atomically. The certificates are
// encoded one at a time into the file, so writing the status of thousands
// of certificates never holds the whole document in memory.
func WriteStatusFile(path string, s Status) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the state directory: %w", err)
	}
	return fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error { return encodeStatus(w, s) })
}

// encodeStatus writes s as json.MarshalIndent(s, "", "  ") does, and a
// newline, encoding one certificate at a time.
func encodeStatus(w io.Writer, s Status) error {
	certs := s.Certificates
	s.Certificates = nil
	head, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	// head ends with "\"certificates\": null\n}"; the array replaces null.
	const tail = "null\n}"
	if !bytes.HasSuffix(head, []byte(tail)) {
		return fmt.Errorf("encode status: unexpected encoding of the certificates field")
	}
	if _, err := w.Write(head[:len(head)-len(tail)]); err != nil {
		return err
	}
	if certs == nil {
		_, err := io.WriteString(w, tail+"\n")
		return err
	}
	if len(certs) == 0 {
		_, err := io.WriteString(w, "[]\n}\n")
		return err
	}
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	for i, c := range certs {
		data, err := json.MarshalIndent(c, "    ", "  ")
		if err != nil {
			return fmt.Errorf("encode the status of %s: %w", c.Key, err)
		}
		sep := ",\n"
		if i == len(certs)-1 {
			sep = "\n"
		}
		for _, part := range [][]byte{[]byte("    "), data, []byte(sep)} {
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
	}
	_, err = io.WriteString(w, "  ]\n}\n")
	return err
}

// ReadStatusFile reads a status file written by WriteStatusFile. It does
// not follow a link at path, and refuses anything but a regular file of at
// most fsutil.MaxReadSize bytes.
func ReadStatusFile(path string) (Status, error) {
	var s Status
	data, err := fsutil.ReadFile(path, fsutil.MaxReadSize)
	if errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("read status: %w (is akvvm running with this --state-dir?)", err)
	}
	if err != nil {
		return s, fmt.Errorf("read status: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("status file %s is not valid: %w", path, err)
	}
	return s, nil
}
