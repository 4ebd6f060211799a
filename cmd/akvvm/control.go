package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/akvvm/akvvm/internal/control"
)

// serveControl lets akvvm sync --now reach a through the control socket
// (Windows: named pipe) of stateDir until ctx ends; the returned closer
// removes it. Without one the service runs on and logs why.
func serveControl(ctx context.Context, stateDir string, a control.Service, log *slog.Logger) io.Closer {
	l, err := control.Listen(stateDir)
	if err != nil {
		log.Error("no control socket: akvvm sync --now cannot reach this service; it polls as usual", "error", err)
		return io.NopCloser(nil)
	}
	go control.Serve(ctx, l, a, log)
	return l
}
