package emulator

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

// The fault kinds.
const (
	// FaultStatus answers with Status and an error body (Key Vault or IMDS shaped).
	FaultStatus FaultKind = "status"
	// FaultReset closes the connection abruptly (TCP RST) without answering;
	// over HTTP/2 the other requests on the connection fail with it.
	FaultReset FaultKind = "reset"
	// FaultDelay waits Delay, then serves the request normally.
	FaultDelay FaultKind = "delay"
	// FaultTruncate sends the real status and headers but only half the body, then closes;
	// over HTTP/2 the other requests on the connection fail with it.
	FaultTruncate FaultKind = "truncate"
	// FaultMalformed sends the real status with a body that is not valid JSON.
	FaultMalformed FaultKind = "malformed"
	// FaultStall accepts the request and never answers: the connection
	// stays open until the client gives up, as behind a firewall that
	// accepts TCP and TLS and then drops everything.
	FaultStall FaultKind = "stall"
	// FaultRedirect answers with a redirect (Status, default 302) to
	// Location, as a hostile or misconfigured host would; Key Vault and the
	// identity endpoint never redirect.
	FaultRedirect FaultKind = "redirect"
	// FaultValue serves a getSecret answer whose value is replaced by Value
	// (when set) and then padded with blank lines to PadTo bytes (when set):
	// a hostile vault's forged or oversize value, beyond Key Vault's own
	// 25 KB limit that the emulator's set-secret enforces.
	FaultValue FaultKind = "value"
)

// maxFaultPad bounds FaultValue's padding.
const maxFaultPad = 1 << 30

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("1.5s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string, or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err2 := json.Unmarshal(b, &secs); err2 != nil {
			return fmt.Errorf("duration: want a string such as \"1.5s\" or a number of seconds: %w", err)
		}
		if secs < 0 || secs > float64(math.MaxInt64/int64(time.Second)) {
			return fmt.Errorf("duration of %g seconds is out of range", secs)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Fault is a scripted failure for requests that match Op, Vault and Secret.
type Fault struct {
	// ID is assigned by AddFault.
	ID string `json:"id,omitempty"`
	// Op is an operation (getSecret, listVersions, listSecrets, setSecret,
	// updateSecret, deleteSecret, token) or "*".
	Op string `json:"op"`
	// Vault and Secret, when set, restrict the fault (case-insensitive).
	Vault  string `json:"vault,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Count is how many requests the fault hits; 0 means until cleared.
	Count int `json:"count,omitempty"`
	// Remaining is how many hits are left (read only; 0 with Count 0 = unlimited).
	Remaining int       `json:"remaining,omitempty"`
	Kind      FaultKind `json:"kind"`
	// Status is the HTTP status of a status fault.
	Status int `json:"status,omitempty"`
	// RetryAfter, when positive, is sent as Retry-After (seconds) with a status fault.
	RetryAfter int `json:"retryAfter,omitempty"`
	// Code and Message override the error body of a status fault.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// InnerCode, when set, is sent as the Key Vault error's innererror code
	// (such as SecretDisabled or ForbiddenByFirewall), as Key Vault gives
	// the reason of a 403.
	InnerCode string `json:"innerCode,omitempty"`
	// Delay is the wait of a delay fault.
	Delay Duration `json:"delay,omitempty"`
	// Location is where a redirect fault sends the client.
	Location string `json:"location,omitempty"`
	// Value replaces the secret value of a value fault; PadTo pads it.
	Value string `json:"value,omitempty"`
	PadTo int    `json:"padTo,omitempty"`
}

// Validate checks the fault and says how to fix it.
func (f Fault) Validate() error {
	if !validOp(f.Op) {
		return fmt.Errorf("fault op %q is unknown: use getSecret, listVersions, listSecrets, setSecret, updateSecret, deleteSecret, token or *", f.Op)
	}
	if f.Count < 0 {
		return fmt.Errorf("fault count %d is negative: use 0 for until cleared", f.Count)
	}
	switch f.Kind {
	case FaultStatus:
		if f.Status < 200 || f.Status > 599 {
			return fmt.Errorf("fault status %d is not an HTTP status from 200 to 599", f.Status)
		}
	case FaultDelay:
		if f.Delay <= 0 || time.Duration(f.Delay) > 10*time.Minute {
			return fmt.Errorf("fault delay %s must be positive and at most 10m", time.Duration(f.Delay))
		}
	case FaultRedirect:
		if f.Status != 0 && (f.Status < 300 || f.Status > 399) {
			return fmt.Errorf("redirect fault status %d is not a 3xx status: use 301, 302, 303, 307 or 308, or leave it out for 302", f.Status)
		}
		if u, err := url.Parse(f.Location); err != nil || !u.IsAbs() {
			return fmt.Errorf("redirect fault location %q must be an absolute URL such as https://other.vault.azure.net/secrets/web", f.Location)
		}
	case FaultValue:
		if f.Op != OpGetSecret {
			return fmt.Errorf("value fault op %q: a value fault changes getSecret answers only; use --op getSecret", f.Op)
		}
		if f.PadTo < 0 || f.PadTo > maxFaultPad {
			return fmt.Errorf("value fault padTo %d must be from 0 to %d bytes", f.PadTo, maxFaultPad)
		}
	case FaultReset, FaultTruncate, FaultMalformed, FaultStall:
	default:
		return fmt.Errorf("fault kind %q is unknown: use status, reset, delay, truncate, malformed, stall, redirect or value", f.Kind)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("fault retryAfter %d is negative", f.RetryAfter)
	}
	return nil
}

func (f Fault) matches(op, vault, secret string) bool {
	return (f.Op == OpAny || f.Op == op) &&
		(f.Vault == "" || strings.EqualFold(f.Vault, vault)) &&
		(f.Secret == "" || strings.EqualFold(f.Secret, secret))
}

// faultSet holds the active faults in the order they were added.
type faultSet struct {
	mu     sync.Mutex
	next   int
	faults []*Fault
}

func newFaultSet() *faultSet { return &faultSet{} }

func (s *faultSet) add(f Fault) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	f.ID = "f" + strconv.Itoa(s.next)
	f.Remaining = f.Count
	s.faults = append(s.faults, &f)
	return f.ID, nil
}

// take returns the first fault matching the request and uses up one of its hits.
func (s *faultSet) take(op, vault, secret string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(op, vault, secret) {
			continue
		}
		hit := *f
		if f.Count > 0 {
			f.Remaining--
			if f.Remaining <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return hit, true
	}
	return Fault{}, false
}

// remove deletes one fault (id != "") or all of them.
func (s *faultSet) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		s.faults = nil
		return true
	}
	for i, f := range s.faults {
		if f.ID == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

func (s *faultSet) list() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// AddFault activates a fault and returns its id.
func (e *Emulator) AddFault(f Fault) (string, error) {
	id, err := e.faults.add(f)
	if err == nil {
		e.log.Info("emulator fault added", "id", id, "op", f.Op, "vault", f.Vault, "secret", f.Secret, "kind", f.Kind, "status", f.Status, "count", f.Count)
	}
	return id, err
}

// RemoveFault deactivates one fault; it reports whether the fault existed.
func (e *Emulator) RemoveFault(id string) bool { return id != "" && e.faults.remove(id) }

// ClearFaults deactivates every fault.
func (e *Emulator) ClearFaults() { e.faults.remove("") }

// Faults lists the active faults.
func (e *Emulator) Faults() []Fault { return e.faults.list() }
