// Package control lets akvvm sync --now ask the running service for an
// immediate pass, one JSON line each way: over a Unix socket in the state
// directory on Linux, over a named pipe named after the state directory on
// Windows.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// SocketName is the control socket's file name in the state directory.
const SocketName = "akvvm.sock"

// opSyncNow is the only request: check every certificate now.
const opSyncNow = "sync-now"

// maxLine bounds a request line.
const maxLine = 4096

// request is what the client sends.
type request struct {
	Op string `json:"op"`
	// NoWait asks for the pass without waiting for it: the answer comes
	// once the pass is queued.
	NoWait bool `json:"noWait,omitempty"`
}

// response is what the service answers.
type response struct {
	Status *agent.Status `json:"status,omitempty"`
	Queued bool          `json:"queued,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// SocketPath returns the control socket of stateDir.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// NoServiceError says that no service answers at a state directory.
type NoServiceError struct {
	StateDir string
	Err      error
}

func (e *NoServiceError) Error() string {
	return fmt.Sprintf("no running akvvm service uses state directory %s (is it started? give --state-dir): %v", e.StateDir, e.Err)
}

func (e *NoServiceError) Unwrap() error { return e.Err }

// Service is what the control socket reaches: an agent, or the
// handler's service around it.
type Service interface {
	// SyncNow runs an immediate pass and returns the status at its end.
	SyncNow(ctx context.Context) (agent.Status, error)
	// RequestSync queues an immediate pass without waiting for it.
	RequestSync() error
}

// Serve answers requests on l until ctx ends, then closes l. Each
// connection is served on its own; a peer that is not allowed (on Linux
// another user than the service's or root) is refused.
func Serve(ctx context.Context, l net.Listener, svc Service, log *slog.Logger) {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				log.Error("the control socket failed; akvvm sync --now cannot reach this service until it restarts", "error", err)
			}
			return
		}
		go serveConn(ctx, c, svc, log)
	}
}

func serveConn(ctx context.Context, c net.Conn, svc Service, log *slog.Logger) {
	defer c.Close()
	if err := allowed(c); err != nil {
		log.Warn("refused a control connection", "error", err)
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, maxLine)).ReadBytes('\n')
	if err != nil {
		log.Warn("a control request could not be read", "error", err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var req request
	var resp response
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = fmt.Sprintf("the request is not valid JSON: %v", err)
	} else if req.Op != opSyncNow {
		resp.Error = fmt.Sprintf("unknown request %q", req.Op)
	} else if req.NoWait {
		log.Info("an immediate pass was asked for")
		if err := svc.RequestSync(); err != nil {
			resp.Error = err.Error()
		} else {
			resp.Queued = true
		}
	} else {
		// The pass ends when the client goes away or the service stops.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			_, _ = io.Copy(io.Discard, c) // returns when the client closes
			cancel()
		}()
		log.Info("akvvm sync --now asked for an immediate pass")
		st, err := svc.SyncNow(ctx)
		if err != nil {
			resp.Error = err.Error()
		} else {
			resp.Status = &st
		}
	}
	if err := json.NewEncoder(c).Encode(resp); err != nil {
		log.Warn("could not answer a control request", "error", err)
	}
}

// SyncNow asks the service using stateDir to check every certificate now
// and returns the status at the end of that pass.
func SyncNow(ctx context.Context, stateDir string) (agent.Status, error) {
	resp, err := ask(ctx, stateDir, request{Op: opSyncNow})
	if err != nil {
		return agent.Status{}, err
	}
	if resp.Status == nil {
		return agent.Status{}, errors.New("the service answered without a status")
	}
	return *resp.Status, nil
}

// RequestSync asks the service using stateDir to check every certificate
// now and returns once the pass is queued.
func RequestSync(ctx context.Context, stateDir string) error {
	resp, err := ask(ctx, stateDir, request{Op: opSyncNow, NoWait: true})
	if err == nil && !resp.Queued {
		err = errors.New("the service did not queue the pass")
	}
	return err
}

// ask sends req to the service using stateDir and returns its answer.
func ask(ctx context.Context, stateDir string, req request) (response, error) {
	c, err := dial(ctx, stateDir)
	if err != nil {
		return response{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return response{}, fmt.Errorf("send the request to %s: %w", endpoint(stateDir), err)
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		return response{}, fmt.Errorf("read the answer of the service at %s (did it stop?): %w", endpoint(stateDir), err)
	}
	if resp.Error != "" {
		return response{}, fmt.Errorf("the service at %s: %s", endpoint(stateDir), resp.Error)
	}
	return resp, nil
}
