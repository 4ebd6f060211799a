package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// Agent keeps the certificates of a Spec installed.
type Agent struct {
	deps  Deps
	clock Clock
	log   *slog.Logger

	mu      sync.Mutex
	spec    Spec
	certs   map[string]*CertStatus
	rand    *rand.Rand
	reload  chan Spec
	started sync.Once
	// nowKick wakes Run for the pass SyncNow asked for (nowPending);
	// nowRunning is that pass while it runs, for later callers to join.
	nowKick    chan struct{}
	nowPending *nowRequest
	nowRunning *nowRequest
	nowEnded   bool           // Run returned
	ties       map[string]tie // by certificate key
	getOnly    getOnly        // secrets read by GET alone (getonly.go)
	detect     detector       // change detection (detect.go)

	// begun is when the agent was made, on its clock.
	begun time.Time
	// prev holds the entries of the status file an earlier run left, by
	// key, shown as last known until this process checks them.
	prev        map[string]CertStatus
	prevUpdated time.Time

	writeMu sync.Mutex // serialises status file writes so an older snapshot never wins
	// statusWrites counts status file writes (tests).
	statusWrites int
}

// New returns an agent for spec.
func New(spec Spec, deps Deps) (*Agent, error) {
	if deps.Source == nil || deps.Store == nil {
		return nil, errors.New("agent: a secret source and a store are required")
	}
	if err := CheckOverlaps(spec.Certificates); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	if deps.Secrets == nil && slices.ContainsFunc(spec.Certificates, CertSpec.IsSecret) {
		return nil, errors.New("agent: observedSecrets need a secret file writer (Deps.Secrets)")
	}
	if deps.Clock == nil {
		deps.Clock = realClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Concurrency <= 0 {
		deps.Concurrency = DefaultConcurrency
	}
	if deps.StatusEvery <= 0 {
		deps.StatusEvery = 2 * time.Second
	}
	if deps.Observer == nil {
		deps.Observer = noObserver{}
	}
	if deps.FullRecheck <= 0 {
		deps.FullRecheck = DefaultFullRecheck
	}
	a := &Agent{deps: deps, clock: deps.Clock, log: deps.Logger, reload: make(chan Spec, 1), nowKick: make(chan struct{}, 1),
		rand: rand.New(rand.NewPCG(rand.Uint64(), 0x616b76766d))}
	a.begun = a.clock.Now()
	a.readPreviousStatus() // shown until this process has checked
	a.setSpec(spec)
	return a, nil
}

// setSpec installs a new spec, keeping the state of certificates that stay.
func (a *Agent) setSpec(spec Spec) {
	defer a.observeSpec(spec) // after the unlock below
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.certs
	a.spec = spec
	a.getOnly.prune(spec)
	a.getOnly.retryAll() // new settings (SIGHUP): try listing again
	a.certs = make(map[string]*CertStatus, len(spec.Certificates))
	for _, c := range spec.Certificates {
		if st, ok := old[c.Key()]; ok {
			st.URL, st.Kind = c.URL, c.kind()
			st.NextCheck = time.Time{}
			a.certs[c.Key()] = st
			continue
		}
		a.certs[c.Key()] = &CertStatus{Key: c.Key(), URL: c.URL, Kind: c.kind()}
	}
}

// Reload replaces the spec of a running agent; every certificate is checked
// again at once.
func (a *Agent) Reload(spec Spec) {
	select {
	case <-a.reload:
	default:
	}
	a.reload <- spec
}

// SyncOnce checks every certificate once and returns the resulting status.
func (a *Agent) SyncOnce(ctx context.Context) Status {
	a.mu.Lock()
	due := append([]CertSpec(nil), a.spec.Certificates...)
	a.mu.Unlock()
	a.pass(ctx, due)
	return a.Status()
}

// Run polls until ctx is cancelled.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("agent started", "certificates", len(a.spec.Certificates), "interval", a.spec.Interval)
	defer a.failNow()
	for {
		a.pass(ctx, a.due())
		if ctx.Err() != nil {
			a.log.Info("agent stopped")
			return nil
		}
		wait := a.untilNext()
		select {
		case <-ctx.Done():
			a.log.Info("agent stopped")
			return nil
		case spec := <-a.reload:
			a.log.Info("settings reloaded", "certificates", len(spec.Certificates))
			a.setSpec(spec)
		case <-a.nowKick:
			a.passNow(ctx)
		case <-a.clock.After(wait):
		}
	}
}

