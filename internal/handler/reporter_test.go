package handler

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/config"
)

// TestInitialSyncGivesUpAfter25Attempts runs the real agent with a clock
// that never sleeps against a vault that always fails: the status stays
// transitioning through 24 failed attempts and turns to error at the 25th,
// naming the cause (spec.md §4, 3.0 with requireInitialSync).
func TestInitialSyncGivesUpAfter25Attempts(t *testing.T) {
	h, _, _ := newTestHandler(t, "3.0.1")
	s, err := config.Parse([]byte(settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web")),
		config.Options{Schema: h.Schema})
	if err != nil {
		t.Fatal(err)
	}
	if s.InitialSync.MaxAttempts != 25 {
		t.Fatalf("3.0 settings: MaxAttempts = %d, want 25", s.InitialSync.MaxAttempts)
	}
	src := &failingSource{}
	rep := NewReporter(h.Env, 3, discard())
	a, err := agent.New(agent.SpecFromSettings(s), agent.Deps{
		Source: src, Store: emptyStore{}, Clock: &fastClock{now: now}, Progress: rep.Progress,
		Identity: "system-assigned identity at http://169.254.169.254/metadata/identity/oauth2/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]bool{} // status@attempts of every write
	var final StatusItem
	rep.Written = func(item StatusItem) {
		mu.Lock()
		defer mu.Unlock()
		attempts := 0
		if m := attemptsPattern.FindStringSubmatch(item.Status.SubStatus[0].FormattedMessage.Message); m != nil {
			attempts, _ = strconv.Atoi(m[1])
		}
		seen[item.Status.Status+"@"+strconv.Itoa(attempts)] = true
		if item.Status.Status == StatusError && final.Status.Status == "" {
			final = item
			cancel()
		}
	}
	if err := rep.Run(ctx, a); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if final.Status.Status != StatusError {
		t.Fatalf("never reported error; statuses: %v", seen)
	}
	// Every pass ends with a write, so each attempt count was reported.
	for n := 1; n <= 24; n++ {
		if !seen[StatusTransitioning+"@"+strconv.Itoa(n)] || seen[StatusError+"@"+strconv.Itoa(n)] {
			t.Errorf("after attempt %d: want transitioning only; statuses: %v", n, seen)
		}
	}
	if !seen[StatusError+"@25"] || seen[StatusTransitioning+"@25"] {
		t.Errorf("after attempt 25: want error; statuses: %v", seen)
	}
	if src.count() < 25 {
		t.Errorf("vault asked %d times, want 25 before the error", src.count())
	}
	msg := final.Status.FormattedMessage.Message
	if !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "system-assigned identity") {
		t.Errorf("error message %q lacks the cause or the identity", msg)
	}
	if sub := final.Status.SubStatus; len(sub) != 1 || sub[0].Status != StatusError || !strings.Contains(sub[0].FormattedMessage.Message, "after 25 attempts") {
		t.Errorf("substatus = %+v", sub)
	}
	onDisk, err := ReadStatus(h.Env.StatusFolder, 3)
	if err != nil || onDisk.Status.Status != StatusError {
		t.Errorf("3.status = %+v, %v", onDisk.Status, err)
	}
	hb, err := os.ReadFile(h.Env.HeartbeatFile)
	if err != nil || !strings.Contains(string(hb), `"status": "Ready"`) {
		t.Errorf("heartbeat = %s, %v", hb, err)
	}
}

// attemptsPattern finds the attempt count in a certificate's substatus.
var attemptsPattern = regexp.MustCompile(`(?:attempt|after) (\d+)`)
