package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/akvvm/akvvm/internal/agent"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/eventlog"
)

// InstallSource registers Source in the Application log with EventCreate's
// message file (run as administrator by akvvm service install). A source
// that is already registered is kept.
func InstallSource() error {
	err := eventlog.InstallAsEventCreate(Source, eventlog.Info|eventlog.Warning|eventlog.Error)
	if err != nil && !strings.Contains(err.Error(), "registry key already exists") {
		return fmt.Errorf("register the event source %q (run as administrator): %w", Source, err)
	}
	return nil
}

// RemoveSource unregisters Source; a missing source is not an error.
func RemoveSource() error {
	if err := eventlog.Remove(Source); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return fmt.Errorf("remove the event source %q (run as administrator): %w", Source, err)
	}
	return nil
}

// EventLog writes event 1001 to the Application log; it is an
// agent.Notifier.
type EventLog struct {
	// Log receives why an event was or was not written.
	Log *slog.Logger
	// Read reads a leaf from the store by thumbprint: the previous
	// version's, and the new current one's when it was made current again
	// without a download. Nil reads it with crypt32.
	Read ReadFunc
}

var _ agent.Notifier = (*EventLog)(nil)

// Notify writes event 1001 when Prepare says it is due.
func (n *EventLog) Notify(_ context.Context, e agent.Event) error {
	log := n.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	read := n.Read
	if read == nil {
		read = readStoreCert
	}
	r, due := Prepare(e, read, log)
	if !due {
		log.Info("no event 1001: the new version shares no subject alternative name with the previous one",
			"certificate", e.Cert.Key(), "kind", r.Kind, "old", r.OldThumbprint, "new", r.NewThumbprint)
		return nil
	}
	if err := Report(r); err != nil {
		return err
	}
	log.Info("wrote event 1001 to the Application log", "certificate", e.Cert.Key(), "kind", r.Kind,
		"old", r.OldThumbprint, "new", r.NewThumbprint)
	return nil
}

// Report writes r as an information event 1001 from Source.
func Report(r Record) error {
	l, err := eventlog.Open(Source)
	if err != nil {
		return fmt.Errorf("open the Application event log as %q (akvvm service install registers it): %w", Source, err)
	}
	defer l.Close()
	strs := r.Strings()
	ptrs := make([]*uint16, len(strs))
	for i, s := range strs {
		if ptrs[i], err = windows.UTF16PtrFromString(s); err != nil {
			return fmt.Errorf("event 1001 string %d: %w", i, err)
		}
	}
	if err := windows.ReportEvent(l.Handle, windows.EVENTLOG_INFORMATION_TYPE, 0, EventID, 0, uint16(len(ptrs)), 0, &ptrs[0], nil); err != nil {
		return fmt.Errorf("write event %d to the Application log: %w", EventID, err)
	}
	return nil
}
