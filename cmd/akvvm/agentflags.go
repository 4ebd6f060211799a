package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/metrics"
	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/akvvm/akvvm/internal/transport"
	"github.com/spf13/pflag"
)

// agentFlags are the flags shared by run and sync.
type agentFlags struct {
	settings   string
	compat     string
	stateDir   string
	extraRoots string
	logLevel   string
	logJSON    bool
	net        netFlags
	metrics    metricsFlags
	// fullRecheck shortens the full listing period of change detection
	// (tests only; hidden).
	fullRecheck time.Duration
	// log, when set, replaces the logger of the flags (the Windows service
	// logs to a file).
	log *slog.Logger
	// logging and stopLogs are the loggingSettings start forwards with and
	// the function that stops forwarding (see logfwd.go).
	logging  *config.Logging
	stopLogs func()
}

func (f *agentFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.settings, "settings", "", "settings file (the extension's public settings, in any documented form); - reads stdin")
	fs.StringVar(&f.compat, "compat", "", "settings schema version: 1.0, 3.0 or 4.0 on Windows, 2.0 or 3.0 on Linux (default: the newest)")
	fs.StringVar(&f.stateDir, "state-dir", defaultStateDir, "directory for the status file read by akvvm status")
	fs.StringVar(&f.extraRoots, "extra-roots", "", "PEM file of extra trusted roots for the 4.0 chain check")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&f.logJSON, "log-json", false, "write logs as JSON lines")
	f.net.register(fs)
	fs.DurationVar(&f.fullRecheck, "full-recheck", 0, "TEST ONLY: list every secret's versions in full at least this often under the vault-wide change detection (default 24h)")
	_ = fs.MarkHidden("full-recheck")
}

