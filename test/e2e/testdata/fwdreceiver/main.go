// Command fwdreceiver runs the OpenTelemetry Collector's Fluent Forward
// receiver (fluentforwardreceiver) on its own, as an independent forward
// protocol server for akvvm's e2e tests.
//
// It listens on -listen (TCP; port 0 picks a free port), writes
// "listening on HOST:PORT" to standard error once the receiver has started,
// and then one JSON line per received log record to standard output:
//
//	{"tag":"akvvm","time":"2026-…Z","attributes":{"level":"INFO",…},"body":…}
//
// The receiver's own log (its decoding errors among them) goes to standard
// error. SIGTERM or SIGINT stop it.
//
// It is its own Go module so that akvvm's go.mod does not carry the
// Collector's dependencies; directories named testdata are outside
// akvvm's ./... patterns.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/fluentforwardreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
)

// tagAttribute is the attribute in which the receiver puts the forward tag.
const tagAttribute = "fluent.tag"

// record is one received log record as written to standard output.
type record struct {
	Tag        string         `json:"tag"`
	Time       time.Time      `json:"time"`
	Attributes map[string]any `json:"attributes"`
	Body       any            `json:"body,omitempty"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP `address` to listen on; port 0 picks a free port")
	flag.Parse()
	if err := run(*listen); err != nil {
		fmt.Fprintln(os.Stderr, "fwdreceiver:", err)
		os.Exit(1)
	}
}

func run(listen string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger, err := zap.NewDevelopment()
	if err != nil {
		return fmt.Errorf("receiver log: %w", err)
	}
	sink, err := consumer.NewLogs(newWriter(os.Stdout).consume)
	if err != nil {
		return fmt.Errorf("logs consumer: %w", err)
	}
	r, addr, err := start(ctx, logger, listen, sink)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "listening on", addr)
	<-ctx.Done()
	if err := r.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("shut the receiver down: %w", err)
	}
	return nil
}

// start creates the receiver through its factory and starts it on listen.
// The receiver listens on TCP and UDP (heartbeats) at the address it is
// given and does not tell the port it got, so port 0 is replaced by a port
// that was free a moment ago, tried again if another process took it.
func start(ctx context.Context, logger *zap.Logger, listen string, sink consumer.Logs) (receiver.Logs, string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, "", fmt.Errorf("-listen %q: %w", listen, err)
	}
	f := fluentforwardreceiver.NewFactory()
	// The Collector's settings without its telemetry SDK (componenttest's
	// nop settings would build the OpenTelemetry SDK in for nothing).
	set := receiver.Settings{
		ID: component.NewID(f.Type()),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         logger,
			TracerProvider: nooptrace.NewTracerProvider(),
			MeterProvider:  noopmetric.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
	tries := 1
	if port == "0" {
		tries = 5
	}
	for {
		addr := listen
		if port == "0" {
			if addr, err = freePort(host); err != nil {
				return nil, "", err
			}
		}
		cfg := f.CreateDefaultConfig().(*fluentforwardreceiver.Config)
		cfg.ListenAddress = addr
		r, err := f.CreateLogs(ctx, set, cfg, sink)
		if err != nil {
			return nil, "", fmt.Errorf("create the fluentforward receiver: %w", err)
		}
		err = r.Start(ctx, noHost{})
		if err == nil {
			return r, addr, nil
		}
		_ = r.Shutdown(context.Background())
		if tries--; tries == 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", fmt.Errorf("start the fluentforward receiver on %s: %w", addr, err)
		}
	}
}

// noHost is a Collector host without extensions.
type noHost struct{}

func (noHost) GetExtensions() map[component.ID]component.Component { return nil }

// freePort returns host with a TCP port that nobody listens on now.
func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// writer writes records as JSON lines, one Write each.
type writer struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newWriter(f *os.File) *writer { return &writer{enc: json.NewEncoder(f)} }

// consume writes every log record of ld.
func (w *writer) consume(_ context.Context, ld plog.Logs) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				attrs := lr.Attributes().AsRaw()
				tag, _ := attrs[tagAttribute].(string)
				delete(attrs, tagAttribute)
				rec := record{Tag: tag, Time: lr.Timestamp().AsTime(), Attributes: attrs, Body: lr.Body().AsRaw()}
				if err := w.enc.Encode(rec); err != nil {
					return fmt.Errorf("write a record: %w", err)
				}
			}
		}
	}
	return nil
}
