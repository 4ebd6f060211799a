package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/store"
)

// Handler carries out the guest agent's commands for one handler directory.
type Handler struct {
	Env *Environment
	// Schema is the settings schema of this extension version.
	Schema config.Schema
	// Binary is the akvvm executable the service runs.
	Binary  string
	Service ServiceManager
	// Getenv reads the guest agent's environment variables.
	Getenv func(string) string
	Now    func() time.Time
	Log    *slog.Logger
	// NewStore opens the platform's certificate store; uninstall uses it
	// when the settings ask to remove the installed certificates.
	NewStore func(*slog.Logger) (store.Store, error)
	// AskSync asks the running service of a state directory to check every
	// certificate now without waiting for the pass (control.RequestSync);
	// nil means a re-enable always restarts the service.
	AskSync func(ctx context.Context, stateDir string) error
}

// Install registers the service without starting it, neither now nor at
// boot: until the first enable the stopped marker keeps it from running.
// A failure is also written as an error status when a sequence number is
// known, so the portal shows what to do.
func (h *Handler) Install(ctx context.Context) error {
	if err := setStopped(h.Env.StateDir(), true); err != nil {
		return err
	}
	if err := h.Service.Install(ctx, h.Binary); err != nil {
		err = fmt.Errorf("install the %s service: %w", ServiceName, err)
		if seq, serr := RequestedSeq(h.Env.ConfigFolder, h.Getenv(SeqEnv)); serr == nil {
			h.writeStatus(seq, NewStatus(h.Env.Name, "Install", StatusError, 1, err.Error(), h.Now()))
		}
		return err
	}
	h.Log.Info("installed", "service", ServiceName, "binary", h.Binary)
	return nil
}

// EnableResult says what enable did.
type EnableResult struct {
	Seq int
	// Unchanged is true when the sequence number was already processed
	// and the service runs: nothing was done.
	Unchanged bool
}

// Enable hands the settings of the requested sequence number to the
// service and (re)starts it. It returns at once, leaving a transitioning
// status that the service replaces. A sequence number that was already
// processed is skipped unless the service was stopped. A new sequence
// number with the settings the running service has (Azure's
// forceUpdateTag) asks it to check every certificate now, through AskSync,
// and restarts it only when that fails.
func (h *Handler) Enable(ctx context.Context) (EnableResult, error) {
	seq, err := RequestedSeq(h.Env.ConfigFolder, h.Getenv(SeqEnv))
	if err != nil {
		return EnableResult{}, err
	}
	res := EnableResult{Seq: seq}
	state := h.Env.StateDir()
	last, ok, err := ReadMRSeq(h.Env.Dir)
	if err != nil {
		return res, err
	}
	if ok && last == seq && !isStopped(state) {
		h.Log.Info("sequence number already processed; nothing to do", "seq", seq)
		res.Unchanged = true
		return res, nil
	}
	cfg, settings, warnings, err := h.settingsFor(seq)
	if err != nil {
		h.writeStatus(seq, NewStatus(h.Env.Name, "Enable", StatusError, 1, err.Error(), h.Now()))
		// The same settings would fail again: record them as processed.
		return res, errors.Join(err, WriteMRSeq(h.Env.Dir, seq))
	}
	// Azure's forceUpdateTag: a new sequence number with the same settings.
	same := sameSettings(state, cfg) && !isStopped(state)
	// Recorded before the service can install anything, so that uninstall
	// finds every certificate whatever later settings say.
	if err := RecordHanded(state, handed(settings)); err != nil {
		if !errors.Is(err, errHandedDamaged) {
			return res, err
		}
		h.Log.Warn("the list of certificates handed to the service was damaged; certificates only earlier settings named are not removed on uninstall", "error", err)
	}
	if err := WriteServiceConfig(state, cfg); err != nil {
		return res, err
	}
	item := NewStatus(h.Env.Name, "Enable", StatusTransitioning, 0,
		fmt.Sprintf("settings of sequence number %d handed to %s; waiting for its first report", seq, ServiceName), h.Now())
	if len(warnings) > 0 {
		item.Status.SubStatus = []SubStatus{SettingsWarning(warnings)}
	}
	h.writeStatus(seq, item)
	if err := WriteMRSeq(h.Env.Dir, seq); err != nil {
		return res, err
	}
	// Cleared before the start: a service that finds the marker exits.
	if err := setStopped(state, false); err != nil {
		return res, err
	}
	if same && h.AskSync != nil {
		err := h.AskSync(ctx, state)
		if err == nil {
			h.Log.Info("enabled with the same settings (forceUpdateTag): the running service checks every certificate now", "seq", seq)
			return res, nil
		}
		h.Log.Warn("could not ask the running service to check now; restarting it instead", "error", err)
	}
	if err := h.Service.Restart(ctx); err != nil {
		err = fmt.Errorf("start the %s service: %w", ServiceName, err)
		// The next enable with the same sequence number tries again.
		err = errors.Join(err, setStopped(state, true))
		h.writeStatus(seq, NewStatus(h.Env.Name, "Enable", StatusError, 1, err.Error(), h.Now()))
		return res, err
	}
	h.Log.Info("enabled", "seq", seq, "schema", cfg.Schema().String())
	return res, nil
}

