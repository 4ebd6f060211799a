package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"

	"github.com/akvvm/akvvm/internal/cloud"
	"github.com/akvvm/akvvm/internal/emulator/pki"
	"github.com/akvvm/akvvm/internal/transport"
)

// SystemAssignedClientID is the client id of the emulator's system-assigned identity.
const SystemAssignedClientID = "5a5e0000-0000-4000-8000-00000000a001"

// DefaultTenant is the tenant named in the 401 challenge unless Config.Tenant is set.
const DefaultTenant = "e7e70000-0000-4000-8000-00000000e700"

// DefaultThrottleLimit is Key Vault's limit of secret transactions per vault per 10 s.
const DefaultThrottleLimit = 4000

// Config configures an Emulator. The zero value is usable.
type Config struct {
	// HTTPSAddr is the Key Vault and admin listener; default "127.0.0.1:0" (random port).
	HTTPSAddr string
	// IMDSAddr is the plain-HTTP identity endpoint listener; default "127.0.0.1:0".
	IMDSAddr string
	// StateDir keeps the CA, token key and all vaults across restarts; "" keeps
	// everything in memory (the CA file is then written to a temporary directory).
	StateDir string
	// Tenant is the tenant GUID of the 401 challenge and of tokens.
	Tenant string
	// TokenLifetime is the lifetime of issued tokens; default 1h.
	TokenLifetime time.Duration
	// ThrottleLimit is the number of requests per vault per 10 s; default
	// DefaultThrottleLimit. Answers 429 do not count. Negative disables throttling.
	ThrottleLimit int
	// ThrottleSliding selects a sliding 10 s window instead of fixed windows.
	ThrottleSliding bool
	// NoSystemIdentity removes the system-assigned identity: token requests
	// must then name a user-assigned identity.
	NoSystemIdentity bool
	// Arc makes the identity endpoint behave like Azure Arc's (Basic challenge with a key file).
	Arc bool
	// DateSkew shifts the Date header of vault answers (SetDateSkew).
	DateSkew time.Duration
	// HTTP1Only offers HTTP/1.1 alone on the HTTPS listener, as a proxy or
	// load balancer that cannot speak HTTP/2 would; by default HTTP/2 and
	// HTTP/1.1 are offered by ALPN, as Key Vault does.
	HTTP1Only bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnRequest, when set, is called with every request the request log
	// records (vault and token requests, not the admin API's), as it is
	// recorded; it must return quickly. The fleet simulation counts
	// requests per window with it.
	OnRequest func(Request)
	// Logger receives one Debug line per request and lifecycle lines at Info.
	Logger *slog.Logger
}

// Emulator is a running (or ready to run) Key Vault and identity emulator.
type Emulator struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	ca       *pki.Authority
	signer   tokenSigner
	caFile   string
	tempDir  string // removed on Close
	arcKey   string // content of the Arc key file
	arcFile  string
	faults   *faultSet
	throttle *throttler
	reqlog   *requestLog
	conns    *connStats
	dateSkew atomic.Int64 // nanoseconds added to the vaults' Date header

	mu    sync.Mutex // guards st
	st    *persistedState
	saver *stateFile // nil when in memory

	srvMu   sync.Mutex
	started bool
	httpsLn net.Listener
	imdsLn  net.Listener
	https   *http.Server
	imds    *http.Server
	done    sync.WaitGroup
}

