package handler

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Log rotation limits: the log folder is shared with the guest agent's
// other extensions, so akvvm keeps at most about 60 MB per log.
const (
	logMaxSizeMB  = 10
	logMaxBackups = 5
	logMaxAgeDays = 30
)

// NewLogger returns a JSON logger writing to file in logFolder, rotated,
// and a closer for the file. When also is set, records go there too as
// text (the guest agent and systemd keep a command's output).
func NewLogger(logFolder, file string, level slog.Level, also io.Writer) (*slog.Logger, io.Closer, error) {
	opts := &slog.HandlerOptions{Level: level}
	var extra []slog.Handler
	if also != nil {
		extra = append(extra, slog.NewTextHandler(also, opts))
	}
	if logFolder == "" {
		return slog.New(slog.NewMultiHandler(append(extra, slog.NewJSONHandler(os.Stderr, opts))...)), io.NopCloser(nil), nil
	}
	if err := os.MkdirAll(logFolder, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create the log folder: %w", err)
	}
	w := &lumberjack.Logger{
		Filename:   filepath.Join(logFolder, file),
		MaxSize:    logMaxSizeMB,
		MaxBackups: logMaxBackups,
		MaxAge:     logMaxAgeDays,
	}
	return slog.New(slog.NewMultiHandler(append(extra, slog.NewJSONHandler(w, opts))...)), w, nil
}
