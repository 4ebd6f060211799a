package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Log forwarding defaults, as fluentd's own.
const (
	// DefaultLogEndpoint is fluentd's forward input on this machine.
	DefaultLogEndpoint = "tcp://localhost:24224"
	// DefaultLogTag is the tag of forwarded records without a servicename.
	DefaultLogTag = "akvvm"
)

// Forwarding reports whether records are forwarded (logger is fluentd).
func (l *Logging) Forwarding() bool {
	return l != nil && strings.EqualFold(l.Logger, "fluentd")
}

// Tag is the tag of forwarded records: the servicename, or akvvm.
func (l *Logging) Tag() string {
	if l == nil || l.ServiceName == "" {
		return DefaultLogTag
	}
	return l.ServiceName
}

// Address is the network (tcp or unix) and address of the endpoint.
func (l *Logging) Address() (network, address string, err error) {
	e := DefaultLogEndpoint
	if l != nil && l.Endpoint != "" {
		e = l.Endpoint
	}
	return ParseLogEndpoint(e)
}

// ParseLogEndpoint splits tcp://HOST:PORT or unix:///PATH into a network
// and an address.
func ParseLogEndpoint(s string) (network, address string, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", "", fmt.Errorf("%q has no scheme: use tcp://HOST:PORT or unix:///PATH", s)
	}
	switch strings.ToLower(scheme) {
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return "", "", fmt.Errorf("%q is not tcp://HOST:PORT: %w", s, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("%q: the port %q is not a number from 1 to 65535", s, port)
		}
		if host == "" || strings.ContainsAny(host, "/?#@ ") {
			return "", "", fmt.Errorf("%q: %q is not a host name or address", s, host)
		}
		return "tcp", net.JoinHostPort(host, port), nil
	case "unix":
		if !strings.HasPrefix(rest, "/") {
			return "", "", fmt.Errorf("%q: the socket path must be absolute, as in unix:///var/run/fluentd.sock", s)
		}
		return "unix", rest, nil
	default:
		return "", "", fmt.Errorf("%q: the scheme %q is not tcp or unix", s, scheme)
	}
}

// checkLogging reports the problems of loggingSettings at path.
func checkLogging(l *Logging, path string, r *report) {
	switch {
	case l.Logger == "" && l.Endpoint == "" && l.Format == "" && l.ServiceName == "":
		return // an empty object: no forwarding
	case !l.Forwarding():
		what := fmt.Sprintf("is %q", l.Logger)
		if l.Logger == "" {
			what = "is missing"
		}
		r.add(field(path, "logger"), what+"; akvvm forwards logs only to fluentd",
			`Use "logger": "fluentd" (with "endpoint": "tcp://localhost:24224"), or remove loggingSettings.`)
		return
	}
	if l.Format != "" && !strings.EqualFold(l.Format, "forward") {
		r.add(field(path, "format"), fmt.Sprintf("is %q; akvvm speaks only fluentd's forward protocol", l.Format),
			`Use "format": "forward", or leave it out.`)
	}
	if l.Endpoint != "" {
		if _, _, err := ParseLogEndpoint(l.Endpoint); err != nil {
			r.add(field(path, "endpoint"), err.Error(),
				`Use the address of fluentd's or Fluent Bit's forward input, such as "tcp://localhost:24224" or "unix:///var/run/fluentd/fluentd.sock".`)
		}
	}
	if t := l.ServiceName; t != "" && (len(t) > 128 || strings.ContainsFunc(t, func(c rune) bool { return c <= ' ' || c == 0x7f })) {
		r.add(field(path, "servicename"), fmt.Sprintf("%q is not a fluentd tag", t),
			`Use a short tag without spaces, such as "akvvm_service" (records are tagged with it).`)
	}
}
