package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/timdesk/timdesk/desk"
)

func TestListAgents(t *testing.T) {
	at := testNow.Add(-time.Minute)
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.query = func(context.Context, call) (any, error) {
			return desk.State{Presence: map[string]desk.Presence{"agent_li": {Online: true, At: at}}}, nil
		}
		e.temporal.count = func(_ context.Context, c call) (int64, error) {
			switch {
			case strings.Contains(c.Query, `"agent_li"`):
				return 2, nil
			case strings.Contains(c.Query, `"agent_zhang"`):
				return 0, errors.New("visibility down")
			}
			return 0, nil
		}
	})
	r := env.do(t, http.MethodGet, "/api/v1/agents", "", adminHeader()...)
	if r.Status != 200 {
		t.Fatalf("status = %d; body %s", r.Status, r.Body)
	}
	var got agentsResponse
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Agents) != 3 || got.RosterSource != desk.SourceFile || !got.PresenceKnown {
		t.Fatalf("response = %s", r.Body)
	}
	byID := map[string]agentView{}
	for _, a := range got.Agents {
		byID[a.ID] = a
	}
	li, emma, zhang := byID["agent_li"], byID["agent_emma"], byID["agent_zhang"]
	if li.Online == nil || !*li.Online || li.PresenceAt == nil || !li.PresenceAt.Equal(at) || li.Load == nil || *li.Load != 2 ||
		!li.OnDuty || li.Capacity != 5 || li.Language != "zh" {
		t.Errorf("agent_li = %s", mustJSON(li))
	}
	if emma.Online == nil || *emma.Online || emma.Load == nil || *emma.Load != 0 || emma.OnDuty {
		t.Errorf("agent_emma = %s", mustJSON(emma))
	}
	if !zhang.Supervisor || zhang.Load != nil || zhang.Capacity != desk.DefaultCapacity {
		t.Errorf("agent_zhang = %s", mustJSON(zhang))
	}
	for _, c := range env.temporal.Calls("Count") {
		// the running consultations only: a closed run (terminated, timed out) keeps its last status
		if c.ID != "default" || !strings.HasPrefix(c.Query, `TimdeskStatus = "human" AND TimdeskAgent = "`) ||
			!strings.HasSuffix(c.Query, `AND ExecutionStatus = "Running"`) {
			t.Errorf("count query %q in namespace %q", c.Query, c.ID)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
