package handler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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

	// For Encode's summary of long lists: what state the certificate is
	// in ("not installed yet"), its cause as certificates that failed the
	// same way share it, and the attempt that failed. Empty for a
	// certificate installed without a problem.
	state, cause string
	attempts     int
	// left is how many certificates a "more" note counts.
	left int
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
	item.Status.SubStatus = make([]SubStatus, 0, len(s.Certificates)+1)
	if len(s.Warnings) > 0 {
		item.Status.SubStatus = append(item.Status.SubStatus, SettingsWarning(s.Warnings))
	}
	for _, c := range s.Certificates {
		item.Status.SubStatus = append(item.Status.SubStatus, certSubStatus(c))
	}
	return item
}

// SettingsWarningName names the substatus of the settings' warnings.
const SettingsWarningName = "settings"

// SettingsWarning is the warning substatus of what the settings needed
// repaired or ignored (double encoding, an ignored field), each with its
// path in the public settings and how to fix it.
func SettingsWarning(warnings []string) SubStatus {
	msg := "the settings work, but need fixing: " + strings.Join(warnings, " ")
	if len(warnings) > 1 {
		msg = fmt.Sprintf("the settings work, but need %d fixes: %s", len(warnings), strings.Join(warnings, " "))
	}
	return SubStatus{Name: SettingsWarningName, Status: StatusWarning, FormattedMessage: Message{Lang: "en-US", Message: msg}}
}