// New prepares an emulator: it loads or creates the CA, token key and state.
// Call Start to listen.
func New(cfg Config) (*Emulator, error) {
	if cfg.HTTPSAddr == "" {
		cfg.HTTPSAddr = "127.0.0.1:0"
	}
	if cfg.IMDSAddr == "" {
		cfg.IMDSAddr = "127.0.0.1:0"
	}
	if cfg.Tenant == "" {
		cfg.Tenant = DefaultTenant
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.ThrottleLimit == 0 {
		cfg.ThrottleLimit = DefaultThrottleLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		faults:   newFaultSet(),
		throttle: newThrottler(cfg.ThrottleLimit, cfg.ThrottleSliding),
		reqlog:   newRequestLog(),
		conns:    newConnStats(),
	}
	if err := e.SetDateSkew(cfg.DateSkew); err != nil {
		return nil, err
	}
	if err := e.loadState(); err != nil {
		e.removeTemp()
		return nil, err
	}
	return e, nil
}

// loadState opens the state directory (or a temporary one for the CA file).
func (e *Emulator) loadState() error {
	dir := e.cfg.StateDir
	caDir := ""
	if dir == "" {
		tmp, err := os.MkdirTemp("", "akvvm-emulator-")
		if err != nil {
			return fmt.Errorf("create a temporary directory for the emulator CA file: %w", err)
		}
		e.tempDir, dir = tmp, tmp
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create emulator state directory %s: %w", dir, err)
		}
		caDir = filepath.Join(dir, "ca")
	}
	ca, err := pki.LoadOrCreate(caDir)
	if err != nil {
		return fmt.Errorf("load emulator CA: %w", err)
	}
	e.ca = ca
	e.caFile = filepath.Join(dir, "ca.pem")
	if err := fsutil.WriteFileAtomic(e.caFile, ca.RootPEM(), 0o644); err != nil {
		return fmt.Errorf("write emulator CA file: %w", err)
	}
	if e.cfg.StateDir == "" {
		key, err := randomBytes(32)
		if err != nil {
			return err
		}
		e.signer = tokenSigner{key: key}
		e.st = newPersistedState()
	} else {
		key, err := loadOrCreateKey(filepath.Join(dir, "token.key"))
		if err != nil {
			return err
		}
		e.signer = tokenSigner{key: key}
		e.saver = &stateFile{path: filepath.Join(dir, "state.json")}
		if e.st, err = e.saver.load(); err != nil {
			return err
		}
	}
	if e.cfg.Arc {
		key, err := randomBytes(24)
		if err != nil {
			return err
		}
		e.arcKey = b64(key)
		e.arcFile = filepath.Join(dir, "arc-identity.key")
		if err := fsutil.WriteFileAtomic(e.arcFile, []byte(e.arcKey), 0o600); err != nil {
			return fmt.Errorf("write Arc identity key file: %w", err)
		}
	}
	return nil
}

// Start listens on both addresses and serves until Close.
func (e *Emulator) Start() error {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	if e.started {
		return errors.New("emulator already started")
	}
	httpsLn, err := net.Listen("tcp", e.cfg.HTTPSAddr)
	if err != nil {
		return fmt.Errorf("listen for HTTPS on %s (is another emulator running? use another --listen address): %w", e.cfg.HTTPSAddr, err)
	}
	imdsLn, err := net.Listen("tcp", e.cfg.IMDSAddr)
	if err != nil {
		_ = httpsLn.Close()
		return fmt.Errorf("listen for the identity endpoint on %s (use another --imds-listen address): %w", e.cfg.IMDSAddr, err)
	}
	return e.serveOn(httpsLn, imdsLn)
}

