//go:build !linux

package fleet

import "time"

// realNow is the clock; outside Linux the simulation's real times are
// not measured apart from virtual time.
func realNow() time.Time { return time.Now() }

// cpuTime is not measured outside Linux.
func cpuTime() time.Duration { return 0 }

// maxRSS is not measured outside Linux.
func maxRSS() int64 { return 0 }