// batchWindow caps how early a certificate is checked to join a pass that
// runs anyway: certificates due close together share one pass, one store
// recovery and one status write.
const batchWindow = time.Minute

// dueAt is how early st may join a pass: its next check, brought forward
// by a twentieth of the delay it was scheduled with (capped at
// batchWindow), well inside the ±10 % jitter of the interval. Passes start
// at the earliest next check, so the certificates due soon after it join
// that pass instead of each starting its own.
//
// A retry of the initial sync may join a pass up to one AttemptBudget
// early, so that it does not wait behind a pass of another certificate
// whose attempt takes its whole budget; that keeps the InitialSyncBound.
// It never joins before half its wait has passed or before a Retry-After.
// Other retries keep their back-off exactly, and the release of a held
// version is checked at its time, never before.
func dueAt(st *CertStatus) time.Time {
	if !st.PendingUntil.IsZero() && st.NextCheck.Equal(st.PendingUntil) {
		return st.NextCheck // a release is checked at its time, never before
	}
	if st.Attempts > 0 && !st.Installed() && !st.Fatal && !st.NextCheck.IsZero() {
		half := st.LastCheck.Add(max(st.NextCheck.Sub(st.LastCheck), 0) / 2)
		return later(later(st.NextCheck.Add(-AttemptBudget), half), st.retryNotBefore)
	}
	if st.NextCheck.IsZero() || st.Attempts > 0 {
		return st.NextCheck // a retry keeps its back-off and Retry-After exactly
	}
	slack := min(max(st.NextCheck.Sub(st.LastCheck), 0)/20, batchWindow)
	return st.NextCheck.Add(-slack)
}

// due returns the certificates whose next check has come.
func (a *Agent) due() []CertSpec {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	var out []CertSpec
	for _, c := range a.spec.Certificates {
		if !dueAt(a.certs[c.Key()]).After(now) {
			out = append(out, c)
		}
	}
	return out
}

// untilNext returns how long to wait for the next due certificate.
func (a *Agent) untilNext() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	next := now.Add(a.spec.Interval)
	for _, st := range a.certs {
		if st.NextCheck.Before(next) {
			next = st.NextCheck
		}
	}
	return max(next.Sub(now), 0)
}

// pass syncs the given certificates with bounded concurrency. The status
// file is written when the pass starts (every certificate of the pass
// marked as being checked), at most every StatusEvery while it runs, and
// at its end: a few writes per pass, however many certificates it has.
// Before it, the store recovers from a crash (its own temporary and
// half-written files), and on the first pass the status file's
// temporaries are removed and the previous run's status is read.
func (a *Agent) pass(ctx context.Context, due []CertSpec) {
	if len(due) == 0 {
		return
	}
	a.mu.Lock()
	spec := a.spec
	a.mu.Unlock()
	due = a.joinVaultWide(spec, due)
	ctx, detect := a.beginDetect(ctx, spec, due)
	began := time.Now()
	defer func() { a.deps.Observer.PassDone(time.Since(began)) }()
	a.started.Do(a.removeStatusTemps)
	a.markChecking(due)
	a.writeStatus()
	if a.deps.Progress != nil {
		a.deps.Progress(0, len(due))
	}
	changed, stopWriter := a.statusWriter()
	a.recover(ctx, spec)
	down := newUnreachable()
	var doneMu sync.Mutex
	done := 0
	check := func(c CertSpec) {
		start := a.startCheck(c)
		var res result
		failed, err := down.skip(c)
		if err == nil {
			res, err = a.syncCertSafe(ctx, spec, c)
			down.note(c, start, err)
		} else {
			start = failed
		}
		if err != nil && ctx.Err() != nil {
			a.endCheck(c)
			return // stopping: an interrupted check is not a failure to report
		}
		a.record(spec, c, start, res, err)
		a.observe(c, res, err)
		changed()
		if a.deps.Progress != nil {
			doneMu.Lock()
			done++
			a.deps.Progress(done, len(due))
			doneMu.Unlock()
		}
	}
	a.runChecks(due, check)
	a.alignRetries(down)
	a.endDetect(spec, detect)
	stopWriter()
	a.writeStatus()
}

