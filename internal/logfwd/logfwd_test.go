package logfwd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/logfwd/fwdtest"
)

// syncBuffer is a bytes.Buffer safe for the forwarder's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// forwarder starts a forwarder to a tcp address with its warnings in warn.
func forwarder(t *testing.T, addr string, buffer int, warn io.Writer) *Forwarder {
	t.Helper()
	fw, err := New(Options{Network: "tcp", Address: addr, Tag: "akvvm_service", Buffer: buffer,
		Warn: slog.New(slog.NewTextHandler(warn, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fw.Close(100 * time.Millisecond) })
	return fw
}

func receiver(t *testing.T, addr string) *fwdtest.Receiver {
	t.Helper()
	r, err := fwdtest.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// redacted is a LogValuer hiding its value, as a secret would be.
type redacted string

func (redacted) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// point has a String method, as many attribute types do.
type point struct{ x, y int }

func (p point) String() string { return fmt.Sprintf("(%d,%d)", p.x, p.y) }

func TestForwardsRecordsWithTagLevelMsgAndAttrs(t *testing.T) {
	r := receiver(t, "127.0.0.1:0")
	var text syncBuffer
	fw := forwarder(t, r.Addr(), 0, io.Discard)
	base := slog.New(slog.NewTextHandler(&text, &slog.HandlerOptions{Level: slog.LevelInfo}))
	log := fw.Logger(base)

	err := fmt.Errorf("list versions: %w", io.ErrUnexpectedEOF)
	before := time.Now()
	log.Debug("not enabled")
	log.With("vault", "kv1").WithGroup("cert").Warn("check failed",
		"name", "web", "attempt", 3, "error", err, "took", 1500*time.Millisecond,
		"secret", redacted("s3cr3t"), "where", point{1, 2}, "raw", []byte("bytes"),
		slog.Group("http", "status", 404, "retry", false), "msg", "inner")
	log.Info("top", "time", "attr", slog.Group("empty"))

	evs, werr := r.Wait(5*time.Second, func(e []fwdtest.Event) bool { return len(e) >= 2 })
	if werr != nil {
		t.Fatal(werr)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2 (debug is not enabled): %+v", len(evs), evs)
	}
	e := evs[0]
	if e.Tag != "akvvm_service" {
		t.Errorf("tag %q", e.Tag)
	}
	if e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("event time %v, want about %v", e.Time, before)
	}
	rec := e.Record
	for k, want := range map[string]any{"level": "WARN", "msg": "check failed", "vault": "kv1"} {
		if rec[k] != want {
			t.Errorf("%s = %#v, want %#v (record %v)", k, rec[k], want, rec)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"])); err != nil {
		t.Errorf("time %v: %v", rec["time"], err)
	}
	cert, ok := rec["cert"].(map[string]any)
	if !ok {
		t.Fatalf("cert is %T, want the group as a map: %v", rec["cert"], rec)
	}
	want := map[string]any{
		"name": "web", "attempt": int64(3), "error": "list versions: unexpected EOF", "took": "1.5s",
		"secret": "REDACTED", "where": "(1,2)", "raw": "bytes", "msg": "inner",
	}
	for k, w := range want {
		if cert[k] != w {
			t.Errorf("cert.%s = %#v (%T), want %#v", k, cert[k], cert[k], w)
		}
	}
	if h, ok := cert["http"].(map[string]any); !ok || h["status"] != int64(404) || h["retry"] != false {
		t.Errorf("cert.http = %#v", cert["http"])
	}
	// The text log shows the same strings.
	for _, s := range []string{`error="list versions: unexpected EOF"`, `secret=REDACTED`, `where=(1,2)`, `took=1.5s`} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text log lacks %s:\n%s", s, text.String())
		}
	}
	if strings.Contains(fmt.Sprint(evs), "s3cr3t") {
		t.Error("a redacted value was forwarded")
	}
	top := evs[1].Record
	if top["msg"] != "top" || top["attr_time"] != "attr" || top["empty"] != nil {
		t.Errorf("top-level record %v: want msg top, attr_time attr, no empty group", top)
	}
	if errs := r.Errors(); len(errs) > 0 {
		t.Errorf("receiver errors: %v", errs)
	}
}

func TestBuffersUntilTheEndpointStarts(t *testing.T) {
	addr := freeAddr(t)
	var warn syncBuffer
	fw := forwarder(t, addr, 0, &warn)
	log := fw.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 5 {
		log.Info("early", "n", i)
	}
	time.Sleep(700 * time.Millisecond) // some connection attempts fail
	r := receiver(t, addr)
	evs, err := r.Wait(15*time.Second, func(e []fwdtest.Event) bool { return len(e) >= 5 })
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Record["msg"] != "early" || e.Record["n"] != int64(i) {
			t.Errorf("event %d: %v, want early n=%d in order", i, e.Record, i)
		}
	}
	if fw.Dropped() != 0 || warn.String() != "" {
		t.Errorf("dropped %d, warnings %q", fw.Dropped(), warn.String())
	}
}

