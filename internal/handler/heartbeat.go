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

// WriteHeartbeat writes the heartbeat file: status "Ready" while the
// service runs, with msg as the handler message.
func WriteHeartbeat(path, msg string) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent([]heartbeat{{Version: 1.0, Heartbeat: heartbeatBody{
		Status: "Ready", FormattedMessage: Message{Lang: "en-US", Message: truncate(msg, maxMessage)},
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