// statusWriter writes the status file at most every StatusEvery while
// certificates complete. changed says one did; stop ends the writer.
func (a *Agent) statusWriter() (changed, stop func()) {
	kick := make(chan struct{}, 1)
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(a.deps.StatusEvery)
		defer tick.Stop()
		dirty := false
		for {
			select {
			case <-quit:
				return
			case <-kick:
				dirty = true
			case <-tick.C:
				if dirty {
					a.writeStatus()
					dirty = false
				}
			}
		}
	}()
	changed = func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	stop = func() {
		close(quit)
		<-finished
	}
	return changed, stop
}

// markChecking marks the certificates of a pass as being checked from now.
func (a *Agent) markChecking(due []CertSpec) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	for _, c := range due {
		if st, ok := a.certs[c.Key()]; ok {
			st.CheckingSince = now
		}
	}
}

// startCheck notes that the check of c starts now and returns the time.
func (a *Agent) startCheck(c CertSpec) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if st, ok := a.certs[c.Key()]; ok {
		st.CheckingSince = now
	}
	return now
}

// endCheck clears the in-flight mark of an interrupted check.
func (a *Agent) endCheck(c CertSpec) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, ok := a.certs[c.Key()]; ok {
		st.CheckingSince = time.Time{}
	}
}

// writeStatus writes the status file, when there is one.
func (a *Agent) writeStatus() {
	if a.deps.StatusFile == "" {
		return
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if err := WriteStatusFile(a.deps.StatusFile, a.Status()); err != nil {
		a.log.Error("could not write the status file", "path", a.deps.StatusFile, "error", err)
	}
	a.statusWrites++
}

// readPreviousStatus keeps what an earlier run wrote to the status file,
// to show it as last known until this process has checked each
// certificate.
func (a *Agent) readPreviousStatus() {
	if a.deps.StatusFile == "" {
		return
	}
	s, err := ReadStatusFile(a.deps.StatusFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("could not read the previous status file; starting without it", "error", err)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prev = map[string]CertStatus{}
	for _, c := range s.Certificates {
		c.CheckingSince, c.Attempt, c.MaxAttempts = time.Time{}, 0, 0
		a.prev[c.Key] = c
	}
	a.restoreTies(s.Certificates) // ties.go
	a.prevUpdated = s.Updated
	if !s.LastKnownSince.IsZero() && len(s.Certificates) > 0 && allLastKnown(s.Certificates) {
		a.prevUpdated = s.LastKnownSince // an earlier run that checked nothing keeps the older time
	}
}

func allLastKnown(cs []CertStatus) bool {
	for _, c := range cs {
		if !c.LastKnown {
			return false
		}
	}
	return true
}

// recover lets the store clean up after a crash, for every target of spec.
func (a *Agent) recover(ctx context.Context, spec Spec) {
	r, ok := a.deps.Store.(store.Recoverer)
	if !ok {
		return
	}
	targets := make([]store.Target, 0, len(spec.Certificates))
	seen := map[string]bool{}
	for _, c := range spec.Certificates {
		if c.IsSecret() {
			continue // a file of its own, no store
		}
		k := c.Target.Location + "\x00" + c.Target.StoreName
		if !seen[k] {
			seen[k] = true
			targets = append(targets, c.Target)
		}
	}
	if err := r.Recover(ctx, targets); err != nil && ctx.Err() == nil {
		a.log.Warn("could not clean up the store after an earlier crash; trying again before the next pass", "error", err)
	}
}

// removeStatusTemps removes the status file's temporaries that a killed
// agent left behind.
func (a *Agent) removeStatusTemps() {
	if a.deps.StatusFile == "" {
		return
	}
	n, err := fsutil.RemoveTemps(a.deps.StatusFile)
	if err != nil {
		a.log.Warn("could not remove the status file's temporary files", "error", err)
	}
	if n > 0 {
		a.log.Info("removed temporary status files left by an earlier crash", "count", n)
	}
}

// syncCertSafe turns a panic in one certificate's sync into its error.
func (a *Agent) syncCertSafe(ctx context.Context, spec Spec, c CertSpec) (res result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &syncError{err: fmt.Errorf("internal error: %v", p)}
		}
	}()
	return a.syncCert(ctx, spec, c)
}

