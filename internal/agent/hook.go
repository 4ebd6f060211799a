package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// hookOutputLimit bounds the command output kept for an error message.
const hookOutputLimit = 2048

// runHook runs the reload command after a new version was installed. The
// command gets the new version's details in its environment.
func runHook(ctx context.Context, h Hook, e Event) error {
	if len(h.Command) == 0 {
		return nil
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = hookEnv(e)
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: hookOutputLimit}
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("reload command %q did not finish within %s and was stopped", h.Command[0], timeout)
	}
	msg := strings.TrimSpace(out.String())
	if msg != "" {
		return fmt.Errorf("reload command %q failed: %w: %s", h.Command[0], err, msg)
	}
	return fmt.Errorf("reload command %q failed: %w", h.Command[0], err)
}

// hookEnv is the reload command's environment: the process's, and the new
// version's details. A plain secret's command learns its name and file,
// never its value.
func hookEnv(e Event) []string {
	env := append(os.Environ(), "AKVVM_VAULT="+e.Cert.Vault, "AKVVM_VERSION="+e.Installed.Version, "AKVVM_LOCATION="+e.Installed.Location)
	if e.Cert.IsSecret() {
		env = append(env, "AKVVM_KIND=secret", "AKVVM_SECRET="+e.Cert.Name, "AKVVM_PATH="+e.Installed.Location)
		if e.Previous != nil {
			env = append(env, "AKVVM_PREVIOUS_VERSION="+e.Previous.Version)
		}
	} else {
		env = append(env, "AKVVM_CERTIFICATE="+e.Cert.Name, "AKVVM_THUMBPRINT="+e.Installed.Thumbprint,
			"AKVVM_NOT_AFTER="+e.Installed.NotAfter.UTC().Format(time.RFC3339))
		if e.Previous != nil {
			env = append(env, "AKVVM_PREVIOUS_VERSION="+e.Previous.Version, "AKVVM_PREVIOUS_THUMBPRINT="+e.Previous.Thumbprint)
		}
	}
	if e.Rollback {
		env = append(env, "AKVVM_ROLLBACK=1")
	}
	return env
}

// limitedWriter keeps the first n bytes and discards the rest.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
