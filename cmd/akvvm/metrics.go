package main

import (
	"fmt"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/metrics"
	"github.com/spf13/pflag"
)

// metricsFlags choose where run serves metrics and health.
type metricsFlags struct {
	listen string
	// on says the command serves metrics (run); sync never does.
	on bool
	// addr and m are set by agentFlags.start when metrics are served.
	addr string
	m    *metrics.Metrics
}

func (mf *metricsFlags) register(fs *pflag.FlagSet) {
	mf.on = true
	fs.StringVar(&mf.listen, "metrics-listen", "", "serve Prometheus /metrics, /healthz and /readyz on HOST:PORT, such as 127.0.0.1:9464 (0.0.0.0:9464 for every interface); default: the settings' metricsListen, else none")
}

// resolve picks the address: the flag, else the settings' metricsListen;
// with one it makes the metrics.
func (mf *metricsFlags) resolve(s *config.Settings) error {
	if !mf.on {
		return nil
	}
	addr := mf.listen
	if addr != "" {
		if err := config.CheckListenAddress(addr); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
	} else {
		addr = s.MetricsListen
	}
	if addr != "" {
		mf.addr, mf.m = addr, metrics.New()
	}
	return nil
}