// sameSettings reports whether the service runs with the settings of cfg
// already (state/service.json holds them, with the same schema).
func sameSettings(state string, cfg ServiceConfig) bool {
	prev, err := ReadServiceConfig(state)
	return err == nil && prev.Schema() == cfg.Schema() && SameSettings(prev.Settings, cfg.Settings)
}

// SameSettings reports whether two settings documents are the same JSON
// apart from white space (service.json holds them indented).
func SameSettings(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// settingsFor reads and checks the settings of seq, and returns them with
// what they needed repaired (warnings, logged too). Paths in problems and
// warnings are inside the public settings, as the operator wrote them.
func (h *Handler) settingsFor(seq int) (ServiceConfig, *config.Settings, []string, error) {
	data, err := ReadSettings(h.Env.ConfigFolder, seq)
	if err != nil {
		return ServiceConfig{}, nil, nil, err
	}
	if data == nil {
		return ServiceConfig{}, nil, nil, fmt.Errorf("the extension has no settings (sequence number %d): set secretsManagementSettings.observedCertificates in the extension's public settings", seq)
	}
	s, err := config.Parse(data, config.Options{Schema: h.Schema})
	if err != nil {
		return ServiceConfig{}, nil, nil, fmt.Errorf("the settings of sequence number %d are not valid %s settings:\n%w", seq, h.Schema, err)
	}
	var warnings []string
	for _, w := range s.Warnings {
		h.Log.Warn("settings", "problem", w.String())
		warnings = append(warnings, w.String())
	}
	return ServiceConfig{Seq: seq, Platform: string(h.Schema.Platform), SchemaVersion: h.Schema.Version, Settings: data}, s, warnings, nil
}

// handed lists the certificates of s and where they go.
func handed(s *config.Settings) []HandedCertificate {
	var out []HandedCertificate
	for _, c := range agent.SpecFromSettings(s).Certificates {
		if c.IsSecret() {
			continue // a file, not in a certificate store
		}
		out = append(out, HandedCertificate{URL: c.URL, Ref: c.Ref, Target: c.Target})
	}
	return out
}

// Disable stops the service, keeps it from starting at boot and reports
// it stopped, in the status and as a heartbeat that is not Ready. The
// stopped marker it leaves keeps the service from running (it exits at
// start) until the next enable, whatever starts it.
func (h *Handler) Disable(ctx context.Context) error {
	if err := setStopped(h.Env.StateDir(), true); err != nil {
		return err
	}
	seq, haveSeq, _ := ReadMRSeq(h.Env.Dir)
	if err := h.Service.Stop(ctx); err != nil {
		err = fmt.Errorf("stop the %s service: %w", ServiceName, err)
		if haveSeq {
			h.writeStatus(seq, NewStatus(h.Env.Name, "Disable", StatusError, 1, err.Error(), h.Now()))
		}
		return err
	}
	if haveSeq {
		h.writeStatus(seq, NewStatus(h.Env.Name, "Disable", StatusSuccess, 0,
			ServiceName+" stopped; installed certificates stay in place", h.Now()))
	}
	if err := WriteHeartbeatStatus(h.Env.HeartbeatFile, HeartbeatNotReady,
		"disabled: "+ServiceName+" is stopped and does not start at boot until the next enable; installed certificates stay in place"); err != nil {
		h.Log.Error("could not write the heartbeat file", "error", err)
	}
	h.Log.Info("disabled")
	return nil
}

// Uninstall removes the service and the handler's state. Installed
// certificates stay, since removing them could break what uses them,
// unless the last settings handed to the service set
// removeCertificatesOnUninstall: then, once the service is gone, every
// version akvvm installed is removed: of each certificate any enable
// handed to the service (state/certificates.json), of the current
// settings, and whatever else the store says akvvm installed at those
// targets. A failed removal is logged and returned, and the handler state
// is kept so that running uninstall again retries it; the service is
// removed regardless. The certificates also stay when another version's
// handler directory is present: the guest agent uninstalls the old
// version during an update.
func (h *Handler) Uninstall(ctx context.Context) error {
	if err := h.Service.Uninstall(ctx); err != nil {
		return fmt.Errorf("remove the %s service: %w", ServiceName, err)
	}
	removing, err := h.removeCertificates(ctx)
	if err != nil {
		h.Log.Error("the service is removed, but removing the installed certificates failed; run uninstall again to retry", "error", err)
		return fmt.Errorf("the %s service is removed, but removing the certificates akvvm installed failed: %w; run akvvm handler uninstall again to retry", ServiceName, err)
	}
	if err := removeFlatDir(h.Env.StateDir()); err != nil {
		return fmt.Errorf("remove the handler state: %w", err)
	}
	if removing {
		h.Log.Info("uninstalled; the certificates akvvm installed were removed")
	} else {
		h.Log.Info("uninstalled; installed certificates were left in place")
	}
	return nil
}

// removeCertificates removes what akvvm installed when the service's
// settings set removeCertificatesOnUninstall, and reports whether they
// did. No settings (never enabled) means nothing to do.
func (h *Handler) removeCertificates(ctx context.Context) (bool, error) {
	cfg, err := ReadServiceConfig(h.Env.StateDir())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w; whether to remove the certificates is unknown", err)
	}
	settings, err := config.Parse(cfg.Settings, config.Options{Schema: cfg.Schema()})
	if err != nil {
		return false, fmt.Errorf("the service settings are not valid any more (%w); whether to remove the certificates is unknown", err)
	}
	if !settings.RemoveOnUninstall {
		return false, nil
	}
	if other := otherVersionDir(h.Env.Dir); other != "" {
		// The guest agent uninstalls the old version in the middle of an
		// update; the new version's service goes on with these certificates.
		h.Log.Info("another version of the extension is installed (an update): the certificates stay for it", "other", other)
		return false, nil
	}
	if h.NewStore == nil {
		return true, errors.New("this build has no certificate store to remove certificates from")
	}
	certs, err := ReadHanded(h.Env.StateDir())
	if err != nil {
		// The current settings and the store still name what they can.
		h.Log.Warn("certificates only earlier settings named may stay", "error", err)
	}
	certs, _ = mergeHanded(certs, handed(settings), true)
	st, err := h.NewStore(h.Log)
	if err != nil {
		return true, fmt.Errorf("open the certificate store: %w", err)
	}
	var errs []error
	if en, ok := st.(store.Enumerator); ok {
		var found []HandedCertificate
		for _, t := range targets(certs) {
			refs, err := en.Owned(ctx, t)
			if err != nil {
				errs = append(errs, fmt.Errorf("list what akvvm installed at %s: %w", describeTarget(t), err))
			}
			for _, ref := range refs {
				found = append(found, HandedCertificate{Ref: ref, Target: t})
			}
		}
		// What the store found adds to the list; a recorded target (with
		// its link name) wins for a certificate known both ways.
		certs, _ = mergeHanded(certs, found, false)
	}
	n := 0
	for _, c := range certs {
		removed, err := st.Remove(ctx, c.Target, c.Ref)
		n += len(removed)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s at %s: %w", c.name(), describeTarget(c.Target), err))
		}
	}
	h.Log.Info("removed the certificate versions akvvm installed (removeCertificatesOnUninstall)", "versions", n, "certificates", len(certs))
	return true, errors.Join(errs...)
}

