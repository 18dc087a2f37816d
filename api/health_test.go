package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/timdesk/timdesk/internal/temporalmetrics"
	"github.com/timdesk/timdesk/tim"
)

func TestHealthRoutes(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		health     func(context.Context) error
		wantStatus int
		wantBody   string
	}{
		{"healthz", "/healthz", nil, 200, `"status":"ok"`},
		{"readyz ready", "/readyz", func(context.Context) error { return nil }, 200, `"temporal":"ok"`},
		{"readyz Temporal down", "/readyz", func(context.Context) error { return errors.New("connection refused") }, 503, `"temporal":"unreachable"`},
		{"readyz Temporal hangs", "/readyz", blockUntilDone, 503, `"not_ready"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.health = tt.health })
			r := env.do(t, http.MethodGet, tt.path, "")
			if r.Status != tt.wantStatus || !strings.Contains(string(r.Body), tt.wantBody) {
				t.Fatalf("status %d body %s, want %d with %s", r.Status, r.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
	env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hi"), ""))
	env.do(t, http.MethodGet, "/api/v1/consultations/alice", "")
	env.do(t, http.MethodGet, "/no/such/route", "")
	r := env.do(t, http.MethodGet, "/metrics", "")
	if r.Status != 200 {
		t.Fatalf("status = %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{
		`timdesk_http_requests_total{method="POST",route="/tim/callback",status="200"} 1`,
		`timdesk_http_requests_total{method="GET",route="/api/v1/consultations/:customer",status="401"} 1`,
		`timdesk_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`timdesk_http_request_duration_seconds_bucket{method="POST",route="/tim/callback"`,
		`timdesk_callbacks_total{command="C2C.CallbackBeforeSendMsg",decision="signalled",error_code="0"} 1`,
		`timdesk_callback_duration_seconds_count{command="C2C.CallbackBeforeSendMsg"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}
}

func TestTemporalMetricsShareRegistry(t *testing.T) {
	env := newTestEnv(t)
	h, closer, err := temporalmetrics.NewHandler(env.registry, func(err error) { t.Errorf("metrics error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	h.Counter("temporal_request").Inc(1)
	if err := closer.Close(); err != nil { // flushes
		t.Fatal(err)
	}
	r := env.do(t, http.MethodGet, "/metrics", "")
	if !strings.Contains(string(r.Body), "temporal_request") {
		t.Errorf("Temporal SDK metric not on /metrics:\n%s", r.Body)
	}
}

func TestErrorsAndRequestIDs(t *testing.T) {
	var logs bytes.Buffer
	env := newTestEnv(t, func(e *testEnv) {
		e.accounts.importOne = func(tim.Account) error { panic("boom: secret internals") }
	})
	// Rebuild with a capturing logger.
	app, err := newApp(depsFor(env, slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	env.app = app

	r := env.do(t, http.MethodPost, "/api/v1/accounts", `{"userID":"alice"}`, append(adminHeader(), "X-Request-ID", "req-123")...)
	if r.Status != 500 || r.ErrorCode(t) != codeInternal {
		t.Fatalf("panic: status %d body %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "secret internals") {
		t.Errorf("panic text leaked: %s", r.Body)
	}
	if rid := r.JSON(t)["error"].(map[string]any)["requestID"]; rid != "req-123" || r.Header.Get("X-Request-ID") != "req-123" {
		t.Errorf("request ID = %v / %q, want req-123", rid, r.Header.Get("X-Request-ID"))
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), "req-123") {
		t.Errorf("panic not logged with its request ID:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testAdminKey) {
		t.Errorf("admin key logged")
	}

	// A hostile request ID is replaced.
	r = env.do(t, http.MethodGet, "/healthz", "", "X-Request-ID", "a\"b<script>")
	if got := r.Header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, "\"<") {
		t.Errorf("request ID = %q", got)
	}

	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
	}{
		{"unknown route", http.MethodGet, "/nope", "", 404, codeNotFound},
		{"wrong method", http.MethodGet, "/tim/callback", "", 404, codeNotFound},
		{"roster over 256 KiB", http.MethodPut, "/api/v1/roster", strings.Repeat("a", 300<<10), 413, codeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.do(t, tt.method, tt.path, tt.body, adminHeader()...)
			if r.Status != tt.wantStatus || r.ErrorCode(t) != tt.wantCode {
				t.Fatalf("status %d body %.200s, want %d %s", r.Status, r.Body, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// depsFor rebuilds the deps of env with another logger.
func depsFor(env *testEnv, logger *slog.Logger) deps {
	d := newTestDeps(env)
	d.Logger = logger
	d.Registry = prometheus.NewRegistry()
	return d
}
