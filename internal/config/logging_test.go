package config

import (
	"strings"
	"testing"
)

// logging returns Linux 3.0 settings with the loggingSettings object body.
func logging(body string) string {
	return `{"loggingSettings": {` + body + `}, "secretsManagementSettings": {` + oneCert10 + `}}`
}

func TestLoggingSettingsAccepted(t *testing.T) {
	tests := []struct {
		body             string
		forward          bool
		network, address string
		tag              string
	}{
		{``, false, "tcp", "localhost:24224", "akvvm"},
		{`"logger": "fluentd", "endpoint": "tcp://localhost:24224", "format": "forward", "servicename": "akvvm_service"`, true, "tcp", "localhost:24224", "akvvm_service"},
		{`"logger": "fluentd"`, true, "tcp", "localhost:24224", "akvvm"},
		{`"logger": "Fluentd", "endpoint": "TCP://[::1]:24225"`, true, "tcp", "[::1]:24225", "akvvm"},
		{`"logger": "fluentd", "endpoint": "unix:///var/run/fluent/fluent.sock"`, true, "unix", "/var/run/fluent/fluent.sock", "akvvm"},
	}
	for _, tt := range tests {
		s := mustParse(t, lin30, []byte(logging(tt.body)))
		if s.Logging.Forwarding() != tt.forward {
			t.Errorf("%s: Forwarding() = %v, want %v", tt.body, !tt.forward, tt.forward)
		}
		n, a, err := s.Logging.Address()
		if err != nil || n != tt.network || a != tt.address {
			t.Errorf("%s: Address() = %q, %q, %v; want %q, %q", tt.body, n, a, err, tt.network, tt.address)
		}
		if got := s.Logging.Tag(); got != tt.tag {
			t.Errorf("%s: Tag() = %q, want %q", tt.body, got, tt.tag)
		}
	}
	var none *Logging
	if none.Forwarding() {
		t.Error("absent loggingSettings forward")
	}
}

func TestLoggingSettingsRejected(t *testing.T) {
	tests := []struct{ body, want string }{
		{`"logger": "syslog"`, `loggingSettings.logger: is "syslog"; akvvm forwards logs only to fluentd. Use "logger": "fluentd"`},
		{`"logger": "fluentd", "format": "json"`, `loggingSettings.format: is "json"; akvvm speaks only fluentd's forward protocol.`},
		{`"logger": "fluentd", "endpoint": "localhost:24224"`, `loggingSettings.endpoint: "localhost:24224" has no scheme: use tcp://HOST:PORT or unix:///PATH.`},
		{`"logger": "fluentd", "endpoint": "tcp://localhost"`, `loggingSettings.endpoint: "tcp://localhost" is not tcp://HOST:PORT:`},
		{`"logger": "fluentd", "endpoint": "tcp://localhost:0"`, `loggingSettings.endpoint: "tcp://localhost:0": the port "0" is not a number from 1 to 65535`},
		{`"logger": "fluentd", "endpoint": "tcp://:24224"`, `loggingSettings.endpoint: "tcp://:24224": "" is not a host name`},
		{`"logger": "fluentd", "endpoint": "tcp://localhost:24224/x"`, `loggingSettings.endpoint: "tcp://localhost:24224/x": the port "24224/x" is not a number`},
		{`"logger": "fluentd", "endpoint": "http://localhost:24224"`, `loggingSettings.endpoint: "http://localhost:24224": the scheme "http" is not tcp or unix`},
		{`"logger": "fluentd", "endpoint": "unix://fluent.sock"`, `loggingSettings.endpoint: "unix://fluent.sock": the socket path must be absolute`},
		{`"logger": "fluentd", "servicename": "my service"`, `loggingSettings.servicename: "my service" is not a fluentd tag.`},
		{`"logger": "fluentd", "endpoint": 24224`, `loggingSettings.endpoint:`},
		{`"endpoint": "tcp://localhost:24224"`, `loggingSettings.logger: is missing; akvvm forwards logs only to fluentd.`},
	}
	for _, tt := range tests {
		errs := parseErrors(t, lin30, logging(tt.body))
		if len(errs) != 1 || !strings.Contains(errs[0].String(), tt.want) {
			t.Errorf("%s:\ngot  %v\nwant %s", tt.body, errs, tt.want)
		}
	}
}
