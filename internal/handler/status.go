package handler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/fsutil"
)

// The guest agent's status values.
const (
	StatusTransitioning = "transitioning"
	StatusWarning       = "warning"
	StatusError         = "error"
	StatusSuccess       = "success"
)

// MaxStatusSize is the size above which the guest agent truncates a
// status file; the handler keeps its files below it.
const MaxStatusSize = 128 * 1024

// maxMessage is the length the guest agent keeps of a message in a
// truncated file; the overall message is cut to it when room is short.
const maxMessage = 1024

// Message is a formatted message.
type Message struct {
	Lang    string `json:"lang"`
	Message string `json:"message"`
}

// SubStatus is one certificate's state.
type SubStatus struct {
	Name             string  `json:"name"`
	Status           string  `json:"status"`
	Code             int     `json:"code"`
	FormattedMessage Message `json:"formattedMessage"`
}

// StatusBody is the "status" object of a status file.
type StatusBody struct {
	Name             string      `json:"name"`
	Operation        string      `json:"operation"`
	Status           string      `json:"status"`
	Code             int         `json:"code"`
	FormattedMessage Message     `json:"formattedMessage"`
	SubStatus        []SubStatus `json:"substatus"`
}

// StatusItem is the one element of a status file.
type StatusItem struct {
	Version      float64    `json:"version"`
	TimestampUTC string     `json:"timestampUTC"`
	Status       StatusBody `json:"status"`
}

// NewStatus returns a status for operation ("Enable", "Disable") with the
// conventional message prefix for its state.
func NewStatus(name, operation, status string, code int, msg string, now time.Time) StatusItem {
	return StatusItem{
		Version:      1.0,
		TimestampUTC: now.UTC().Format(time.RFC3339),
		Status: StatusBody{
			Name: name, Operation: operation, Status: status, Code: code,
			FormattedMessage: Message{Lang: "en-US", Message: prefix(operation, status) + msg},
		},
	}
}

func prefix(op, status string) string {
	switch status {
	case StatusSuccess:
		return op + " succeeded: "
	case StatusError:
		return op + " failed: "
	default:
		return op + " in progress: "
	}
}

// FromAgent renders the agent's state as the Enable status: its phase and
// message, and one substatus per certificate.
func FromAgent(name string, s agent.Status) StatusItem {
	code := 0
	if s.Phase == agent.Error {
		code = 1
	}
	msg := s.Message
	if s.Identity != "" && s.Phase != agent.Success && !strings.Contains(msg, s.Identity) {
		msg += " (" + s.Identity + ")"
	}
	item := NewStatus(name, "Enable", string(s.Phase), code, msg, s.Updated)
	item.Status.SubStatus = make([]SubStatus, 0, len(s.Certificates))
	for _, c := range s.Certificates {
		item.Status.SubStatus = append(item.Status.SubStatus, certSubStatus(c))
	}
	return item
}

// certSubStatus describes one certificate: what is installed, or why not.
func certSubStatus(c agent.CertStatus) SubStatus {
	sub := SubStatus{Name: c.URL, Status: StatusSuccess}
	if sub.Name == "" {
		sub.Name = c.Key
	}
	var parts []string
	if c.Installed() {
		parts = append(parts, fmt.Sprintf("installed version %s, thumbprint %s, expires %s, at %s",
			c.InstalledVersion, c.Thumbprint, c.NotAfter.UTC().Format(time.RFC3339), c.Location))
	}
	switch {
	case c.Fatal:
		sub.Status, sub.Code = StatusError, 1
		parts = append(parts, fmt.Sprintf("gave up after %d attempts: %s", c.Attempts, c.LastError))
	case c.LastError != "" && c.Installed():
		sub.Status = StatusWarning
		parts = append(parts, fmt.Sprintf("last check failed (attempt %d): %s", c.Attempts, c.LastError))
	case c.LastError != "":
		sub.Status = StatusTransitioning
		parts = append(parts, fmt.Sprintf("not installed yet; attempt %d failed: %s", c.Attempts, c.LastError))
	case !c.Installed() && c.CheckingSince.IsZero():
		sub.Status = StatusTransitioning
		parts = append(parts, "not checked yet")
	case !c.Installed():
		sub.Status = StatusTransitioning
	}
	if !c.CheckingSince.IsZero() {
		parts = append(parts, checking(c))
	}
	if c.HookError != "" {
		if sub.Status == StatusSuccess {
			sub.Status = StatusWarning
		}
		parts = append(parts, "reload command: "+c.HookError)
	}
	sub.FormattedMessage = Message{Lang: "en-US", Message: strings.Join(parts, "; ")}
	return sub
}

