package activities

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/timdesk/timdesk/desk"
)

// countingDesk counts desk queries and can hold them until released.
type countingDesk struct {
	deskFake
	n    atomic.Int64
	gate chan struct{}
}

func (d *countingDesk) QueryWorkflow(ctx context.Context, id, run, query string, args ...any) (converter.EncodedValue, error) {
	d.n.Add(1)
	if d.gate != nil {
		<-d.gate
	}
	return d.deskFake.QueryWorkflow(ctx, id, run, query, args...)
}

func TestPolicyDeskCache(t *testing.T) {
	override := desk.State{RosterYAML: "timezone: UTC\naccept_timeout: 42s\nagents: [{id: x, shifts: [\"daily 00:00-24:00\"]}]", RosterVersion: 3}
	cases := []struct {
		name      string
		ttl       time.Duration
		deskErr   error
		calls     []time.Duration // when each sequential Policy call happens
		queries   int64
		acceptTTL time.Duration
	}{
		{"one query serves the TTL", 2 * time.Second, nil, []time.Duration{0, time.Second, 1999 * time.Millisecond}, 1, 42 * time.Second},
		{"expired: read again", 2 * time.Second, nil, []time.Duration{0, 2 * time.Second, 3 * time.Second}, 2, 42 * time.Second},
		{"negative TTL: every call", -1, nil, []time.Duration{0, 0, 0}, 3, 42 * time.Second},
		{"failures are not cached: file roster", 2 * time.Second, errors.New("desk down"), []time.Duration{0, 0}, 2, 90 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
			now := start
			d := &countingDesk{deskFake: deskFake{desk: override, deskErr: c.deskErr}}
			r := &Router{Temporal: d, Roster: mustRoster(t, routeRoster), DeskWorkflowID: "timdesk/desk", DeskQuery: "desk",
				DeskCacheTTL: c.ttl, Now: func() time.Time { return now }}
			for _, at := range c.calls {
				now = start.Add(at)
				p, err := r.Policy(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if p.AcceptTimeout != c.acceptTTL {
					t.Errorf("accept timeout %v, want %v", p.AcceptTimeout, c.acceptTTL)
				}
			}
			if got := d.n.Load(); got != c.queries {
				t.Errorf("%d desk queries, want %d", got, c.queries)
			}
		})
	}
}

// TestPolicyDeskCacheShared: callers arriving while a desk query runs wait for it instead of
// querying again.
func TestPolicyDeskCacheShared(t *testing.T) {
	d := &countingDesk{deskFake: deskFake{desk: desk.State{}}, gate: make(chan struct{})}
	r := &Router{Temporal: d, Roster: mustRoster(t, routeRoster), DeskWorkflowID: "timdesk/desk", DeskQuery: "desk"}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := r.Policy(context.Background()); err != nil || p.AcceptTimeout != 90*time.Second {
				t.Errorf("policy: %+v %v", p, err)
			}
		}()
	}
	for d.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the others queue behind the first query
	close(d.gate)
	wg.Wait()
	if got := d.n.Load(); got != 1 {
		t.Errorf("%d desk queries for 20 concurrent Policy calls, want 1", got)
	}
}

// TestDeskLastAnswer: a desk query without an answer does not make routing or Policy forget the
// roster override and presence the desk gave: Route and Policy use its last answer (routing's
// own or Policy's, the newer) until an answer replaces it; Policy asks again only after the TTL.
// Before any answer they use the roster file without presence.
func TestDeskLastAnswer(t *testing.T) {
	// The override knows n1 (offline) and n2 (presence unknown): with presence routing takes
	// n2, without it n1 (roster order); the file knows neither.
	override := desk.State{RosterVersion: 7, RosterYAML: `timezone: UTC
accept_timeout: 42s
agents:
  - {id: n1, capacity: 2, shifts: ["daily 00:00-24:00"]}
  - {id: n2, capacity: 2, shifts: ["daily 00:00-24:00"]}
`}
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) // 18:00 in the file's zone: a_eve on duty
	override.Presence = map[string]desk.Presence{"n1": {Online: false, At: day}}
	type step struct {
		at      time.Duration
		down    bool   // the desk query fails from this step on
		call    string // "route" or "policy"
		agent   string // route: the agent picked
		accept  time.Duration
		queries int64 // desk queries so far
	}
	cases := []struct {
		name    string
		routing string // Router.RoutingQuery
		steps   []step
	}{
		{"routing keeps the override and presence", "routing", []step{
			{call: "route", agent: "n2", accept: 42 * time.Second, queries: 1},
			{down: true, call: "route", agent: "n2", accept: 42 * time.Second, queries: 2},
			{at: time.Minute, call: "route", agent: "n2", accept: 42 * time.Second, queries: 3},
		}},
		{"routing falls back to Policy's answer", "routing", []step{
			{call: "policy", accept: 42 * time.Second, queries: 1},
			{down: true, call: "route", agent: "n2", accept: 42 * time.Second, queries: 2},
		}},
		{"routing without a routing query", "", []step{
			{call: "route", agent: "n2", accept: 42 * time.Second, queries: 1},
			{down: true, call: "route", agent: "n2", accept: 42 * time.Second, queries: 2},
		}},
		{"Policy keeps the override, asks again after the TTL", "routing", []step{
			{call: "policy", accept: 42 * time.Second, queries: 1},
			{at: 2 * time.Second, down: true, call: "policy", accept: 42 * time.Second, queries: 2},
			{at: 3 * time.Second, call: "policy", accept: 42 * time.Second, queries: 2},
			{at: 4 * time.Second, call: "policy", accept: 42 * time.Second, queries: 3},
			{at: 4 * time.Second, call: "route", agent: "n2", accept: 42 * time.Second, queries: 4},
		}},
		{"never answered: the roster file", "routing", []step{
			{down: true, call: "route", agent: "a_eve", accept: 90 * time.Second, queries: 1},
			{call: "policy", accept: 90 * time.Second, queries: 2},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := day
			d := &countingDesk{deskFake: deskFake{desk: override}}
			r := &Router{Temporal: d, Roster: mustRoster(t, routeRoster), DeskWorkflowID: "timdesk/desk", DeskQuery: "desk",
				RoutingQuery: c.routing, DeskCacheTTL: 2 * time.Second, Now: func() time.Time { return now }}
			for i, st := range c.steps {
				now = day.Add(st.at)
				if st.down {
					d.deskErr = errors.New("query desk: context deadline exceeded")
				}
				var accept time.Duration
				switch st.call {
				case "route":
					res, err := r.Route(context.Background(), RouteInput{ConsultationID: "consultation/c", Customer: "c"})
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if res.Agent != st.agent {
						t.Errorf("step %d: routed to %q (%s), want %q", i, res.Agent, res.Reason, st.agent)
					}
					accept = res.AcceptTimeout
				default:
					p, err := r.Policy(context.Background())
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					accept = p.AcceptTimeout
				}
				if accept != st.accept {
					t.Errorf("step %d: accept timeout %v, want %v", i, accept, st.accept)
				}
				if got := d.n.Load(); got != st.queries {
					t.Errorf("step %d: %d desk queries, want %d", i, got, st.queries)
				}
			}
		})
	}
}
