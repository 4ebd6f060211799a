package emulator

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// maxDateSkew bounds the skew of the vaults' Date header.
const maxDateSkew = 24 * time.Hour

// DateSkewRequest is the body of a set-date-skew admin request.
type DateSkewRequest struct {
	// Skew is added to the emulator's clock in the Date header of every
	// vault answer; negative puts the vault behind. Zero sends the true time.
	Skew Duration `json:"skew"`
}

// SetDateSkew shifts the Date header of every vault answer by d, as seen
// from a machine whose clock is off by -d. Tokens and expiry checks keep
// the true time: only what a client reads from Date changes.
func (e *Emulator) SetDateSkew(d time.Duration) error {
	if d < -maxDateSkew || d > maxDateSkew {
		return fmt.Errorf("date skew %s is out of range: use at most %s either way", d, maxDateSkew)
	}
	e.dateSkew.Store(int64(d))
	if d != 0 {
		e.log.Info("emulator date skew set", "skew", d.String())
	}
	return nil
}

// DateSkew returns the shift of the vaults' Date header.
func (e *Emulator) DateSkew() time.Duration { return time.Duration(e.dateSkew.Load()) }

// setDate writes the skewed Date header when a skew is set; net/http
// keeps a Date the handler set.
func (e *Emulator) setDate(h http.Header) {
	if d := e.DateSkew(); d != 0 {
		h.Set("Date", e.now().Add(d).UTC().Format(http.TimeFormat))
	}
}

// handleDateSkew registers PUT /_emulator/date-skew.
func (e *Emulator) handleDateSkew(m *http.ServeMux) {
	m.HandleFunc("PUT "+adminPrefix+"date-skew", adminCall(func(_ *http.Request, req DateSkewRequest) (any, error) {
		return nil, e.SetDateSkew(time.Duration(req.Skew))
	}))
}

// SetDateSkew shifts the Date header of the emulator's vault answers.
func (c *AdminClient) SetDateSkew(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPut, "date-skew", DateSkewRequest{Skew: Duration(d)}, nil)
}
