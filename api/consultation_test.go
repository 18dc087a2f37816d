package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/timdesk/timdesk/workflows"
)

func TestConsultationState(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		query      func(context.Context, call) (any, error)
		wantStatus int
		wantCode   string
	}{
		{"open consultation", "/api/v1/consultations/alice", func(_ context.Context, c call) (any, error) {
			if c.ID != "consultation/alice" || c.Name != workflows.QueryState {
				return nil, errNoFake
			}
			return workflows.ConsultationState{Customer: "alice", Owner: "agent", Status: "human", Agent: "agent_li"}, nil
		}, 200, ""},
		{"escaped customer", "/api/v1/consultations/%E5%AE%A2%E6%88%B7", func(_ context.Context, c call) (any, error) {
			if c.ID != "consultation/%E5%AE%A2%E6%88%B7" { // ConsultationID encodes non-ASCII
				return nil, errNoFake
			}
			return workflows.ConsultationState{Customer: "客户"}, nil
		}, 200, ""},
		{"no consultation", "/api/v1/consultations/alice", func(context.Context, call) (any, error) {
			return nil, serviceerror.NewNotFound("workflow not found")
		}, 404, codeNotFound},
		{"worker down", "/api/v1/consultations/alice", func(ctx context.Context, _ call) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			return nil, blockUntilDone(ctx)
		}, 504, codeTimeout},
		{"Temporal unavailable", "/api/v1/consultations/alice", func(context.Context, call) (any, error) {
			return nil, serviceerror.NewUnavailable("down")
		}, 503, codeUnavailable},
		{"invalid customer", "/api/v1/consultations/" + strings.Repeat("a", 40), nil, 400, codeInvalid},
		{"control char customer", "/api/v1/consultations/a%00b", nil, 400, codeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.query = tt.query })
			r := env.do(t, http.MethodGet, tt.path, "", adminHeader()...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantCode != "" {
				if r.ErrorCode(t) != tt.wantCode {
					t.Errorf("error code = %q, want %q", r.ErrorCode(t), tt.wantCode)
				}
				return
			}
			var got struct {
				WorkflowID string
				State      workflows.ConsultationState
			}
			if err := json.Unmarshal(r.Body, &got); err != nil || !strings.HasPrefix(got.WorkflowID, "consultation/") || got.State.Customer == "" {
				t.Errorf("body %s (%v)", r.Body, err)
			}
		})
	}
}

func TestCloseConsultation(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		signal     func(context.Context, call) error
		wantStatus int
		want       workflows.CloseRequest
	}{
		{"default reason", "", func(context.Context, call) error { return nil }, 202, workflows.CloseRequest{Reason: "closed by admin", By: "admin"}},
		{"given reason", `{"reason":"spam","by":"ops"}`, func(context.Context, call) error { return nil }, 202, workflows.CloseRequest{Reason: "spam", By: "ops"}},
		{"none open", "", func(context.Context, call) error {
			return serviceerror.NewNotFound("workflow execution already completed")
		}, 404, workflows.CloseRequest{Reason: "closed by admin", By: "admin"}},
		{"malformed body", `{"reason":`, nil, 400, workflows.CloseRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signal = tt.signal })
			r := env.do(t, http.MethodPost, "/api/v1/consultations/alice/close", tt.body, adminHeader()...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			calls := env.temporal.Calls("Signal")
			if tt.signal == nil {
				if len(calls) != 0 {
					t.Fatalf("signalled on a bad request: %+v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].ID != "consultation/alice" || calls[0].Name != workflows.SignalClose || calls[0].Arg != tt.want {
				t.Errorf("calls = %+v, want close %+v", calls, tt.want)
			}
		})
	}
}