func TestNeverReadingEndpointNeverBlocksTheCaller(t *testing.T) {
	s, err := fwdtest.ListenSilent("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var warn syncBuffer
	// A write blocks for a minute, not 5 s: no reconnection (with fresh
	// socket buffers) during the test.
	fw, err := New(Options{Network: "tcp", Address: s.Addr(), Tag: "t", Buffer: 64,
		Warn: slog.New(slog.NewTextHandler(&warn, nil)), writeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	log := fw.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	big := strings.Repeat("x", 8<<10)
	// Fill the socket buffers and the queue until the sender is stuck in a
	// write: records are dropped and the queue no longer moves. A drop
	// alone is not enough, as a fast producer overruns a sender that still
	// writes.
	stuck := false
	for i := 0; i < 4000 && !stuck; i++ { // at most 32 MB
		log.Info("filler", "n", i, "pad", big)
		if i%100 == 99 && fw.Dropped() > 0 {
			before := fw.drops.queued()
			time.Sleep(200 * time.Millisecond)
			stuck = before > 0 && fw.drops.queued() == before
		}
	}
	if !stuck {
		t.Fatal("the sender never got stuck with 32 MB sent to an endpoint that reads nothing")
	}
	start := time.Now()
	var slowest time.Duration
	for i := range 200 {
		t0 := time.Now()
		log.Info("more", "n", i, "pad", big)
		slowest = max(slowest, time.Since(t0))
	}
	if took := time.Since(start); took > 2*time.Second || slowest > time.Second {
		t.Errorf("200 log calls with the sender stuck took %s, the slowest %s: the endpoint slowed the caller", took, slowest)
	}
	if s.Accepted() == 0 {
		t.Error("the forwarder never connected")
	}
	if w := warn.String(); strings.Count(w, "log forwarding dropped records") != 1 || !strings.Contains(w, "buffer of 64 records is full") {
		t.Errorf("want one warning about the full buffer, got:\n%s", w)
	}
	t0 := time.Now()
	if err := fw.Close(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "not delivered within 200ms") {
		t.Errorf("Close = %v, want records not delivered", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Close took %s", d)
	}
	log.Info("after close") // no panic, no block
}

func TestDeadEndpointKeepsABoundedBuffer(t *testing.T) {
	var warn syncBuffer
	fw := forwarder(t, freeAddr(t), 4, &warn)
	log := fw.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	start := time.Now()
	for i := range 100 {
		log.Error("lost", "n", i)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("100 log calls against a dead endpoint took %s", d)
	}
	// Up to 4 queued and 1 being sent; the rest are dropped.
	if n := fw.Dropped(); n < 95 {
		t.Errorf("dropped %d of 100 with a buffer of 4", n)
	}
	if c := strings.Count(warn.String(), "dropped records"); c != 1 {
		t.Errorf("%d warnings in a minute, want 1:\n%s", c, warn.String())
	}
}

func TestDropsWarnOncePerMinuteAndOnRecovery(t *testing.T) {
	var out syncBuffer
	d := newDrops(slog.New(slog.NewTextHandler(&out, nil)), "tcp://x:1", 8)
	now := time.Unix(1000, 0)
	d.now = func() time.Time { return now }
	cause := errors.New("full")
	for range 3 {
		d.posted()
		d.dropped(cause)
	}
	now = now.Add(time.Minute)
	d.posted()
	d.dropped(cause)
	d.posted()
	d.sent(nil)
	got := out.String()
	if strings.Count(got, "dropped records") != 2 || !strings.Contains(got, "dropped=1 droppedTotal=1") ||
		!strings.Contains(got, "dropped=3 droppedTotal=4") || !strings.Contains(got, "delivers again") || !strings.Contains(got, "dropped=4") {
		t.Errorf("warnings:\n%s", got)
	}
	if d.queued() != 0 || d.total() != 4 {
		t.Errorf("queued %d, total %d", d.queued(), d.total())
	}
}

func TestTruncateKeepsValidUTF8(t *testing.T) {
	s := strings.Repeat("é", MaxValue) // 2 bytes each
	got := truncate("a" + s)
	if len(got) > MaxValue+len("…(truncated)") || !strings.HasSuffix(got, "…(truncated)") || !strings.HasPrefix(got, "aé") {
		t.Errorf("truncate: %d bytes, suffix %q", len(got), got[len(got)-20:])
	}
	if strings.ToValidUTF8(got, "?") != got {
		t.Error("truncated string is not valid UTF-8")
	}
	if truncate("short") != "short" {
		t.Error("short string changed")
	}
}

func TestNewRejectsBadAddresses(t *testing.T) {
	for _, o := range []Options{{Network: "udp", Address: "x:1"}, {Network: "tcp", Address: "nohost"}, {Network: "tcp", Address: "x:port"}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