// certSubStatus describes one certificate: what is installed, or why not.
func certSubStatus(c agent.CertStatus) SubStatus {
	sub := SubStatus{Name: c.URL, Status: StatusSuccess}
	if sub.Name == "" {
		sub.Name = c.Key
	}
	var parts []string
	switch {
	case c.Installed() && c.IsSecret():
		parts = append(parts, fmt.Sprintf("secret version %s written to %s", c.InstalledVersion, c.Location))
	case c.Installed():
		parts = append(parts, fmt.Sprintf("installed version %s, thumbprint %s, expires %s, at %s",
			c.InstalledVersion, c.Thumbprint, c.NotAfter.UTC().Format(time.RFC3339), c.Location))
	}
	if c.LastKnown {
		parts = append(parts, "as the service's previous run left it; not checked since it started")
	}
	var causes []string
	switch {
	case c.Fatal:
		sub.Status, sub.Code = StatusError, 1
		sub.state = fmt.Sprintf("gave up after %d attempts", c.Attempts)
		parts = append(parts, fmt.Sprintf("gave up after %d attempts: %s", c.Attempts, c.LastError))
		causes = append(causes, c.CauseText())
	case c.LastError != "" && c.Installed():
		sub.Status = StatusWarning
		sub.state = "installed, but the last check failed"
		parts = append(parts, fmt.Sprintf("last check failed (attempt %d): %s", c.Attempts, c.LastError))
		causes = append(causes, c.CauseText())
	case c.LastError != "":
		sub.Status = StatusTransitioning
		sub.state = "not installed yet"
		parts = append(parts, fmt.Sprintf("not installed yet; attempt %d failed: %s", c.Attempts, c.LastError))
		causes = append(causes, c.CauseText())
	case !c.Installed() && c.Pending != "" && c.CheckingSince.IsZero():
		sub.Status = StatusTransitioning
		sub.state = "waiting for the release of a pending version"
		causes = append(causes, c.Pending)
	case !c.Installed() && c.CheckingSince.IsZero():
		sub.Status = StatusTransitioning
		sub.state = "not checked yet"
		parts = append(parts, "not checked yet")
	case !c.Installed():
		sub.Status = StatusTransitioning
		sub.state = "first check in flight"
	}
	if c.Notice != "" {
		parts = append(parts, c.Notice) // withdrawn versions; list not granted
	}
	if c.Pending != "" {
		parts = append(parts, c.Pending)
	}
	if !c.CheckingSince.IsZero() {
		parts = append(parts, checking(c))
	}
	if c.ValidityWarning != "" {
		if sub.Status == StatusSuccess {
			sub.Status = StatusWarning
			sub.state = "installed, but near or outside its validity"
		}
		parts = append(parts, "warning: "+c.ValidityWarning)
		causes = append(causes, c.ValidityWarning)
	}
	if c.HookError != "" {
		if sub.Status == StatusSuccess {
			sub.Status = StatusWarning
			sub.state = "installed, but the reload command failed"
		}
		parts = append(parts, "reload command: "+c.HookError)
		causes = append(causes, "reload command: "+c.HookError)
	}
	sub.cause, sub.attempts = strings.Join(causes, "; "), c.Attempts
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

// maxMessage is the length the guest agent keeps of a message in a
// truncated file; the heartbeat's message is cut to it.
const maxMessage = 1024

// maxTopMessage bounds the overall message when the file is too large;
// the agent's message is a summary by cause already (agent.Summarise).
const maxTopMessage = 8 << 10

// maxField is the guest agent's limit for one substatus field of a
// truncated file; no message is longer.
const maxField = 10 << 10

// Encode renders the status file below MaxStatusSize. A file that fits
// keeps one substatus per certificate as it is. A longer one is
// summarised, never cut blindly: the certificates that failed the same way
// (same state, same cause) become one substatus that keeps the cause whole
// and names them; names go before causes, then installed certificates
// before names, and a last substatus says how many are left out and to run
// akvvm status. The status value itself is never changed.
func Encode(item StatusItem) ([]byte, error) {
	data, err := encode(item)
	if err != nil || len(data) <= MaxStatusSize {
		return data, err
	}
	item.Status.FormattedMessage.Message = truncate(item.Status.FormattedMessage.Message, maxTopMessage)
	subs := item.Status.SubStatus
	item.Status.SubStatus = nil
	base, err := encode(item)
	if err != nil {
		return nil, err
	}
	item.Status.SubStatus = summarise(subs, MaxStatusSize-len(base)-2048)
	for {
		data, err = encode(item)
		if err != nil || len(data) <= MaxStatusSize || len(item.Status.SubStatus) <= 1 {
			return data, err
		}
		// Only a wrong estimate gets here: leave out the entry before the
		// note, and count it there.
		n := len(item.Status.SubStatus)
		last := item.Status.SubStatus[n-1]
		left := 1
		if last.Name == moreName {
			left += last.left
			item.Status.SubStatus = item.Status.SubStatus[:n-1]
		}
		item.Status.SubStatus = item.Status.SubStatus[:len(item.Status.SubStatus)-1]
		item.Status.SubStatus = append(item.Status.SubStatus, moreNote(left, StatusWarning))
	}
}

// moreName names the substatus that counts what is left out.
const moreName = "more"

// moreNote says how many certificates the file leaves out.
func moreNote(n int, status string) SubStatus {
	return SubStatus{Name: moreName, Status: status, left: n, FormattedMessage: Message{Lang: "en-US",
		Message: fmt.Sprintf("%d more certificates are not listed here: run akvvm status on the machine for every certificate", n)}}
}

// causeGroup is the certificates that share a state and a cause.
type causeGroup struct {
	status, state, cause string
	subs                 []SubStatus
}

// summarise fits subs into about room bytes of JSON: first the settings'
// warning and one entry per cause, each cause whole; then the names of the
// certificates of each cause; then installed certificates one by one; then
// a note counting the certificates left out.
func summarise(subs []SubStatus, room int) []SubStatus {
	var out, installed []SubStatus
	var groups []*causeGroup
	at := map[string]*causeGroup{}
	for _, s := range subs {
		switch {
		case s.Name == SettingsWarningName && s.state == "":
			out = append(out, s)
		case s.state == "":
			installed = append(installed, s)
		default:
			k := s.Status + "\x00" + s.state + "\x00" + s.cause
			g := at[k]
			if g == nil {
				g = &causeGroup{status: s.Status, state: s.state, cause: s.cause}
				at[k] = g
				groups = append(groups, g)
			}
			g.subs = append(g.subs, s)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if si, sj := severity(groups[i].status), severity(groups[j].status); si != sj {
			return si > sj
		}
		return len(groups[i].subs) > len(groups[j].subs)
	})
	const noteRoom = 400
	used := noteRoom
	for _, s := range out {
		used += entrySize(s)
	}
	// Causes first, whole; a cause that does not fit is left out with
	// its certificates (only with very many distinct causes).
	left, leftStatus := 0, StatusSuccess
	kept := groups[:0]
	for _, g := range groups {
		if cost := entrySize(g.entry(0)); used+cost <= room {
			used += cost
			kept = append(kept, g)
			continue
		}
		left += len(g.subs)
		leftStatus = worse(leftStatus, g.status)
	}
	// Then the names, as many as fit in half the room that is left, one
	// cause after the other, and in the guest agent's limit for one
	// message; the other half is for installed certificates.
	named := make([]int, len(kept))
	nameRoom := (room - used) / 2
	for i, g := range kept {
		if len(g.subs) == 1 {
			named[i] = 1 // its own substatus names it
			continue
		}
		field := maxField - len(g.entry(0).FormattedMessage.Message) - 200
		for named[i] < len(g.subs) {
			cost := len(g.subs[named[i]].Name) + 2
			if cost > nameRoom || cost > field {
				break
			}
			nameRoom, field, used = nameRoom-cost, field-cost, used+cost
			named[i]++
		}
	}
	for i, g := range kept {
		e := g.entry(named[i])
		out = append(out, e)
		if n := len(g.subs) - named[i]; n > 0 {
			left += n
			leftStatus = worse(leftStatus, g.status)
		}
	}
	// Then installed certificates, one by one.
	for i, s := range installed {
		s.FormattedMessage.Message = truncate(s.FormattedMessage.Message, maxField)
		cost := entrySize(s)
		if used+cost > room {
			left += len(installed) - i
			break
		}
		used += cost
		out = append(out, s)
	}
	if left > 0 {
		out = append(out, moreNote(left, leftStatus))
	}
	return out
}

// entry renders a group with its first n certificates named. A group of
// one certificate keeps that certificate's own substatus.
func (g *causeGroup) entry(n int) SubStatus {
	if len(g.subs) == 1 {
		s := g.subs[0]
		s.FormattedMessage.Message = truncate(s.FormattedMessage.Message, maxField)
		return s
	}
	lo, hi := g.subs[0].attempts, g.subs[0].attempts
	for _, s := range g.subs[1:] {
		lo, hi = min(lo, s.attempts), max(hi, s.attempts)
	}
	head := fmt.Sprintf("%d certificates %s", len(g.subs), g.state)
	switch {
	case g.state == "not checked yet" || strings.HasPrefix(g.state, "gave up") || lo == 0:
	case lo == hi:
		head += fmt.Sprintf(" (attempt %d failed)", lo)
	default:
		head += fmt.Sprintf(" (attempts %d to %d failed)", lo, hi)
	}
	if g.cause != "" {
		head += ": " + truncate(g.cause, maxField/2)
	}
	names := make([]string, 0, n)
	for _, s := range g.subs[:n] {
		names = append(names, s.Name)
	}
	var list string
	switch {
	case n == len(g.subs):
		list = "; certificates: " + strings.Join(names, ", ")
	case n > 0:
		list = fmt.Sprintf("; certificates: %s and %d more not listed here (run akvvm status on the machine)", strings.Join(names, ", "), len(g.subs)-n)
	default:
		list = "; the certificates are not listed here: run akvvm status on the machine"
	}
	code := 0
	if g.status == StatusError {
		code = 1
	}
	return SubStatus{Name: fmt.Sprintf("%d certificates %s", len(g.subs), g.state), Status: g.status, Code: code,
		FormattedMessage: Message{Lang: "en-US", Message: head + list}}
}

// entrySize estimates the bytes an entry takes in the indented file.
func entrySize(s SubStatus) int {
	data, _ := json.Marshal(s)
	return len(data) + 120
}

// severity orders the guest agent's status values, the worst highest.
func severity(status string) int {
	switch status {
	case StatusError:
		return 3
	case StatusWarning:
		return 2
	case StatusTransitioning:
		return 1
	}
	return 0
}

// worse returns the worse of two status values.
func worse(a, b string) string {
	if severity(b) > severity(a) {
		return b
	}
	return a
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

// ReadStatus reads a status file written by WriteStatus, refusing a link.
func ReadStatus(statusFolder string, seq int) (StatusItem, error) {
	var list []StatusItem
	data, err := fsutil.ReadFile(StatusPath(statusFolder, seq), fsutil.MaxReadSize)
	if err != nil {
		return StatusItem{}, fmt.Errorf("read the status file: %w", err)
	}
	if err := json.Unmarshal(data, &list); err != nil || len(list) != 1 {
		return StatusItem{}, fmt.Errorf("status file of sequence number %d is not a one-element JSON array: %v", seq, err)
	}
	return list[0], nil
}
