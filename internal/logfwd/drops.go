package logfwd

import (
	"log/slog"
	"sync"
	"time"
)

// warnEvery spaces the warnings about dropped records.
const warnEvery = time.Minute

// drops counts queued, sent and dropped records and warns about drops:
// at the first drop, then at most once every warnEvery, and once when
// records are delivered again.
type drops struct {
	warn     *slog.Logger
	endpoint string
	buffer   int
	now      func() time.Time

	mu         sync.Mutex
	inQueue    int64  // posted and not yet sent or dropped
	all        uint64 // dropped since the start
	unreported uint64 // dropped since the last warning
	sinceOK    uint64 // dropped since the last delivery
	lastWarn   time.Time
}

func newDrops(warn *slog.Logger, endpoint string, buffer int) *drops {
	return &drops{warn: warn, endpoint: endpoint, buffer: buffer, now: time.Now}
}

// posted counts a record handed to the library.
func (d *drops) posted() {
	d.mu.Lock()
	d.inQueue++
	d.mu.Unlock()
}

// sent records the library's result for one queued record.
func (d *drops) sent(err error) {
	if err != nil {
		d.dropped(err)
		return
	}
	d.mu.Lock()
	d.inQueue--
	lost := d.sinceOK
	d.sinceOK = 0
	d.unreported = 0
	d.mu.Unlock()
	if lost > 0 {
		d.warn.Warn("log forwarding delivers again; records were dropped while the endpoint could not take them",
			"endpoint", d.endpoint, "dropped", lost)
	}
}

// dropped counts one lost record and warns when it is time to.
func (d *drops) dropped(cause error) {
	d.mu.Lock()
	d.inQueue--
	d.all++
	d.unreported++
	d.sinceOK++
	now := d.now()
	report := d.lastWarn.IsZero() || now.Sub(d.lastWarn) >= warnEvery
	n, all := d.unreported, d.all
	if report {
		d.lastWarn, d.unreported = now, 0
	}
	d.mu.Unlock()
	if report {
		d.warn.Warn("log forwarding dropped records; they are still in this log",
			"endpoint", d.endpoint, "dropped", n, "droppedTotal", all, "cause", cause.Error())
	}
}

// total is the number of records dropped since the start.
func (d *drops) total() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.all
}

// queued is the number of records not yet sent or dropped.
func (d *drops) queued() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inQueue
}
