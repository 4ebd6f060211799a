package handler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/akvvm/akvvm/internal/fsutil"
)

// HeartbeatInterval is how often the service rewrites the heartbeat and
// status files. The guest agent calls a handler unresponsive when the
// heartbeat is older than 600 s, so a minute leaves ample margin.
const HeartbeatInterval = time.Minute

type heartbeat struct {
	Version   float64       `json:"version"`
	Heartbeat heartbeatBody `json:"heartbeat"`
}

type heartbeatBody struct {
	Status           string  `json:"status"`
	Code             int     `json:"code"`
	FormattedMessage Message `json:"formattedMessage"`
}

// The guest agent's handler status values a heartbeat may carry.
const (
	HeartbeatReady    = "Ready"
	HeartbeatNotReady = "NotReady"
)

// WriteHeartbeat writes the heartbeat file: status "Ready" while the
// service runs, with msg as the handler message.
func WriteHeartbeat(path, msg string) error {
	return WriteHeartbeatStatus(path, HeartbeatReady, msg)
}

// WriteHeartbeatStatus writes the heartbeat file with status (HeartbeatReady
// or HeartbeatNotReady) and msg as the handler message.
func WriteHeartbeatStatus(path, status, msg string) error {
	if path == "" {
		return nil
	}
	code := 0
	if status != HeartbeatReady {
		code = 1
	}
	data, err := json.MarshalIndent([]heartbeat{{Version: 1.0, Heartbeat: heartbeatBody{
		Status: status, Code: code, FormattedMessage: Message{Lang: "en-US", Message: truncate(msg, maxMessage)},
	}}}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the heartbeat: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the heartbeat folder: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the heartbeat file: %w", err)
	}
	return nil
}

// ReadHeartbeat returns the status and message of the heartbeat file,
// refusing a link.
func ReadHeartbeat(path string) (status, msg string, err error) {
	data, err := fsutil.ReadFile(path, fsutil.MaxReadSize)
	if err != nil {
		return "", "", fmt.Errorf("read the heartbeat file: %w", err)
	}
	var hb []heartbeat
	if err := json.Unmarshal(data, &hb); err != nil || len(hb) != 1 {
		return "", "", fmt.Errorf("heartbeat file %s is not a one-element JSON array: %w", path, err)
	}
	return hb[0].Heartbeat.Status, hb[0].Heartbeat.FormattedMessage.Message, nil
}
