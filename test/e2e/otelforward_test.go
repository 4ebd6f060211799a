//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The log forwarding tests send to the OpenTelemetry Collector's Fluent
// Forward receiver (fluentforwardreceiver), a forward-protocol server that
// akvvm's code has no part in: Debian has no fluentd or Fluent Bit package,
// and no forward client library ships a server. testdata/fwdreceiver runs it
// as its own process; it is a separate Go module (akvvm's go.mod does not
// carry the Collector) built once per test run, downloading its modules
// through the module proxy on a fresh machine.

// fwdReceiverBuild is the receiver program built for this test run.
var fwdReceiverBuild struct {
	once sync.Once
	path string
	took time.Duration
	err  error
}

// fwdReceiverBinary builds testdata/fwdreceiver once and returns its path.
func fwdReceiverBinary(t *testing.T) string {
	t.Helper()
	b := &fwdReceiverBuild
	b.once.Do(func() {
		out := filepath.Join(filepath.Dir(binary), "fwdreceiver")
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = filepath.Join("testdata", "fwdreceiver")
		cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		start := time.Now()
		msg, err := cmd.CombinedOutput()
		b.took = time.Since(start)
		if err != nil {
			b.err = fmt.Errorf("go build testdata/fwdreceiver: %w\n%s", err, msg)
			return
		}
		b.path = out
		t.Logf("built the OpenTelemetry Collector's fluentforward receiver in %s", b.took.Round(100*time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// fwdRecord is one log record as the receiver got it: the forward tag, the
// event time, and the record's fields as the Collector's log attributes.
type fwdRecord struct {
	Tag        string         `json:"tag"`
	Time       time.Time      `json:"time"`
	Attributes map[string]any `json:"attributes"`
	Body       any            `json:"body"`
}

// otelForward is a running fwdreceiver process.
type otelForward struct {
	addr string
	cmd  *exec.Cmd
	log  *lockedBuffer // the receiver's standard error

	mu      sync.Mutex
	recs    []fwdRecord
	raw     strings.Builder // standard output as written
	bad     []string        // output lines that are no record
	changed chan struct{}
	done    chan struct{}
}

// startOTelForward starts the receiver on addr (127.0.0.1:0 for a free
// port) and waits until it listens; Cleanup stops it.
func startOTelForward(t *testing.T, addr string) *otelForward {
	t.Helper()
	r := &otelForward{log: &lockedBuffer{}, changed: make(chan struct{}), done: make(chan struct{})}
	r.cmd = exec.Command(fwdReceiverBinary(t), "-listen", addr)
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		r.read(stdout)
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "listening on "); ok {
				ready <- a
			}
			fmt.Fprintln(r.log, line)
		}
	}()
	go func() {
		readers.Wait()
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("fwdreceiver log:\n%s", r.log.String())
		}
	})
	select {
	case r.addr = <-ready:
	case <-r.done:
		t.Fatalf("fwdreceiver exited before it listened:\n%s", r.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("fwdreceiver did not listen within 30 s:\n%s", r.log.String())
	}
	return r
}

// read collects the JSON lines of out.
func (r *otelForward) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec fwdRecord
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		err := dec.Decode(&rec)
		r.mu.Lock()
		r.raw.WriteString(sc.Text() + "\n")
		if err != nil {
			r.bad = append(r.bad, sc.Text())
		} else {
			r.recs = append(r.recs, rec)
		}
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// Wait waits until ok holds for the records received, for at most timeout,
// and returns them.
func (r *otelForward) Wait(timeout time.Duration, ok func([]fwdRecord) bool) ([]fwdRecord, error) {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		recs, ch := slices.Clone(r.recs), r.changed
		r.mu.Unlock()
		if ok(recs) {
			return recs, nil
		}
		select {
		case <-ch:
		case <-r.done:
			return recs, fmt.Errorf("fwdreceiver exited with %d records:\n%s", len(recs), r.log.String())
		case <-deadline:
			return recs, fmt.Errorf("fwdreceiver: no wanted records within %s (%d received)", timeout, len(recs))
		}
	}
}

// Output is everything the receiver wrote for the records it got.
func (r *otelForward) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.raw.String()
}

// Problems lists output lines that are no record and the connections the
// receiver closed on a decoding error.
func (r *otelForward) Problems() []string {
	r.mu.Lock()
	p := slices.Clone(r.bad)
	r.mu.Unlock()
	for line := range strings.SplitSeq(r.log.String(), "\n") {
		if strings.Contains(line, "Unexpected error handling connection") || strings.Contains(line, "\tERROR\t") {
			p = append(p, line)
		}
	}
	return p
}

// findRecord returns the first record whose msg attribute is msg, or nil.
func findRecord(recs []fwdRecord, msg string) *fwdRecord {
	for i := range recs {
		if recs[i].Attributes["msg"] == msg {
			return &recs[i]
		}
	}
	return nil
}