// targets returns the distinct targets of certs (by location and store).
func targets(certs []HandedCertificate) []store.Target {
	seen := map[[2]string]bool{}
	var out []store.Target
	for _, c := range certs {
		k := [2]string{c.Target.Location, c.Target.StoreName}
		if !seen[k] {
			seen[k] = true
			out = append(out, store.Target{Location: c.Target.Location, StoreName: c.Target.StoreName})
		}
	}
	return out
}

// describeTarget names a target in messages.
func describeTarget(t store.Target) string {
	if t.StoreName != "" {
		return t.Location + `\` + t.StoreName
	}
	return t.Location
}

// UpdatingFromEnv names the previous version during update.
const UpdatingFromEnv = "AZURE_GUEST_AGENT_UPDATING_FROM_VERSION"

// Update carries the state of the previous version's handler directory
// over: the service settings, the agent's state and the last processed
// sequence number (the guest agent copies mrseq and the status files too).
func (h *Handler) Update(context.Context) error {
	from := h.Getenv(UpdatingFromEnv)
	if from == "" {
		from = h.Getenv("VERSION")
	}
	old := previousDir(h.Env.Dir, from)
	if old == "" {
		h.Log.Warn("previous version unknown; nothing carried over", UpdatingFromEnv, from)
		return nil
	}
	n, err := copyMissing(filepath.Join(old, "state"), h.Env.StateDir())
	if err != nil {
		return fmt.Errorf("carry the state over from %s: %w", old, err)
	}
	if _, ok, _ := ReadMRSeq(h.Env.Dir); !ok {
		if seq, ok, _ := ReadMRSeq(old); ok {
			if err := WriteMRSeq(h.Env.Dir, seq); err != nil {
				return err
			}
		}
	}
	h.Log.Info("updated", "from", from, "files", n)
	return nil
}

// previousDir returns the handler directory of version from: the sibling
// "<Name>-<from>" on Linux, "<from>" on Windows; "" when there is none.
func previousDir(dir, from string) string {
	if from == "" || !versionPattern.MatchString(from) {
		return ""
	}
	base := filepath.Base(dir)
	name := from
	if i := strings.LastIndex(base, "-"); i >= 0 {
		name = base[:i+1] + from
	}
	old := filepath.Join(filepath.Dir(dir), name)
	if old == dir {
		return ""
	}
	if fi, err := os.Lstat(old); err != nil || !fi.IsDir() {
		return ""
	}
	return old
}

// otherVersionDir returns a handler directory of another version of the
// same extension next to dir ("<Name>-<version>" on Linux, "<version>" on
// Windows) that the guest agent set up (it holds HandlerEnvironment.json),
// or "" when there is none. During an update the guest agent runs the old
// version's uninstall while the new version's directory exists.
func otherVersionDir(dir string) string {
	base := filepath.Base(dir)
	prefix := base[:strings.LastIndex(base, "-")+1]
	parent := filepath.Dir(dir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || name == base || !e.IsDir() || !versionPattern.MatchString(rest) {
			continue
		}
		if fi, err := os.Lstat(filepath.Join(parent, name, EnvironmentFile)); err == nil && fi.Mode().IsRegular() {
			return filepath.Join(parent, name)
		}
	}
	return ""
}

// copyMissing copies the regular files of src that dst lacks. Links in
// either are not followed: a link in src is skipped, an entry of any kind
// in dst counts as present.
func copyMissing(src, dst string) (int, error) {
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		target := filepath.Join(dst, e.Name())
		if _, err := os.Lstat(target); err == nil {
			continue
		}
		data, err := fsutil.ReadFile(filepath.Join(src, e.Name()), fsutil.MaxReadSize)
		if err != nil {
			return n, err
		}
		if err := fsutil.WriteFileAtomic(target, data, 0o600); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// removeFlatDir removes dir and the files in it one by one (os.RemoveAll
// fails under Wine, where the Windows build is tested).
func removeFlatDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return os.Remove(dir)
}

// writeStatus writes a status file, logging a failure: the operation's
// own result matters more than its report.
func (h *Handler) writeStatus(seq int, item StatusItem) {
	if err := WriteStatus(h.Env.StatusFolder, seq, item); err != nil {
		h.Log.Error("could not write the status file", "seq", seq, "error", err)
	}
}
