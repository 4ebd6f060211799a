package main

import (
	"log/slog"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/notify"
)

// platformNotifiers returns the renewal notifications of Windows: event 1001.
func platformNotifiers(log *slog.Logger) []agent.Notifier {
	return []agent.Notifier{&notify.EventLog{Log: log}}
}
