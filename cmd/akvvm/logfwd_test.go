package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/logfwd/fwdtest"
)

func TestForwardLogsOnlyWhenLoggingSettingsSayFluentd(t *testing.T) {
	base := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, l := range []*config.Logging{nil, {}} {
		if log, stop := forwardLogs(base, &config.Settings{Logging: l}); log != base {
			t.Errorf("loggingSettings %+v: the logger changed", l)
		} else {
			stop()
		}
	}

	r, err := fwdtest.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var text strings.Builder
	base = slog.New(slog.NewTextHandler(&text, nil))
	s := &config.Settings{Logging: &config.Logging{Logger: "fluentd", Endpoint: "tcp://" + r.Addr(), ServiceName: "akvvm_service"}}
	log, stop := forwardLogs(base, s)
	log.Info("hello", "certificate", "kv/web")
	stop()
	evs, err := r.Wait(5*time.Second, func(e []fwdtest.Event) bool { return len(e) >= 1 })
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[0]; e.Tag != "akvvm_service" || e.Record["msg"] != "hello" || e.Record["certificate"] != "kv/web" {
		t.Errorf("forwarded %+v", e)
	}
	if !strings.Contains(text.String(), "forwarding logs") || !strings.Contains(text.String(), "hello") {
		t.Errorf("local log:\n%s", text.String())
	}
}
