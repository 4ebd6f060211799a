package transport

import (
	"fmt"
	"io"
	"net/http"
	"sync"
)

// TooLargeError is a response body larger than akvvm reads from a service.
// Nothing beyond the limit is read: a Content-Length above it is refused
// before the body is read, any other body once it passes the limit.
type TooLargeError struct {
	// Host is the host that sent the response.
	Host string
	// Status is the response's HTTP status.
	Status int
	// Limit is the most akvvm reads, in bytes.
	Limit int64
	// Length is the response's Content-Length, or -1 when it sent none.
	Length int64
	// Service names what Host stands for and why the limit is ample, such
	// as "Key Vault (a secret value is at most 25 KB)".
	Service string
}

// Error reads like "myvault.vault.azure.net answered with more than 1 MiB
// (Content-Length 209715200); akvvm reads at most 1 MiB from Key Vault (a
// secret value is at most 25 KB), so it refused the answer".
func (e *TooLargeError) Error() string {
	length := ""
	if e.Length >= 0 {
		length = fmt.Sprintf(" (Content-Length %d)", e.Length)
	}
	return fmt.Sprintf("%s answered with more than %s%s; akvvm reads at most %s from %s, so it refused the answer",
		e.Host, FormatSize(e.Limit), length, FormatSize(e.Limit), e.Service)
}

// NonRetriable tells azcore's retry policy not to retry: the same request
// gets the same answer.
func (e *TooLargeError) NonRetriable() {}

// FormatSize renders n bytes as "1 MiB", "64 KiB" or "512 bytes".
func FormatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// LimitBody bounds resp's body to limit bytes: it returns a TooLargeError
// at once (closing the body) when the Content-Length is above limit, and
// otherwise wraps the body so that reading past limit fails with one.
// service is as in TooLargeError.
func LimitBody(resp *http.Response, limit int64, service string) error {
	tooLarge := &TooLargeError{Status: resp.StatusCode, Limit: limit, Length: resp.ContentLength, Service: service}
	if resp.Request != nil && resp.Request.URL != nil {
		tooLarge.Host = resp.Request.URL.Host
	}
	if resp.ContentLength > limit {
		_ = resp.Body.Close()
		return tooLarge
	}
	resp.Body = &limitedBody{body: resp.Body, left: limit, err: tooLarge}
	return nil
}

// limitedBody fails with err once more than its limit is read.
type limitedBody struct {
	mu   sync.Mutex
	body io.ReadCloser
	left int64 // bytes still allowed
	err  *TooLargeError
}

// Read reads at most one byte beyond the limit, which tells a body of
// exactly the limit from a longer one.
func (b *limitedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left < 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.err // the bytes beyond the limit are not handed on
	}
	return n, err
}

// Close closes the body.
func (b *limitedBody) Close() error { return b.body.Close() }
