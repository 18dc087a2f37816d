package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/workflows"
)

func TestGetRoster(t *testing.T) {
	t.Run("from the roster file", func(t *testing.T) {
		env := newTestEnv(t)
		r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...)
		if r.Status != 200 || string(r.Body) != testRoster || r.Header.Get("X-Roster-Source") != desk.SourceFile {
			t.Fatalf("status %d source %q body %s", r.Status, r.Header.Get("X-Roster-Source"), r.Body)
		}
	})
	t.Run("from the desk", func(t *testing.T) {
		deskYAML := strings.Replace(testRoster, "Emma", "Emma B.", 1)
		env := newTestEnv(t, func(e *testEnv) {
			e.temporal.query = func(context.Context, call) (any, error) {
				return desk.State{RosterYAML: deskYAML, RosterVersion: 7}, nil
			}
		})
		r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...)
		if r.Status != 200 || string(r.Body) != deskYAML || r.Header.Get("X-Roster-Source") != desk.SourceDesk || r.Header.Get("X-Roster-Version") != "7" {
			t.Fatalf("status %d headers %v body %s", r.Status, r.Header, r.Body)
		}
	})
	t.Run("none", func(t *testing.T) {
		env := newTestEnv(t)
		app, err := newApp(deps{
			Config: testConfig(), Now: func() time.Time { return testNow },
			Temporal: env.temporal, Signer: env.signer, Accounts: env.accounts, Translator: env.trans,
			ReadRosterFile: func() ([]byte, error) { return []byte("agents: ["), nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		env.app = app
		if r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...); r.Status != 404 {
			t.Fatalf("status = %d, want 404", r.Status)
		}
		if r := env.do(t, http.MethodGet, "/api/v1/agents", "", adminHeader()...); r.Status != 404 {
			t.Fatalf("agents status = %d, want 404", r.Status)
		}
	})
}

func TestPutRoster(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		update     func(context.Context, call) (any, error)
		wantStatus int
		wantCode   string
	}{
		{"valid roster", testRoster, func(context.Context, call) (any, error) { return desk.RosterResult{Version: 3}, nil }, 200, ""},
		{"invalid YAML", "agents: [", nil, 400, codeInvalid},
		{"unknown time zone", strings.Replace(testRoster, "Asia/Shanghai", "Mars/Olympus", 1), nil, 400, codeInvalid},
		{"bad shift", strings.Replace(testRoster, "sat 10:00-16:00", "someday", 1), nil, 400, codeInvalid},
		{"empty body", "", nil, 400, codeInvalid},
		{"desk rejects", testRoster, func(context.Context, call) (any, error) {
			return nil, temporal.NewApplicationError("roster has no agents", "BadInput")
		}, 400, codeInvalid},
		{"worker down", testRoster, func(ctx context.Context, _ call) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			return nil, blockUntilDone(ctx)
		}, 504, codeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.updateWithStart = tt.update })
			r := env.do(t, http.MethodPut, "/api/v1/roster", tt.body, append(adminHeader(), "Content-Type", "application/yaml")...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			calls := env.temporal.Calls("UpdateWithStart")
			if tt.update == nil {
				if len(env.temporal.Mutations()) != 0 {
					t.Fatalf("desk updated with an invalid roster: %+v", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("UpdateWithStart calls = %d, want 1", len(calls))
			}
			c := calls[0]
			if c.ID != workflows.DeskWorkflowID || c.Name != workflows.UpdateRoster || c.Update.WaitForStage != client.WorkflowUpdateStageCompleted ||
				c.Arg != (desk.RosterUpdate{YAML: testRoster}) {
				t.Errorf("update = %+v", c)
			}
			if c.Start.ID != workflows.DeskWorkflowID || c.Start.WorkflowIDConflictPolicy != enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING || c.Start.TaskQueue != "tq-test" {
				t.Errorf("start options = %+v", c.Start)
			}
			if tt.wantStatus == 200 {
				var got rosterUpdateResponse
				if err := json.Unmarshal(r.Body, &got); err != nil || got.Version != 3 || got.Agents != 2 {
					t.Errorf("body %s", r.Body)
				}
			}
		})
	}
}

func TestDeleteRoster(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.updateWithStart = func(context.Context, call) (any, error) { return desk.RosterResult{Version: 9}, nil }
	})
	r := env.do(t, http.MethodDelete, "/api/v1/roster", "", adminHeader()...)
	if r.Status != 200 {
		t.Fatalf("status = %d; body %s", r.Status, r.Body)
	}
	if calls := env.temporal.Calls("UpdateWithStart"); len(calls) != 1 || calls[0].Arg != (desk.RosterUpdate{}) {
		t.Fatalf("calls = %+v, want one update with an empty roster", calls)
	}
}
