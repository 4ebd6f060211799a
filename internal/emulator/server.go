package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// newHTTPSServer serves h over TLS with cert, as Key Vault does: HTTP/2
// and HTTP/1.1 offered by ALPN, or HTTP/1.1 alone when http1Only is set.
// Every connection and handshake is counted in stats.
func newHTTPSServer(h http.Handler, cert tls.Certificate, log *slog.Logger, http1Only bool, stats *connStats) *http.Server {
	s := newHTTPServer(h, log)
	if !http1Only {
		s.Protocols.SetHTTP2(true)
	}
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		VerifyConnection: stats.verifyConnection}
	s.ConnState = stats.connState
	s.ConnContext = withConn
	return s
}

// newHTTPServer serves h over HTTP/1.1.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	return &http.Server{
		Handler:           h,
		Protocols:         p,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// serve runs s on ln in the background until shutdown.
func (e *Emulator) serve(s *http.Server, ln net.Listener, useTLS bool) {
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		var err error
		if useTLS {
			err = s.ServeTLS(ln, "", "")
		} else {
			err = s.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("emulator listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

func shutdown(s *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		if cerr := s.Close(); cerr != nil {
			return fmt.Errorf("stop emulator server: %w", errors.Join(err, cerr))
		}
	}
	return nil
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for hijacking).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// httpsHandler routes the admin API and the vaults.
func (e *Emulator) httpsHandler() http.Handler {
	admin := e.adminHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, adminPrefix) {
			sw := &statusWriter{ResponseWriter: w}
			start := time.Now()
			admin.ServeHTTP(sw, r)
			e.log.Debug("emulator admin request", "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "duration", time.Since(start))
			return
		}
		e.serveVault(w, r)
	})
}

// hostName strips the port from a Host header value.
func hostName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// requestRecord collects what the request log keeps about one request.
type requestRecord struct {
	vault, op, clientID string
	// selector is the query parameter that named the identity of a token
	// request: client_id, object_id or msi_res_id.
	selector string
}

// finish logs and counts a request.
func (e *Emulator) finish(r *http.Request, sw *statusWriter, rec *requestRecord, start time.Time) {
	entry := Request{
		Time:     start,
		Vault:    rec.vault,
		Op:       rec.op,
		Method:   r.Method,
		Path:     r.URL.Path,
		Status:   sw.status,
		ClientID: rec.clientID,
		Selector: rec.selector,
	}
	e.reqlog.add(entry)
	if e.cfg.OnRequest != nil {
		e.cfg.OnRequest(entry)
	}
	e.log.Debug("emulator request", "vault", entry.Vault, "op", entry.Op, "method", entry.Method,
		"path", entry.Path, "status", entry.Status, "client_id", entry.ClientID, "selector", entry.Selector, "duration", time.Since(start))
}
