package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// activationDelayExample is the form the hints suggest for activationDelayInS.
const activationDelayExample = `Write the seconds as a string, such as "3600" (one hour), or "0" for no delay.`

// activationDelay reads the akvvm extension field activationDelayInS: a
// whole number of seconds, 0 or more, as a string or a JSON number.
func (r *report) activationDelay(v any, path string) (time.Duration, bool) {
	var text string
	switch t := v.(type) {
	case json.Number:
		text = t.String()
	case string:
		text = strings.TrimSpace(t)
	default:
		r.add(path, "must be a number of seconds, but is "+describe(v), activationDelayExample)
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(text, 64); ferr == nil && f == float64(int64(f)) {
			n, err = int64(f), nil
		}
	}
	switch {
	case err != nil:
		r.add(path, "must be a whole number of seconds (0 or more), but is "+describe(v), activationDelayExample)
		return 0, false
	case n < 0:
		r.add(path, fmt.Sprintf("is %d seconds; a delay cannot be negative", n), activationDelayExample)
		return 0, false
	case n > maxSeconds:
		r.add(path, fmt.Sprintf("is %d seconds, more than akvvm can wait (about 292 years)", n), activationDelayExample)
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// parseActivationDelay reads activationDelayInS of a certificate entry o
// into c, over the default from secretsManagementSettings. A pinned
// version is installed as pinned, so a delay of its own would do nothing.
func parseActivationDelay(o *object, path string, c *Certificate, r *report) {
	v := o.vals["activationDelayInS"]
	if v == nil {
		return
	}
	p := field(path, "activationDelayInS")
	d, ok := r.activationDelay(v, p)
	if !ok {
		return
	}
	if c.URL.Version != "" && d > 0 {
		r.add(p, fmt.Sprintf("has no effect: the url pins version %s, which is installed as pinned", c.URL.Version),
			"Remove activationDelayInS, or the version from the url to follow the newest version with a delay.")
		return
	}
	c.ActivationDelay = d
}