// record stores the outcome of one sync that started at start and
// schedules the next.
func (a *Agent) record(spec Spec, c CertSpec, start time.Time, res result, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.certs[c.Key()]
	if !ok {
		return // removed by a reload meanwhile
	}
	now := a.clock.Now()
	st.LastCheck = now
	delete(a.prev, c.Key()) // checked by this process: the previous run's entry is not shown again
	st.CheckingSince = time.Time{}
	st.retryNotBefore = time.Time{}
	if res.current != nil {
		st.InstalledVersion = res.current.Version
		st.Thumbprint = res.current.Thumbprint
		st.NotAfter = res.current.NotAfter
		st.NotBefore = res.current.NotBefore
		st.Location = res.current.Location
	}
	if res.hookErr != nil {
		st.HookError = res.hookErr.Error()
	} else if res.installed > 0 || res.switched > 0 {
		st.HookError = ""
	}
	if err == nil || res.notice != "" {
		st.Notice = res.notice // a sync that failed before looking keeps the last notice
	}
	st.Notice = a.getOnlyNotice(c, st.Notice) // getonly.go
	a.judgeValidity(spec, c, st, res, now, err != nil)
	a.notePending(c, st, res, now)
	if err == nil {
		st.LastSuccess, st.Attempts, st.LastError, st.Cause, st.HTTPStatus, st.ErrorCode, st.Fatal = now, 0, "", "", 0, "", false
		st.NextCheck = byRelease(st, now.Add(jitter(spec.Interval, a.rand)))
		return
	}
	st.Attempts++
	st.LastError = a.describe(err)
	st.Cause, st.HTTPStatus, st.ErrorCode = "", 0, ""
	var kv *keyvault.Error
	if errors.As(err, &kv) {
		st.HTTPStatus, st.ErrorCode = kv.StatusCode(), kv.ErrorCode()
		if cause := strings.Replace(st.LastError, kv.Subject()+": ", "", 1); cause != st.LastError {
			st.Cause = cause
		}
	}
	var se *syncError
	permanent, fatal := false, false
	if errors.As(err, &se) {
		permanent, fatal = se.permanent, se.fatal
	}
	var retryAfter time.Duration
	if kv != nil {
		retryAfter = kv.RetryAfter(now)
	}
	var delay time.Duration
	switch {
	case !st.Installed():
		limit := spec.InitialSync.MaxAttempts
		if fatal || (spec.InitialSync.Wait && limit > 0 && st.Attempts >= limit) {
			st.Fatal = true
			st.NextCheck = now.Add(retryDelay(spec.Interval, retryAfter, a.rand))
			break
		}
		st.NextCheck = a.nextInitial(st.Attempts, start, now, retryAfter)
		if retryAfter > 0 {
			st.retryNotBefore = earlier(now.Add(retryAfter), st.NextCheck)
		}
	case permanent:
		delay = permanentBackoff(st.Attempts, spec.Interval)
	default:
		delay = steadyBackoff(st.Attempts, spec.Interval)
	}
	if st.Installed() {
		st.NextCheck = now.Add(retryDelay(delay, retryAfter, a.rand))
	}
	if retryAfter <= 0 {
		st.NextCheck = byRelease(st, st.NextCheck)
	}
	a.log.Warn("certificate sync failed", "certificate", c.Key(), "attempt", st.Attempts,
		"nextCheck", st.NextCheck, "error", st.LastError)
}

// nextInitial schedules the attempt after failed initial attempt n, which
// started at start and ended at now: the jittered back-off counts from the
// start of the attempt, so time spent inside it is not added on top; a
// Retry-After (plus up to 10 % jitter, never less) is honoured up to
// initialGapLimit, which keeps 25 attempts within InitialSyncBound.
func (a *Agent) nextInitial(n int, start, now time.Time, retryAfter time.Duration) time.Time {
	next := start.Add(jitter(initialBackoff(n), a.rand))
	if retryAfter > 0 {
		next = later(next, now.Add(jitterUp(retryAfter, a.rand)))
	}
	next = earlier(next, start.Add(initialGapLimit(n)))
	return later(next, now)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// describe renders err with the identity when the identity was refused
// (not when a version is disabled or the vault's network rules refused the
// machine).
func (a *Agent) describe(err error) string {
	msg := err.Error()
	var kv *keyvault.Error
	if errors.As(err, &kv) && kv.AccessDenied() && a.deps.Identity != "" {
		msg += " (identity: " + a.deps.Identity + ")"
	}
	return msg
}

// inFlight fills in the attempt of a check in flight and, before the
// certificate is installed, how many attempts the initial sync allows.
func (a *Agent) inFlight(c CertStatus) CertStatus {
	if !c.Installed() && !c.Fatal && a.spec.InitialSync.Wait {
		c.MaxAttempts = a.spec.InitialSync.MaxAttempts
	}
	if !c.CheckingSince.IsZero() {
		c.Attempt = c.Attempts + 1
	}
	return c
}

// Status returns a snapshot of the agent's state, as the status file, the
// handler's status and akvvm status show it: what this process knows, and
// the previous run's entry, marked LastKnown, for every certificate this
// process has not finished a check of yet (its check in flight shown too).
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{Identity: a.deps.Identity, Warnings: a.spec.Warnings, Updated: a.clock.Now(), Started: a.begun, Detection: a.detection(a.spec)}
	var known []string
	for _, c := range a.spec.Certificates {
		st := a.inFlight(*a.certs[c.Key()])
		st.Tie = a.tieStatus(st.Key) // ties.go
		if p, ok := a.prev[st.Key]; ok && st.LastCheck.IsZero() {
			st = lastKnown(p, st)
			known = append(known, st.Key)
		}
		s.Certificates = append(s.Certificates, st)
	}
	sortCerts(s.Certificates)
	s.Phase, s.Message = phase(a.spec, s.Certificates)
	if len(known) > 0 {
		s.LastKnownSince = a.prevUpdated
		s.Message += fmt.Sprintf("; last known from the previous run (updated %s), not checked by this process yet: %s",
			a.prevUpdated.UTC().Format(time.RFC3339), KeyList(known, summaryNames))
	}
	return s
}

