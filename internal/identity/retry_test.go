package identity

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRetries(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) // testCred's clock
	fail := func(status int, header map[string]string) reply {
		return reply{status: status, header: header, body: `{"error":"unknown","error_description":"try later"}`}
	}
	tests := []struct {
		name       string
		maxRetries int
		replies    []reply
		wantDelays []time.Duration
		wantStatus int // 0: success
		wantText   []string
	}{
		{
			name: "404 410 429 500 then success, Retry-After honoured",
			replies: []reply{
				fail(404, nil), fail(410, nil), fail(429, map[string]string{"Retry-After": "7"}), fail(500, nil), okReply(3600),
			},
			wantDelays: []time.Duration{time.Second, 2 * time.Second, 7 * time.Second, 14 * time.Second},
		},
		{
			name:       "503 with an HTTP-date Retry-After",
			replies:    []reply{fail(503, map[string]string{"Retry-After": now.Add(9 * time.Second).Format(http.TimeFormat)}), okReply(3600)},
			wantDelays: []time.Duration{9 * time.Second},
		},
		{
			name:       "Retry-After on 500 is not the guidance's signal",
			replies:    []reply{fail(500, map[string]string{"Retry-After": "40"}), okReply(3600)},
			wantDelays: []time.Duration{time.Second},
		},
		{
			name:       "huge Retry-After capped",
			replies:    []reply{fail(429, map[string]string{"Retry-After": "86400"}), okReply(3600)},
			wantDelays: []time.Duration{maxDelay},
		},
		{
			name:       "400 not retried",
			replies:    []reply{{status: 400, body: `{"error":"invalid_request","error_description":"Identity not found"}`}, okReply(3600)},
			wantStatus: 400,
			wantText:   []string{"HTTP 400 invalid_request: Identity not found"},
		},
		{
			name:       "403 not retried",
			replies:    []reply{fail(403, nil), okReply(3600)},
			wantStatus: 403,
		},
		{
			name:       "retries exhausted",
			maxRetries: 2,
			replies:    []reply{fail(500, nil)},
			wantDelays: []time.Duration{time.Second, 2 * time.Second},
			wantStatus: 500,
			wantText:   []string{"HTTP 500 unknown: try later", "after 3 attempts"},
		},
		{
			name:       "default schedule follows the IMDS guidance",
			replies:    []reply{fail(500, nil)},
			wantDelays: []time.Duration{time.Second, 2 * time.Second, 6 * time.Second, 14 * time.Second, 30 * time.Second},
			wantStatus: 500,
			wantText:   []string{"after 6 attempts"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, tt.replies...)
			c, _, s := testCred(t, Options{Endpoint: f.tokenURL(), MaxRetries: tt.maxRetries})
			tok, err := getToken(t, c, vaultScope)
			if got := s.delays(); !slices.Equal(got, tt.wantDelays) {
				t.Errorf("delays = %v, want %v", got, tt.wantDelays)
			}
			if wantReqs := len(tt.wantDelays) + 1; len(f.requests()) != wantReqs {
				t.Errorf("%d requests, want %d", len(f.requests()), wantReqs)
			}
			if tt.wantStatus == 0 {
				if err != nil || tok != testToken {
					t.Fatalf("GetToken = %v, want the token", err)
				}
				return
			}
			var re *ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.wantStatus {
				t.Fatalf("err = %v, want a *ResponseError with status %d", err, tt.wantStatus)
			}
			if re.Attempts != len(tt.wantDelays)+1 {
				t.Errorf("Attempts = %d, want %d", re.Attempts, len(tt.wantDelays)+1)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestNetworkErrorsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	c, _, s := testCred(t, Options{Endpoint: "http://" + addr + "/metadata/identity", MaxRetries: 2})
	_, err = getToken(t, c, vaultScope)
	if err == nil {
		t.Fatal("GetToken succeeded against a closed port")
	}
	if got := len(s.delays()); got != 2 {
		t.Errorf("retried %d times, want 2", got)
	}
	for _, want := range []string{"system-assigned identity at http://" + addr, "after 3 attempts", "Check msiEndpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("error does not wrap the *net.OpError: %v", err)
	}
}

// A token endpoint that resets the connection or cuts its answer short is
// named with its host, not only "EOF".
func TestConnectionFailuresNamed(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(c *net.TCPConn)
		want []string
	}{
		{"reset", func(c *net.TCPConn) { _ = c.SetLinger(0); c.Close() }, []string{"reset by the peer", "closed by the peer before any response arrived (EOF)"}},
		{"truncated", func(c *net.TCPConn) {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\nConnection: close\r\n\r\n{\"access_token\":")
			c.Close()
		}, []string{"HTTP 200, but connection to HOST closed before the response was complete (unexpected EOF)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					conn, err := l.Accept()
					if err != nil {
						return
					}
					_, _ = http.ReadRequest(bufio.NewReader(conn))
					tc.act(conn.(*net.TCPConn))
				}
			}()
			host := l.Addr().String()
			c, _, _ := testCred(t, Options{Endpoint: "http://" + host + "/metadata/identity", MaxRetries: -1,
				HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
			_, err = getToken(t, c, vaultScope)
			if err == nil {
				t.Fatal("GetToken succeeded")
			}
			named := false
			for _, w := range tc.want {
				named = named || strings.Contains(err.Error(), strings.ReplaceAll(w, "HOST", host))
			}
			if !named || !strings.Contains(err.Error(), "connection to "+host+" ") {
				t.Errorf("error %q does not name the failure and the host (%q)", err, tc.want)
			}
		})
	}
}

func TestDefaultEndpointUnreachableHint(t *testing.T) {
	err := networkHint(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true)
	for _, want := range []string{"Azure VM", "proxy", "localhost:40342"} {
		if !strings.Contains(err, want) {
			t.Errorf("hint %q lacks %q", err, want)
		}
	}
}

// A caller whose context ends while the request still retries hears the
// latest attempt's failure, not only its own deadline.
func TestCallerGivingUpGetsTheLastCause(t *testing.T) {
	f := newFakeEndpoint(t, reply{status: 500, body: `{"error":"unknown","error_description":"Failed to retrieve token"}`})
	c, err := New(Options{Endpoint: f.tokenURL(), Sleep: func(ctx context.Context, d time.Duration) error {
		<-ctx.Done() // every retry waits longer than the caller
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.GetToken(ctx, tokenOptions(vaultScope))
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 500 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetToken = %v, want the HTTP 500 and the caller's deadline", err)
	}
	if !strings.Contains(err.Error(), "HTTP 500 unknown: Failed to retrieve token") || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("error %q does not name the cause and that the caller gave up", err)
	}

	// Nothing answered yet: the caller's deadline is all there is to say.
	silent := newFakeEndpoint(t, okReply(3600))
	silent.block = make(chan struct{})
	t.Cleanup(func() { close(silent.block) })
	c, err = New(Options{Endpoint: silent.tokenURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := c.GetToken(ctx2, tokenOptions(vaultScope)); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a token") {
		t.Errorf("GetToken against a silent endpoint = %v", err)
	}
}
