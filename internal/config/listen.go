package config

import (
	"fmt"
	"net"
	"strconv"
)

// CheckListenAddress checks a metrics listen address: HOST:PORT with an IP
// address or localhost as host and a port from 1 to 65535. An empty host
// (":9464", every interface) is refused: 0.0.0.0:9464 says so explicitly.
func CheckListenAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT, such as 127.0.0.1:9464: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host: write 127.0.0.1%s for this machine only, or 0.0.0.0%s if every interface is really meant", addr, ":"+port, ":"+port)
	}
	if host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: the host must be an IP address or localhost, such as 127.0.0.1:9464", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 1 to 65535", addr)
	}
	return nil
}

// IsLoopback reports whether a listen address CheckListenAddress accepted
// is reachable from this machine only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// metricsListen reads the optional akvvm extension field metricsListen.
func metricsListen(o *object, path string, r *report) string {
	v := o.vals["metricsListen"]
	if v == nil {
		return ""
	}
	p := field(path, "metricsListen")
	s, ok := r.asString(v, p)
	if !ok {
		return ""
	}
	if err := CheckListenAddress(s); err != nil {
		r.add(p, err.Error(), `Write an address such as "127.0.0.1:9464", or remove the field to serve no metrics.`)
		return ""
	}
	return s
}