// logger returns the slog logger the flags ask for, writing to stderr.
func (f *agentFlags) logger() (*slog.Logger, error) {
	if f.log != nil {
		return f.log, nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	if f.logJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}

// loadSettings reads and validates the settings file for this platform.
func (f *agentFlags) loadSettings() (*config.Settings, error) {
	if f.settings == "" {
		return nil, fmt.Errorf("--settings is required: the path of the settings JSON (see akvvm validate --help)")
	}
	schema, err := config.ParseSchema(runtime.GOOS, f.compat)
	if err != nil {
		return nil, fmt.Errorf("--compat: %w", err)
	}
	var s *config.Settings
	if f.settings == "-" {
		data, rerr := readAllStdin()
		if rerr != nil {
			return nil, rerr
		}
		s, err = config.Parse(data, config.Options{Schema: schema})
	} else {
		s, err = config.ParseFile(f.settings, config.Options{Schema: schema})
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("settings %s: %w", f.settings, err) // unreadable, not invalid: exit 1
	}
	if err != nil {
		var problems config.Errors
		if errors.As(err, &problems) && problems.Within() != "" {
			err = fmt.Errorf("settings %s (paths inside %s):\n%w", f.settings, problems.Within(), err)
		} else {
			err = fmt.Errorf("settings %s:\n%w", f.settings, err)
		}
		return nil, codedError{code: exitInvalidSettings, err: err}
	}
	return s, nil
}

// start reads the settings, logs their warnings and builds the agent, with
// progress on a terminal.
func (f *agentFlags) start() (*agent.Agent, *slog.Logger, error) {
	log, err := f.logger()
	if err != nil {
		return nil, nil, err
	}
	s, err := f.loadSettings()
	if err != nil {
		return nil, nil, err
	}
	for _, w := range s.Warnings {
		log.Warn("settings", "problem", w.String())
	}
	if err := f.metrics.resolve(s); err != nil {
		return nil, nil, err
	}
	f.logging = s.Logging
	log, f.stopLogs = forwardLogs(log, s)
	a, err := f.build(s, log, terminalProgress(os.Stderr))
	if err != nil {
		return nil, nil, err
	}
	return a, log, nil
}

// build wires the agent for settings: identity, Key Vault, store, status.
func (f *agentFlags) build(s *config.Settings, log *slog.Logger, progress func(done, total int)) (*agent.Agent, error) {
	topts, err := f.net.options()
	if err != nil {
		return nil, err
	}
	deps, err := wireDepsWith(s, topts, log, f.metrics.m)
	if err != nil {
		return nil, err
	}
	if f.extraRoots != "" {
		roots, err := certbundle.LoadRootsFile(f.extraRoots)
		if err != nil {
			return nil, fmt.Errorf("--extra-roots: %w", err)
		}
		deps.Verify.ExtraRoots = roots
	}
	deps.StatusFile = filepath.Join(f.stateDir, statusFileName)
	deps.Secrets = secretfile.New(filepath.Join(f.stateDir, secretsDirName))
	deps.FullRecheck = f.fullRecheck
	deps.Progress = progress
	return agent.New(agent.SpecFromSettings(s), deps)
}

// secretsDirName is the directory of the state directory that keeps the
// records of the observedSecrets files.
const secretsDirName = "secrets"

// wireDeps builds the production collaborators of the agent. Only topts,
// which production leaves empty, differs in tests and the demo.
func wireDeps(s *config.Settings, topts transport.Options, log *slog.Logger) (agent.Deps, error) {
	return wireDepsWith(s, topts, log, nil)
}

// wireDepsWith is wireDeps with metrics: m, when not nil, observes the
// agent and counts the requests of both HTTP clients.
func wireDepsWith(s *config.Settings, topts transport.Options, log *slog.Logger, m *metrics.Metrics) (agent.Deps, error) {
	imdsCfg := transport.ClientConfig{NoProxy: true, Timeout: time.Minute, Logger: log}
	// The agent's workers send at most Concurrency requests to a vault at
	// once; the identity client shares one token request, so it keeps
	// Go's default.
	const concurrency = agent.DefaultConcurrency
	kvCfg := transport.ClientConfig{Logger: log, Concurrency: concurrency}
	if m != nil {
		imdsCfg.Wrap, kvCfg.Wrap = m.Identity, m.KeyVault
	}
	imdsHTTP, err := transport.NewClient(topts, imdsCfg)
	if err != nil {
		return agent.Deps{}, err
	}
	kvHTTP, err := transport.NewClient(topts, kvCfg)
	if err != nil {
		return agent.Deps{}, err
	}
	cred, err := identity.New(identity.Options{Endpoint: s.Identity.Endpoint, ClientID: s.Identity.ClientID, ObjectID: s.Identity.ObjectID,
		ResourceID: s.Identity.ResourceID, HTTPClient: imdsHTTP, Logger: log})
	if err != nil {
		return agent.Deps{}, fmt.Errorf("authenticationSettings: %w", err)
	}
	st, err := newStore(log)
	if err != nil {
		return agent.Deps{}, err
	}
	deps := agent.Deps{
		Source:      keyvault.NewClients(cred, keyvault.Options{HTTPClient: kvHTTP, Logger: log}),
		Store:       st,
		Identity:    cred.Describe(),
		Notifiers:   platformNotifiers(log),
		Logger:      log,
		Concurrency: concurrency,
	}
	if m != nil {
		deps.Observer = m
	}
	return deps, nil
}

// netFlags are the test-only routing and trust options.
type netFlags struct {
	connectTo []string
	caFile    string
}

func (n *netFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&n.connectTo, "connect-to", nil, "TEST ONLY: send connections for HOST[:PORT] to ADDR:PORT, e.g. '*.vault.azure.net=127.0.0.1:8443' (repeatable)")
	fs.StringVar(&n.caFile, "ca-file", "", "TEST ONLY: trust only the CA certificates in this PEM file instead of the system roots")
}

func (n *netFlags) options() (transport.Options, error) {
	o := transport.Options{CAFile: n.caFile}
	for _, s := range n.connectTo {
		r, err := transport.ParseRoute(s)
		if err != nil {
			return o, fmt.Errorf("--connect-to: %w", err)
		}
		o.Routes = append(o.Routes, r)
	}
	if _, err := o.RootCAs(); err != nil {
		return o, fmt.Errorf("--ca-file: %w", err)
	}
	return o, nil
}

func readAllStdin() ([]byte, error) {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		return nil, fmt.Errorf("read settings from stdin: %w", err)
	}
	return data, nil
}
