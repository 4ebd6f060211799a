package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyFunc says whether the agent is ready and, either way, why.
type ReadyFunc func() (ok bool, why string)

// Handler serves /metrics, /healthz (200 while the process lives) and
// /readyz (200 when ready says so, else 503; the body says why).
func (m *Metrics) Handler(ready ReadyFunc) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := ready()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, "not ready: "+why)
			return
		}
		_, _ = fmt.Fprintln(w, "ready: "+why)
	})
	return mux
}

// Serve listens on addr (checked by config.CheckListenAddress) and serves
// Handler until ctx ends. It returns once listening, or the listen error.
func (m *Metrics) Serve(ctx context.Context, addr string, ready ReadyFunc, log *slog.Logger) error {
	if err := config.CheckListenAddress(addr); err != nil {
		return fmt.Errorf("metrics listen address: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	if !config.IsLoopback(addr) {
		log.Warn("metrics and health are served beyond this machine, without authentication", "address", ln.Addr().String())
	}
	srv := &http.Server{Handler: m.Handler(ready), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("serving metrics and health", "address", ln.Addr().String(), "paths", "/metrics /healthz /readyz")
	return nil
}