// checking describes the check in flight: "checking since …, attempt 3 of 25".
func checking(c agent.CertStatus) string {
	msg := "checking since " + c.CheckingSince.UTC().Format(time.RFC3339) + ", attempt " + strconv.Itoa(c.Attempt)
	if c.MaxAttempts > 0 {
		msg += " of " + strconv.Itoa(c.MaxAttempts)
	}
	return msg
}

// Encode renders the status file, shortening messages and, if that is not
// enough, leaving out substatus entries so the file stays below
// MaxStatusSize. Nothing is ever cut from the status value itself.
func Encode(item StatusItem) ([]byte, error) {
	data, err := encode(item)
	if err != nil || len(data) <= MaxStatusSize {
		return data, err
	}
	item.Status.FormattedMessage.Message = truncate(item.Status.FormattedMessage.Message, maxMessage)
	subs := append([]SubStatus(nil), item.Status.SubStatus...)
	item.Status.SubStatus = subs
	// Leave room for the rest of the document and JSON escaping.
	base, err := encode(StatusItem{Version: item.Version, TimestampUTC: item.TimestampUTC, Status: StatusBody{
		Name: item.Status.Name, Operation: item.Status.Operation, Status: item.Status.Status,
		FormattedMessage: item.Status.FormattedMessage}})
	if err != nil {
		return nil, err
	}
	room := MaxStatusSize - len(base) - 1024
	if len(subs) > 0 {
		per := max(room/len(subs)-256, 128)
		for i := range subs {
			subs[i].Name = truncate(subs[i].Name, 512)
			subs[i].FormattedMessage.Message = truncate(subs[i].FormattedMessage.Message, per/2)
		}
	}
	for {
		data, err = encode(item)
		if err != nil || len(data) <= MaxStatusSize || len(item.Status.SubStatus) <= 1 {
			return data, err
		}
		keep := len(item.Status.SubStatus) * 3 / 4
		dropped := len(subs) - keep + 1
		item.Status.SubStatus = append(subs[:keep-1:keep-1], SubStatus{
			Name: "more", Status: item.Status.Status,
			FormattedMessage: Message{Lang: "en-US", Message: strconv.Itoa(dropped) + " more certificates are not listed here: run akvvm status on the machine"},
		})
	}
}

func encode(item StatusItem) ([]byte, error) {
	data, err := json.MarshalIndent([]StatusItem{item}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the status: %w", err)
	}
	return append(data, '\n'), nil
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " …(truncated)"
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// StatusPath is the status file of seq.
func StatusPath(statusFolder string, seq int) string {
	return filepath.Join(statusFolder, strconv.Itoa(seq)+".status")
}

// WriteStatus writes the status file of seq atomically.
func WriteStatus(statusFolder string, seq int, item StatusItem) error {
	data, err := Encode(item)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(statusFolder, 0o700); err != nil {
		return fmt.Errorf("create the status folder: %w", err)
	}
	if err := fsutil.WriteFileAtomic(StatusPath(statusFolder, seq), data, 0o644); err != nil {
		return fmt.Errorf("write the status file: %w", err)
	}
	return nil
}

// ReadStatus reads a status file written by WriteStatus.
func ReadStatus(statusFolder string, seq int) (StatusItem, error) {
	var list []StatusItem
	data, err := os.ReadFile(StatusPath(statusFolder, seq))
	if err != nil {
		return StatusItem{}, fmt.Errorf("read the status file: %w", err)
	}
	if err := json.Unmarshal(data, &list); err != nil || len(list) != 1 {
		return StatusItem{}, fmt.Errorf("status file of sequence number %d is not a one-element JSON array: %v", seq, err)
	}
	return list[0], nil
}
