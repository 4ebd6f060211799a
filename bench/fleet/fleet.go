package fleet

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// Config sizes one simulation.
type Config struct {
	// Agents is the number of machines, each running one agent.
	Agents int
	// Certs is the number of certificates every machine observes, all in
	// one vault that holds nothing else.
	Certs int
	// Interval is the polling interval (pollingIntervalInS); default 1 h.
	Interval time.Duration
	// Limit is the vault's limit per 10 s; default Key Vault's 4,000.
	Limit int
	// ThrottledLimit is the vault's limit per 10 s during the throttling
	// scenario; default one per 40 agents, at least 2.
	ThrottledLimit int
	// Dir holds every machine's store and status file.
	Dir string
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() error {
	if c.Agents < 1 || c.Certs < 1 {
		return errors.New("fleet: Agents and Certs must be at least 1")
	}
	if c.Dir == "" {
		return errors.New("fleet: Dir is required")
	}
	if c.Interval <= 0 {
		c.Interval = time.Hour
	}
	if c.Limit == 0 {
		c.Limit = emulator.DefaultThrottleLimit
	}
	if c.ThrottledLimit == 0 {
		c.ThrottledLimit = max(2, c.Agents/40)
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return nil
}

// Phase is the outcome of one scenario, or of the steady state between two.
type Phase struct {
	Name string
	// Limit is the vault's limit per 10 s during the phase.
	Limit int
	// Duration is the phase's virtual time.
	Duration time.Duration
	// Goal says whether the phase waited for a version on every agent;
	// Converged whether every agent had it in time, Convergence how long
	// after the phase's start the last one had it, P50 and P90 the
	// median and 90th percentile over the agents.
	Goal           bool
	Converged      bool
	Convergence    time.Duration
	P50, P90       time.Duration
	NotConverged   int
	FailedAgents   int // agents not converged or with an initial sync given up
	Traffic        Traffic
	PerAgentMean   float64 // vault requests per agent
	PerAgentMax    int64
	TokensPerAgent float64
	// Checks counts the certificate checks, FailedChecks those that
	// failed (ThrottledChecks with a 429 after azcore's own retries).
	Checks, FailedChecks, ThrottledChecks int64
	// Wall is the real time the phase took; CPU the process's user and
	// system time during it.
	Wall, CPU time.Duration
	// HeapInuse and Goroutines are read at the phase's end.
	HeapInuse  uint64
	Goroutines int
}

// Report is the outcome of Run.
type Report struct {
	Config Config
	// Setup is the real time to issue the certificates and build the
	// machines; SetupCPU its CPU time.
	Setup, SetupCPU time.Duration
	Phases          []Phase
	// MaxRSS is the process's peak resident set size (ru_maxrss) at the end,
	// in bytes; 0 where it cannot be read.
	MaxRSS int64
}

const vaultName = "fleetvault"

type sim struct {
	cfg       Config
	epoch     time.Time // the simulation's start, in virtual time
	emu       *emulator.Emulator
	httpsLn   *pipeListener
	imdsLn    *pipeListener
	rec       recorder
	track     *tracker
	checks    checks
	urls      []string
	certIndex map[string]int
	versions  []string // the initial version of each certificate
	members   []*member
}

// Run simulates the fleet through its scenarios: (a) start, every machine's
// initial sync at once; steady state; (b) rotation, one certificate gets a
// new version; steady state; (c) throttled, another certificate gets a new
// version while the vault's limit is lowered to ThrottledLimit. It must be
// called inside a testing/synctest bubble (see the package doc).
func Run(cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	cpu, realStart := cpuTime(), realNow()
	s := &sim{cfg: cfg, track: newTracker(cfg.Agents, cfg.Certs), certIndex: map[string]int{}, epoch: time.Now()}
	emu, err := emulator.New(emulator.Config{Logger: discard, ThrottleLimit: cfg.Limit, OnRequest: s.rec.add})
	if err != nil {
		return nil, err
	}
	s.emu = emu
	s.httpsLn, s.imdsLn = newPipeListener("127.0.0.1:443"), newPipeListener("127.0.0.1:50342")
	if err := emu.StartOn(s.httpsLn, s.imdsLn); err != nil {
		return nil, errors.Join(err, emu.Close())
	}
	defer func() { _ = emu.Close() }()
	if _, err := emu.CreateVault(emulator.VaultSpec{Name: vaultName}); err != nil {
		return nil, err
	}
	for i := range cfg.Certs {
		name := fmt.Sprintf("cert%02d", i)
		v, err := emu.CreateCertificate(vaultName, name, emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}})
		if err != nil {
			return nil, err
		}
		s.urls = append(s.urls, emu.VaultURL(vaultName)+"/secrets/"+name)
		s.certIndex[name] = i
		s.versions = append(s.versions, v.Version)
	}
	for i := range cfg.Agents {
		m, err := s.newMember(i)
		if err != nil {
			return nil, err
		}
		s.members = append(s.members, m)
	}
	rep := &Report{Config: cfg, Setup: realNow().Sub(realStart), SetupCPU: cpuTime() - cpu}
	cfg.Logf("fleet: %d machines × %d certificates built in %v", cfg.Agents, cfg.Certs, rep.Setup.Round(time.Millisecond))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stop := func() {
		cancel()
		wg.Wait()
		for _, m := range s.members {
			for _, c := range m.clients {
				c.CloseIdleConnections()
			}
		}
	}
	defer stop()

	// (a) Every machine starts at once, as a scale set deployed.
	p := s.begin("a-start", cfg.Limit)
	var initial []*goal
	for i, v := range s.versions {
		initial = append(initial, s.track.want(i, v))
	}
	for _, m := range s.members {
		wg.Go(func() { _ = m.agent.Run(ctx) })
	}
	rep.Phases = append(rep.Phases, p.wait(initial, 4*cfg.Interval))

	// Steady state, until the next rotation: long enough for the agents'
	// change detection to settle (their second poll learns the vault-wide
	// listing, see docs/architecture.md "Change detection").
	p = s.begin("steady", cfg.Limit)
	time.Sleep(5 * cfg.Interval / 2)
	rep.Phases = append(rep.Phases, p.wait(nil, 0))

	// (b) One certificate every machine observes gets a new version.
	p = s.begin("b-rotation", cfg.Limit)
	g, err := s.rotate(0)
	if err != nil {
		return nil, err
	}
	rep.Phases = append(rep.Phases, p.wait([]*goal{g}, 4*cfg.Interval))

	// (c) The vault throttles: a lower limit while another certificate
	// (the same one when there is only one) gets a new version.
	p = s.begin("steady", cfg.Limit)
	time.Sleep(cfg.Interval / 2)
	rep.Phases = append(rep.Phases, p.wait(nil, 0))
	emu.SetThrottle(cfg.ThrottledLimit, false)
	p = s.begin("c-throttled", cfg.ThrottledLimit)
	if g, err = s.rotate(min(1, cfg.Certs-1)); err != nil {
		return nil, err
	}
	rep.Phases = append(rep.Phases, p.wait([]*goal{g}, 12*cfg.Interval))
	emu.SetThrottle(cfg.Limit, false)

	stop()
	rep.MaxRSS = maxRSS()
	return rep, nil
}

