package main

import (
	"log/slog"
	"reflect"
	"time"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/logfwd"
)

// logFlushTimeout bounds the wait for queued records when akvvm exits.
const logFlushTimeout = 500 * time.Millisecond

// forwardLogs returns log, also forwarding to the endpoint of the settings'
// loggingSettings when they say fluentd, and a function that sends what is
// queued (for at most logFlushTimeout) and stops forwarding.
func forwardLogs(log *slog.Logger, s *config.Settings) (*slog.Logger, func()) {
	if !s.Logging.Forwarding() {
		return log, func() {}
	}
	network, address, err := s.Logging.Address()
	if err == nil {
		var fw *logfwd.Forwarder
		fw, err = logfwd.New(logfwd.Options{Network: network, Address: address, Tag: s.Logging.Tag(), Warn: log})
		if err == nil {
			log.Info("forwarding logs", "endpoint", network+"://"+address, "tag", s.Logging.Tag())
			return fw.Logger(log), func() {
				if err := fw.Close(logFlushTimeout); err != nil {
					log.Warn("log forwarding stopped with records queued", "error", err)
				}
			}
		}
	}
	log.Error("not forwarding logs", "error", err)
	return log, func() {}
}

// closeLogs stops the forwarding that start began, if any.
func (f *agentFlags) closeLogs() {
	if f.stopLogs != nil {
		f.stopLogs()
		f.stopLogs = nil
	}
}

// noteLogging warns when reloaded settings change loggingSettings, which
// take effect at the next start.
func (f *agentFlags) noteLogging(s *config.Settings, log *slog.Logger) {
	if !reflect.DeepEqual(s.Logging, f.logging) {
		log.Warn("loggingSettings changed; log forwarding keeps its settings until akvvm restarts")
	}
}