// lastKnown is the previous run's entry p shown for c, which this process
// has not checked yet: c's check in flight and next check, p's state.
func lastKnown(p, c CertStatus) CertStatus {
	p.URL, p.Kind, p.LastKnown = c.URL, c.Kind, true
	p.CheckingSince, p.Attempt, p.MaxAttempts = c.CheckingSince, c.Attempt, c.MaxAttempts
	if p.Installed() {
		p.MaxAttempts = 0 // installed before: this check is no initial sync
	}
	p.NextCheck = c.NextCheck
	return p
}

func sortCerts(cs []CertStatus) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Key < cs[j].Key })
}

// Limits of the summary in the overall message: it names the causes whole,
// the certificates only by example.
const (
	summaryGroups = 5 // causes named
	summaryNames  = 3 // certificates named per cause
)

// phase derives the overall state from the certificates (spec.md §4). The
// message groups the certificates by cause, so with hundreds of failing
// certificates it still names every cause (up to summaryGroups) whole.
func phase(spec Spec, certs []CertStatus) (Phase, string) {
	var installed int
	var fatal, pending, checking, unchecked, notices, expiring, held, releasing []CertStatus
	for _, c := range certs {
		if c.Notice != "" {
			notices = append(notices, c)
		}
		if c.Pending != "" && c.Installed() {
			held = append(held, c)
		}
		if c.ValidityWarning != "" {
			expiring = append(expiring, c)
		}
		switch {
		case c.Installed():
			installed++
		case c.Fatal:
			fatal = append(fatal, c)
		case c.LastError != "":
			pending = append(pending, c)
		case !c.CheckingSince.IsZero():
			checking = append(checking, c)
		case c.Pending != "":
			releasing = append(releasing, c)
		default:
			unchecked = append(unchecked, c)
		}
	}
	total := len(certs)
	summary := CountKinds(certs).Installed()
	if len(notices) > 0 {
		summary += "; " + Summarise(notices, func(c CertStatus) string { return c.Notice }, false)
	}
	if len(expiring) > 0 {
		summary += "; warning: " + Summarise(expiring, func(c CertStatus) string { return c.ValidityWarning }, false)
	}
	if len(held) > 0 {
		summary += "; " + Summarise(held, func(c CertStatus) string { return c.Pending }, false)
	}
	var waiting []string
	if len(pending) > 0 {
		waiting = append(waiting, Summarise(pending, func(c CertStatus) string { return c.CauseText() }, true)+retrying(pending))
	}
	if len(checking) > 0 {
		waiting = append(waiting, Summarise(checking, func(CertStatus) string { return "first check in flight" }, true))
	}
	if len(releasing) > 0 {
		waiting = append(waiting, Summarise(releasing, func(c CertStatus) string { return c.Pending }, false))
	}
	if len(unchecked) > 0 {
		waiting = append(waiting, Summarise(unchecked, func(CertStatus) string { return "not checked yet" }, false))
	}
	switch {
	case len(fatal) > 0:
		return Error, "initial sync failed: " + Summarise(fatal, func(c CertStatus) string { return c.CauseText() }, false)
	case installed == total:
		return Success, summary
	case !spec.InitialSync.Wait:
		return Success, "not waiting for the initial sync (requireInitialSync is off); " + summary + "; " + strings.Join(waiting, "; ")
	default:
		return Transitioning, "initial sync: " + summary + "; waiting for " + strings.Join(waiting, "; ")
	}
}