// rotate gives certificate i a new version and returns the goal of it.
func (s *sim) rotate(i int) (*goal, error) {
	v, err := s.emu.RotateCertificate(vaultName, fmt.Sprintf("cert%02d", i))
	if err != nil {
		return nil, err
	}
	return s.track.want(i, v.Version), nil
}

// phaseRun measures one phase from its start.
type phaseRun struct {
	s                      *sim
	name                   string
	index                  int // the recorder's phase
	limit                  int
	start, realStart       time.Time
	cpu                    time.Duration
	requests, tokens       []int64
	checks, failed, thrott int64
}

func (s *sim) begin(name string, limit int) *phaseRun {
	p := &phaseRun{s: s, name: name, index: s.rec.next(), limit: limit, start: time.Now(), realStart: realNow(), cpu: cpuTime(),
		checks: s.checks.total.Load(), failed: s.checks.failed.Load(), thrott: s.checks.throttled.Load()}
	for _, m := range s.members {
		p.requests = append(p.requests, m.requests.Load())
		p.tokens = append(p.tokens, m.tokens.Load())
	}
	s.cfg.Logf("fleet: %s begins at +%v virtual", name, p.start.Sub(s.epoch).Round(time.Second))
	return p
}

// wait waits until every goal is reached or limit has passed (no waiting
// without goals), then sums up the phase.
func (p *phaseRun) wait(goals []*goal, limit time.Duration) Phase {
	out := Phase{Name: p.name, Limit: p.limit, Goal: len(goals) > 0}
	var reached []time.Time
	if len(goals) > 0 {
		deadline := time.After(limit)
		out.Converged = true
	wait:
		for _, g := range goals {
			select {
			case <-g.done:
			case <-deadline:
				out.Converged = false
				break wait
			}
		}
		reached = p.s.track.reachedTimes(goals)
		var times []time.Duration
		for _, r := range reached {
			if r.IsZero() {
				out.NotConverged++
				continue
			}
			times = append(times, r.Sub(p.start))
		}
		slices.Sort(times)
		if len(times) > 0 {
			out.Convergence = times[len(times)-1]
			out.P50 = times[len(times)/2]
			out.P90 = times[len(times)*9/10]
		}
	}
	end := time.Now()
	out.Duration = end.Sub(p.start)
	out.Traffic = traffic(p.s.rec.of(p.index))
	var sum, tokens int64
	for i, m := range p.s.members {
		n := m.requests.Load() - p.requests[i]
		sum += n
		out.PerAgentMax = max(out.PerAgentMax, n)
		tokens += m.tokens.Load() - p.tokens[i]
	}
	out.PerAgentMean = float64(sum) / float64(len(p.s.members))
	out.TokensPerAgent = float64(tokens) / float64(len(p.s.members))
	out.Checks = p.s.checks.total.Load() - p.checks
	out.FailedChecks = p.s.checks.failed.Load() - p.failed
	out.ThrottledChecks = p.s.checks.throttled.Load() - p.thrott
	for i, m := range p.s.members {
		if (reached != nil && reached[i].IsZero()) || hasFatal(m.agent.Status()) {
			out.FailedAgents++
		}
	}
	out.Wall = realNow().Sub(p.realStart)
	out.CPU = cpuTime() - p.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out.HeapInuse, out.Goroutines = ms.HeapInuse, runtime.NumGoroutine()
	p.s.cfg.Logf("fleet: %s: converged=%v in %v, %d requests (%d 429), peak %d/10 s, %d failed agents, wall %v",
		p.name, out.Converged, out.Convergence.Round(time.Second), out.Traffic.Received, out.Traffic.Throttled,
		out.Traffic.PeakWindow, out.FailedAgents, out.Wall.Round(time.Millisecond))
	return out
}

// hasFatal says whether an agent gave up a certificate's initial sync.
func hasFatal(st agent.Status) bool {
	for _, c := range st.Certificates {
		if c.Fatal {
			return true
		}
	}
	return false
}
