package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/identity"
)

// checkEndpoint dials the identity endpoint; it reports whether it answered.
func (d *doctor) checkEndpoint(ctx context.Context) bool {
	raw := d.opts.Settings.Identity.Endpoint
	if raw == "" {
		raw = identity.DefaultEndpoint
	}
	check := "identity endpoint " + raw
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: "not a URL with a host", Fix: "set msiEndpoint to a URL such as " + identity.DefaultEndpoint})
		return false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	dial, via := addr, ""
	if r, ok := d.opts.Transport.RouteFor(addr); ok {
		dial, via = r.Addr, " (routed by --connect-to to "+r.Addr+")"
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := d.now()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", dial)
	if err != nil {
		d.rep.Add(Result{Outcome: Fail, Check: check, Detail: "not reachable" + via + ": " + dialError(err), Fix: endpointFix(raw)})
		return false
	}
	_ = conn.Close()
	d.rep.Add(Result{Outcome: Pass, Check: check, Detail: fmt.Sprintf("reachable%s, connected in %s", via, d.now().Sub(start).Round(time.Millisecond))})
	return true
}

// endpointFix says what to check when the identity endpoint is unreachable.
func endpointFix(endpoint string) string {
	if strings.HasPrefix(endpoint, "http://169.254.169.254") {
		return "Is this an Azure VM? IMDS (169.254.169.254) must be reachable directly, without a proxy or a firewall rule blocking it; on an Azure Arc machine set msiEndpoint to http://localhost:40342/metadata/identity"
	}
	return "Check msiEndpoint is right and the service behind it (IMDS or the Azure Arc agent, himds) is running"
}

// dialError shortens a dial error to its cause.
func dialError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within 5 s"
	}
	return err.Error()
}
