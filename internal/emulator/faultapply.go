package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// applyFault acts out f on a request; next serves the request for real.
// imds selects the identity endpoint's error body shape.
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, f Fault, imds bool, next http.Handler) {
	switch f.Kind {
	case FaultStatus:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		code, msg := f.Code, f.Message
		if msg == "" {
			msg = fmt.Sprintf("Injected fault %s: HTTP %d.", f.ID, f.Status)
		}
		if imds {
			if code == "" {
				code = "fault_injected"
			}
			writeIMDSError(w, f.Status, code, msg)
			return
		}
		if code == "" {
			code = defaultErrorCode(f.Status)
		}
		writeAPIError(w, &apiError{status: f.Status, code: code, message: msg, inner: f.InnerCode})
	case FaultReset:
		resetConnection(w, r)
	case FaultDelay:
		t := time.NewTimer(time.Duration(f.Delay))
		defer t.Stop()
		select {
		case <-t.C:
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
			// The client gave up: close the connection so that no
			// response (not even net/http's implicit empty 200) is sent.
			closeConnection(w, r)
		}
	case FaultStall:
		<-r.Context().Done() // the client gave up, or the emulator stops
		closeConnection(w, r)
	case FaultTruncate:
		rec := newBufferWriter()
		next.ServeHTTP(rec, r)
		if r.ProtoMajor >= 2 {
			writeTruncatedH2(w, r, rec)
			return
		}
		writeTruncated(w, rec)
	case FaultRedirect:
		code := f.Status
		if code == 0 {
			code = http.StatusFound
		}
		w.Header().Set("Location", f.Location)
		w.WriteHeader(code)
	case FaultValue:
		rec := newBufferWriter()
		next.ServeHTTP(rec, r)
		writeReplacedValue(w, rec, f)
	case FaultMalformed:
		rec := newBufferWriter()
		next.ServeHTTP(rec, r)
		copyHeader(w.Header(), rec.header)
		body := []byte(`{"value":[{"id": <malformed by the emulator`)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.code())
		_, _ = w.Write(body)
	}
}

// writeReplacedValue sends rec with its secret value replaced by f.Value
// (when set) and padded with newlines to f.PadTo bytes. An answer that is
// not a secret bundle (an error) is sent unchanged.
func writeReplacedValue(w http.ResponseWriter, rec *bufferWriter, f Fault) {
	var bundle map[string]any
	if rec.code() != http.StatusOK || json.Unmarshal(rec.body.Bytes(), &bundle) != nil {
		copyHeader(w.Header(), rec.header)
		w.WriteHeader(rec.code())
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	value, _ := bundle["value"].(string)
	if f.Value != "" {
		value = f.Value
	}
	if pad := f.PadTo - len(value); pad > 0 {
		value += strings.Repeat("\n", pad)
	}
	bundle["value"] = value
	body, err := json.Marshal(bundle)
	if err != nil {
		http.Error(w, "fault: "+err.Error(), http.StatusInternalServerError)
		return
	}
	copyHeader(w.Header(), rec.header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// resetConnection closes the client connection with a TCP RST. An HTTP/2
// connection carries other requests too, which fail with it, as they do
// when a middlebox resets the connection to Key Vault.
func resetConnection(w http.ResponseWriter, r *http.Request) {
	conn, err := takeConn(w, r)
	if err != nil {
		http.Error(w, "fault: connection cannot be reset", http.StatusInternalServerError)
		return
	}
	if tcp := underlyingTCP(conn); tcp != nil {
		_ = tcp.SetLinger(0)
		if r.ProtoMajor >= 2 {
			// No TLS close_notify first: the client would read a clean
			// end of the connection rather than the reset.
			_ = tcp.Close()
			return
		}
	}
	_ = conn.Close()
}

// closeConnection closes the client connection without writing a response.
// Over HTTP/2 the client has reset the stream already, and nothing is sent
// when the handler returns.
func closeConnection(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor >= 2 {
		return
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// takeConn returns the connection of the request for the handler to close:
// hijacked over HTTP/1.1, from the request context over HTTP/2 (where the
// server still owns it).
func takeConn(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
	if r.ProtoMajor < 2 {
		conn, _, err := http.NewResponseController(w).Hijack()
		return conn, err
	}
	if conn := requestConn(r); conn != nil {
		return conn, nil
	}
	return nil, errors.New("no connection in the request context")
}

// underlyingTCP finds the TCP connection below a (TLS) connection.
func underlyingTCP(c net.Conn) *net.TCPConn {
	for {
		switch t := c.(type) {
		case *net.TCPConn:
			return t
		case interface{ NetConn() net.Conn }:
			c = t.NetConn()
		default:
			return nil
		}
	}
}

// writeTruncated sends rec's status and headers with the full Content-Length
// but only half the body, then closes the connection.
func writeTruncated(w http.ResponseWriter, rec *bufferWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "fault: connection cannot be hijacked", http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	body := rec.body.Bytes()
	h := rec.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	writeRawResponse(buf.Writer, rec.code(), h, body[:len(body)/2])
	_ = buf.Flush()
}

func writeRawResponse(bw *bufio.Writer, code int, h http.Header, body []byte) {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	_ = h.Write(bw)
	_, _ = bw.WriteString("\r\n")
	_, _ = bw.Write(body)
}

// truncateGrace is how long an HTTP/2 truncate fault lets the server write
// what it flushed before it closes the connection.
const truncateGrace = 100 * time.Millisecond

// writeTruncatedH2 sends rec's status and headers with the full
// Content-Length but only half the body, then closes the connection, as a
// proxy that drops the connection mid-answer would: every request on the
// connection fails with it.
func writeTruncatedH2(w http.ResponseWriter, r *http.Request, rec *bufferWriter) {
	body := rec.body.Bytes()
	copyHeader(w.Header(), rec.header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.code())
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	// The server writes DATA frames from its own goroutine: give it time to
	// put them on the wire before the connection goes.
	time.Sleep(truncateGrace)
	if conn := requestConn(r); conn != nil {
		_ = conn.Close()
	}
}

// bufferWriter is an http.ResponseWriter that keeps the response in memory.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferWriter() *bufferWriter { return &bufferWriter{header: http.Header{}} }

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferWriter) code() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}
