package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr []string
		check   func(t *testing.T, c config)
	}{
		{"defaults", map[string]string{"TIMDESK_SECRET_KEY": "k"}, nil, func(t *testing.T, c config) {
			if c.Listen != "127.0.0.1:9800" || c.SDKAppID != 1400000000 || c.Admin != "administrator" ||
				c.CallbackURL != "http://127.0.0.1:8080/tim/callback" || c.FailClosed || c.LogFormat != "json" || c.CallbackTimeout != 2*time.Second ||
				c.ServiceAccount != "support" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{"everything set", map[string]string{
			"TIMDESK_SECRET_KEY": "k", "TIMSIM_LISTEN": ":0", "TIMDESK_SDKAPPID": "1400000042", "TIMDESK_ADMIN": "root",
			"TIMSIM_CALLBACK_URL": "https://example.test/cb", "TIMDESK_CALLBACK_TOKEN": "tok", "TIMSIM_FAIL_CLOSED": "true",
			"TIMSIM_ACCOUNTS": "support, agent_1,", "TIMSIM_WINDOWS": "alice:support,agent_1:alice", "TIMDESK_LOG_FORMAT": "text",
			"TIMSIM_CALLBACK_TIMEOUT": "5s", "TIMDESK_SERVICE_ACCOUNT": "helpdesk",
		}, nil, func(t *testing.T, c config) {
			if c.SDKAppID != 1400000042 || c.Admin != "root" || !c.FailClosed || len(c.Accounts) != 2 || c.Accounts[1] != "agent_1" ||
				len(c.Windows) != 2 || c.Windows[1].Peer != "alice" || c.CallbackToken != "tok" || c.CallbackTimeout != 5*time.Second ||
				c.ServiceAccount != "helpdesk" {
				t.Errorf("config: %+v", c)
			}
		}},
		{"callbacks off", map[string]string{"TIMDESK_SECRET_KEY": "k", "TIMSIM_CALLBACK_URL": "off"}, nil, func(t *testing.T, c config) {
			if c.CallbackURL != "" {
				t.Errorf("CallbackURL got %q, want empty", c.CallbackURL)
			}
		}},
		{"all problems at once", map[string]string{
			"TIMDESK_SDKAPPID": "abc", "TIMSIM_CALLBACK_URL": "ftp://x", "TIMSIM_FAIL_CLOSED": "maybe",
			"TIMSIM_ACCOUNTS": strings.Repeat("x", 33), "TIMSIM_WINDOWS": "alice", "TIMDESK_LOG_FORMAT": "xml",
			"TIMSIM_CALLBACK_TIMEOUT": "soon", "TIMDESK_SERVICE_ACCOUNT": strings.Repeat("s", 33),
		}, []string{"TIMDESK_SERVICE_ACCOUNT", "TIMSIM_CALLBACK_TIMEOUT", "TIMDESK_SDKAPPID", "TIMDESK_SECRET_KEY", "TIMSIM_CALLBACK_URL", "TIMSIM_FAIL_CLOSED", "TIMSIM_ACCOUNTS", "TIMSIM_WINDOWS", "TIMDESK_LOG_FORMAT"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(env(tt.vars))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if strings.Contains(err.Error(), "k\"") {
				t.Errorf("error leaks a value: %v", err)
			}
		})
	}
}

// syncBuffer is a goroutine-safe output buffer.
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

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func TestRunServesAndStops(t *testing.T) {
	addr := freeAddr(t)
	vars := map[string]string{"TIMDESK_SECRET_KEY": "k", "TIMSIM_LISTEN": addr, "TIMSIM_CALLBACK_URL": "off", "TIMSIM_ACCOUNTS": "support"}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, env(vars), out) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /: HTTP %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timsim did not come up: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "http://"+addr+"/") {
		t.Errorf("output does not print the URL: %s", out)
	}
	// An open event stream must not hold up the graceful stop.
	resp, err := http.Get("http://" + addr + "/sim/events?userID=support")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunReportsStartupErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	err = run(context.Background(), env(map[string]string{"TIMDESK_SECRET_KEY": "k", "TIMSIM_LISTEN": l.Addr().String()}), &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("port in use: got %v", err)
	}
	if err := run(context.Background(), env(nil), &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "TIMDESK_SECRET_KEY") {
		t.Errorf("missing secret: got %v", err)
	}
}