// retrying says which of the failed certificates are being checked again
// and since when: "; checking since … (attempt 3 of 25)"; "" when none is.
func retrying(certs []CertStatus) string {
	var in []CertStatus
	since := time.Time{}
	for _, c := range certs {
		if c.CheckingSince.IsZero() {
			continue
		}
		in = append(in, c)
		if since.IsZero() || c.CheckingSince.Before(since) {
			since = c.CheckingSince
		}
	}
	if len(in) == 0 {
		return ""
	}
	for i := range in {
		in[i].Attempts = in[i].Attempt // attemptRange counts the attempt in flight
	}
	who := ""
	if len(in) < len(certs) || len(in) > 1 {
		who = fmt.Sprintf(" %d of them", len(in))
	}
	return fmt.Sprintf("; checking%s since %s %s", who, since.UTC().Format(time.RFC3339), attemptRange(in))
}

// CauseGroup is the certificates that share one cause.
type CauseGroup struct {
	Cause string
	Certs []CertStatus
}

// GroupByCause groups certs by cause(c), the largest group first (then by
// the first certificate's key); the certificates keep their order.
func GroupByCause(certs []CertStatus, cause func(CertStatus) string) []CauseGroup {
	var groups []CauseGroup
	at := map[string]int{}
	for _, c := range certs {
		k := cause(c)
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, CauseGroup{Cause: k})
		}
		groups[i].Certs = append(groups[i].Certs, c)
	}
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i].Certs) > len(groups[j].Certs) })
	return groups
}

// Summarise renders certs grouped by cause: "v/web: cause" for one
// certificate, "412 certificates (v/a, v/b, v/c and 409 more): cause" for
// many, each cause whole, at most summaryGroups causes and then how many
// certificates and causes are left out. With attempts, each group says
// which attempt failed ("(attempt 3)", "(attempts 2 to 5)").
func Summarise(certs []CertStatus, cause func(CertStatus) string, attempts bool) string {
	groups := GroupByCause(certs, cause)
	parts := make([]string, 0, min(len(groups), summaryGroups)+1)
	for i, g := range groups {
		if i == summaryGroups {
			left := 0
			for _, r := range groups[i:] {
				left += len(r.Certs)
			}
			parts = append(parts, fmt.Sprintf("%d more certificates with %d other causes: run akvvm status", left, len(groups)-i))
			break
		}
		tries := ""
		if attempts {
			tries = " " + attemptRange(g.Certs)
		}
		if len(g.Certs) == 1 {
			parts = append(parts, g.Certs[0].Key+tries+": "+g.Cause)
			continue
		}
		parts = append(parts, fmt.Sprintf("%d certificates (%s)%s: %s", len(g.Certs), KeyList(keys(g.Certs), summaryNames), tries, g.Cause))
	}
	return strings.Join(parts, "; ")
}

// KeyList names up to shown of keys and counts the rest: "a, b, c and 9 more".
func KeyList(keys []string, shown int) string {
	if len(keys) <= shown {
		return strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(keys[:shown], ", "), len(keys)-shown)
}

func keys(certs []CertStatus) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.Key
	}
	return out
}

// attemptRange says which attempt of certs failed last: "(attempt 3)" or
// "(attempts 2 to 5)".
// A first check in flight counts as attempt 1; "of 25" follows when the
// initial sync limits the attempts.
func attemptRange(certs []CertStatus) string {
	n := func(c CertStatus) int {
		if c.Attempts == 0 {
			return c.Attempt
		}
		return c.Attempts
	}
	lo, hi, limit := n(certs[0]), n(certs[0]), certs[0].MaxAttempts
	for _, c := range certs[1:] {
		lo, hi = min(lo, n(c)), max(hi, n(c))
		if c.MaxAttempts != limit {
			limit = 0
		}
	}
	of := ""
	if limit > 0 {
		of = fmt.Sprintf(" of %d", limit)
	}
	if lo == hi {
		return fmt.Sprintf("(attempt %d%s)", lo, of)
	}
	return fmt.Sprintf("(attempts %d to %d%s)", lo, hi, of)
}
