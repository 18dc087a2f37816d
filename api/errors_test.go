package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
)

// TestTemporalErrorsMapOnce: every admin route that calls Temporal maps the same failure to the
// same status and code through the one table in errors.go, and never shows the cause.
func TestTemporalErrorsMapOnce(t *testing.T) {
	routes := []struct {
		name         string
		method, path string
		body         string
	}{
		{"consultation state", http.MethodGet, "/api/v1/consultations/alice", ""},
		{"close consultation", http.MethodPost, "/api/v1/consultations/alice/close", `{}`},
		{"set language", http.MethodPut, "/api/v1/users/alice/language", `{"language":"en"}`},
		{"put roster", http.MethodPut, "/api/v1/roster", testRoster},
		{"delete roster", http.MethodDelete, "/api/v1/roster", ""},
	}
	failures := []struct {
		name       string
		err        func(ctx context.Context) error
		timeout    time.Duration // request deadline; 0 keeps the test default (5 s)
		wantStatus int
		wantCode   string
	}{
		{"not found", func(context.Context) error { return serviceerror.NewNotFound("workflow not found") }, 0, 404, codeNotFound},
		{"unavailable", func(context.Context) error { return serviceerror.NewUnavailable("connection refused") }, 0, 503, codeUnavailable},
		{"server deadline", func(context.Context) error { return serviceerror.NewDeadlineExceeded("context deadline exceeded") }, 0, 504, codeTimeout},
		{"request deadline", blockUntilDone, 100 * time.Millisecond, 504, codeTimeout},
		{"unknown", func(context.Context) error { return errors.New("internal detail secret-cause") }, 0, 500, codeInternal},
	}
	for _, rt := range routes {
		for _, f := range failures {
			t.Run(rt.name+"/"+f.name, func(t *testing.T) {
				env := newTestEnv(t, func(e *testEnv) {
					if f.timeout > 0 {
						e.cfg.RequestTimeout = f.timeout
					}
					e.temporal.query = func(ctx context.Context, _ call) (any, error) { return nil, f.err(ctx) }
					e.temporal.signal = func(ctx context.Context, _ call) error { return f.err(ctx) }
					e.temporal.signalWithStart = func(ctx context.Context, _ call) error { return f.err(ctx) }
					e.temporal.updateWithStart = func(ctx context.Context, _ call) (any, error) { return nil, f.err(ctx) }
				})
				r := env.do(t, rt.method, rt.path, rt.body, adminHeader()...)
				if r.Status != f.wantStatus {
					t.Fatalf("status = %d, want %d; body %s", r.Status, f.wantStatus, r.Body)
				}
				if got := r.ErrorCode(t); got != f.wantCode {
					t.Errorf("error code = %q, want %q", got, f.wantCode)
				}
				for _, leak := range []string{"secret-cause", "internal detail", "connection refused", "context deadline"} {
					if strings.Contains(string(r.Body), leak) {
						t.Errorf("body shows the cause %q: %s", leak, r.Body)
					}
				}
			})
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string
	}{
		{"api error", newError(codeForbidden, "no"), codeForbidden},
		{"wrapped Temporal not found", errors.Join(errors.New("query"), serviceerror.NewNotFound("x")), codeNotFound},
		{"Temporal unavailable", serviceerror.NewUnavailable("x"), codeUnavailable},
		{"Temporal deadline exceeded", serviceerror.NewDeadlineExceeded("x"), codeTimeout},
		{"context deadline", context.DeadlineExceeded, codeTimeout},
		{"unknown", errors.New("boom"), codeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := classify(tt.err); got != tt.wantCode {
				t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.wantCode)
			}
		})
	}
}
