package transport

import "net"

// RouteFor returns the route that applies to addr ("host:port"), if any.
// Diagnostics use it to say a name is routed instead of resolved.
func (o Options) RouteFor(addr string) (Route, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Route{}, false
	}
	for _, r := range o.Routes {
		if r.matches(host, port) {
			return r, true
		}
	}
	return Route{}, false
}