// serveOn serves the HTTPS and identity listeners; srvMu is held.
func (e *Emulator) serveOn(httpsLn, imdsLn net.Listener) error {
	cert, err := e.ca.ServerCertificate(serverDNSNames(), []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	if err != nil {
		_, _ = httpsLn.Close(), imdsLn.Close()
		return fmt.Errorf("issue emulator TLS certificate: %w", err)
	}
	e.httpsLn, e.imdsLn = httpsLn, imdsLn
	e.https = newHTTPSServer(e.httpsHandler(), cert, e.log, e.cfg.HTTP1Only, e.conns)
	e.imds = newHTTPServer(e.imdsHandler(), e.log)
	e.started = true
	e.serve(e.https, httpsLn, true)
	e.serve(e.imds, imdsLn, false)
	e.log.Info("emulator started", "https", httpsLn.Addr().String(), "imds", imdsLn.Addr().String(), "http2", !e.cfg.HTTP1Only,
		"ca_file", e.caFile, "state_dir", e.cfg.StateDir)
	return nil
}

// serverDNSNames are the names on the emulator's TLS certificate.
func serverDNSNames() []string {
	names := []string{"localhost"}
	for _, c := range cloud.All {
		names = append(names, "*."+c.VaultSuffix, "*."+c.HSMSuffix)
	}
	return names
}

// Close stops both listeners, waits for the servers, and removes temporary files.
func (e *Emulator) Close() error {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	var errs []error
	if e.started {
		for _, s := range []*http.Server{e.https, e.imds} {
			errs = append(errs, shutdown(s))
		}
		e.done.Wait()
		e.started = false
		e.log.Info("emulator stopped")
	}
	errs = append(errs, e.removeTemp())
	return errors.Join(errs...)
}

func (e *Emulator) removeTemp() error {
	if e.tempDir == "" {
		return nil
	}
	err := os.RemoveAll(e.tempDir)
	e.tempDir = ""
	if err != nil {
		return fmt.Errorf("remove emulator temporary directory: %w", err)
	}
	return nil
}

// httpsAddr returns the HTTPS listener's address.
func (e *Emulator) httpsAddr() string {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	if e.httpsLn == nil {
		return e.cfg.HTTPSAddr
	}
	return e.httpsLn.Addr().String()
}

// VaultURL returns the vault's URL, "https://<vault>.<suffix>" for its cloud
// (public cloud for a vault that does not exist yet).
func (e *Emulator) VaultURL(vault string) string {
	c := cloud.Public
	e.mu.Lock()
	if v := e.st.Vaults[strings.ToLower(vault)]; v != nil {
		c = cloudByName(v.Cloud)
		vault = v.Name
	}
	e.mu.Unlock()
	return "https://" + vault + "." + c.VaultSuffix
}

// IMDSEndpoint returns the identity endpoint's token URL.
func (e *Emulator) IMDSEndpoint() string {
	e.srvMu.Lock()
	addr := e.cfg.IMDSAddr
	if e.imdsLn != nil {
		addr = e.imdsLn.Addr().String()
	}
	e.srvMu.Unlock()
	return "http://" + addr + imdsTokenPath
}

// AdminURL returns the base URL of the admin API, "https://127.0.0.1:<port>".
func (e *Emulator) AdminURL() string { return "https://" + e.httpsAddr() }

// CAFile returns the path of the PEM file holding the emulator's root CA.
func (e *Emulator) CAFile() string { return e.caFile }

// RootPEM returns the emulator's root CA certificate in PEM.
func (e *Emulator) RootPEM() []byte { return e.ca.RootPEM() }

// ArcKeyFile returns the path of the Arc key file, or "" outside Arc mode.
func (e *Emulator) ArcKeyFile() string { return e.arcFile }

// TransportOptions returns the client options that reach this emulator: routes
// for every cloud's vault and managed HSM host names to the HTTPS listener,
// and the CA file.
func (e *Emulator) TransportOptions() transport.Options {
	addr := e.httpsAddr()
	var routes []transport.Route
	for _, c := range cloud.All {
		routes = append(routes,
			transport.Route{Host: "*." + c.VaultSuffix, Addr: addr},
			transport.Route{Host: "*." + c.HSMSuffix, Addr: addr})
	}
	return transport.Options{Routes: routes, CAFile: e.caFile}
}

// cloudByName returns the cloud named name, or the public cloud.
func cloudByName(name string) cloud.Cloud {
	for _, c := range cloud.All {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return cloud.Public
}

// ReadyInfo is how a client reaches a running emulator; akvvm emulator
// --ready-file writes it as JSON once the listeners are up.
type ReadyInfo struct {
	// HTTPSAddr is the address the vault host names are routed to.
	HTTPSAddr string `json:"httpsAddr"`
	// AdminURL is the base URL of the admin API.
	AdminURL string `json:"adminURL"`
	// IMDSEndpoint is the token URL, usable as msiEndpoint.
	IMDSEndpoint string `json:"imdsEndpoint"`
	// CAFile is the PEM file of the emulator's root CA.
	CAFile string `json:"caFile"`
	// ArcKeyFile is the Arc key file, in Arc mode.
	ArcKeyFile string `json:"arcKeyFile,omitempty"`
}

// Ready returns how clients reach the emulator.
func (e *Emulator) Ready() ReadyInfo {
	return ReadyInfo{HTTPSAddr: e.httpsAddr(), AdminURL: e.AdminURL(), IMDSEndpoint: e.IMDSEndpoint(), CAFile: e.CAFile(), ArcKeyFile: e.ArcKeyFile()}
}
