// Package logfwd forwards akvvm's log records to fluentd or Fluent Bit over
// the forward protocol, as KeyVaultForLinux loggingSettings ask.
//
// Records go through fluent-logger-golang in async mode: a log call encodes
// the record and puts it into a bounded queue, and one goroutine sends it.
// A slow or dead endpoint never delays the caller; when the queue is full
// the newest record is dropped, and a record that cannot be sent after the
// library's retries is dropped too. Drops are counted and reported as a
// warning on the logger that does not forward.
package logfwd

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"
)

// Limits of the forwarder.
const (
	// DefaultBuffer is the number of records kept while the endpoint is down.
	DefaultBuffer = 1024
	// MaxValue bounds each string in a record, in bytes.
	MaxValue = 16 << 10
	// writeTimeout bounds one write to the endpoint.
	writeTimeout = 5 * time.Second
	// dialTimeout bounds one connection attempt.
	dialTimeout = 3 * time.Second
	// retryWait is the first wait between connection attempts, in ms.
	retryWait = 500
	// maxRetryWait caps the wait between connection attempts, in ms, so
	// delivery resumes within seconds of the endpoint coming back.
	maxRetryWait = 5000
	// maxRetry bounds the attempts for one record (about 2.5 min at the cap).
	maxRetry = 30
)

// Options configure a Forwarder.
type Options struct {
	// Network is tcp or unix.
	Network string
	// Address is host:port for tcp, the socket path for unix.
	Address string
	// Tag tags every record (loggingSettings servicename).
	Tag string
	// Buffer is the number of records kept while the endpoint is down;
	// 0 means DefaultBuffer.
	Buffer int
	// Warn receives the forwarder's own warnings (drops); it must not
	// forward. Nil discards them.
	Warn *slog.Logger
	// writeTimeout replaces the bound of one write (tests).
	writeTimeout time.Duration
}

// Forwarder sends records to one forward-protocol endpoint.
type Forwarder struct {
	f      *fluent.Fluent
	tag    string
	drops  *drops
	closed atomic.Bool
}

// New starts a forwarder; it connects in the background.
func New(o Options) (*Forwarder, error) {
	cfg := fluent.Config{
		Async:              true,
		BufferLimit:        o.Buffer,
		SubSecondPrecision: true,
		Timeout:            dialTimeout,
		WriteTimeout:       writeTimeout,
		RetryWait:          retryWait,
		MaxRetryWait:       maxRetryWait,
		MaxRetry:           maxRetry,
	}
	if cfg.BufferLimit <= 0 {
		cfg.BufferLimit = DefaultBuffer
	}
	if o.writeTimeout > 0 {
		cfg.WriteTimeout = o.writeTimeout
	}
	switch o.Network {
	case "tcp":
		host, port, err := net.SplitHostPort(o.Address)
		if err != nil {
			return nil, fmt.Errorf("log forwarding endpoint %q: %w", o.Address, err)
		}
		if cfg.FluentPort, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("log forwarding endpoint %q: port: %w", o.Address, err)
		}
		// The library joins host and port with a colon: bracket IPv6.
		if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
			host = "[" + host + "]"
		}
		cfg.FluentNetwork, cfg.FluentHost = "tcp", host
	case "unix":
		cfg.FluentNetwork, cfg.FluentSocketPath = "unix", o.Address
	default:
		return nil, fmt.Errorf("log forwarding network %q: use tcp or unix", o.Network)
	}
	warn := o.Warn
	if warn == nil {
		warn = slog.New(slog.DiscardHandler)
	}
	fw := &Forwarder{tag: o.Tag, drops: newDrops(warn, o.Network+"://"+o.Address, cfg.BufferLimit)}
	cfg.AsyncResultCallback = func(_ []byte, err error) { fw.drops.sent(err) }
	f, err := fluent.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("log forwarding: %w", err)
	}
	fw.f = f
	return fw, nil
}

// post queues one record; it never blocks on the endpoint.
func (fw *Forwarder) post(t time.Time, record map[string]any) {
	if fw.closed.Load() {
		return
	}
	fw.drops.posted()
	if err := fw.f.EncodeAndPostData(fw.tag, t, record); err != nil {
		if fw.closed.Load() {
			return // Close came between the check and the post
		}
		fw.drops.dropped(fmt.Errorf("the buffer of %d records is full: %w", fw.drops.buffer, err))
	}
}

// Dropped is the number of records dropped so far.
func (fw *Forwarder) Dropped() uint64 { return fw.drops.total() }

// Close stops forwarding, sending what is queued for at most timeout.
// Records still queued then are lost, and the error says how many.
func (fw *Forwarder) Close(timeout time.Duration) error {
	if fw.closed.Swap(true) {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- fw.f.Close() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("close log forwarding: %w", err)
		}
	case <-time.After(timeout):
		// The library's goroutine keeps trying until the process exits.
		return fmt.Errorf("log forwarding to %s: %d records were not delivered within %s",
			fw.drops.endpoint, fw.drops.queued(), timeout)
	}
	return nil
}
