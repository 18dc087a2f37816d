package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/timdesk/timdesk/desk"
)

// deskFake answers the desk query and load counts.
type deskFake struct {
	desk     desk.State
	deskErr  error
	load     map[string]int
	queries  []string
	countErr error
	ahead    int   // queued consultations started earlier (QueuePosition, Route)
	aheadErr error // the queue count fails (the load counts do not)
	// deskQueries records each desk query: its name and arguments
	deskQueries []string
}

type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }
func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func (d *deskFake) QueryWorkflow(_ context.Context, id, _, query string, args ...any) (converter.EncodedValue, error) {
	if d.deskErr != nil {
		return nil, d.deskErr
	}
	d.deskQueries = append(d.deskQueries, fmt.Sprint(query, args))
	switch {
	case id != "timdesk/desk":
		return nil, errors.New("unexpected query " + id + " " + query)
	case query == "desk":
		return jsonValue{d.desk}, nil
	case query == "routing" && len(args) == 1:
		ids, _ := args[0].([]string)
		return jsonValue{d.desk.ForRouting(ids)}, nil
	}
	return nil, errors.New("unexpected query " + query)
}

var agentInQuery = regexp.MustCompile(`TimdeskAgent = "([^"]+)"`)

func (d *deskFake) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	if d.countErr != nil {
		return nil, d.countErr
	}
	d.queries = append(d.queries, req.GetQuery())
	if strings.Contains(req.GetQuery(), `TimdeskStatus = "queued"`) {
		if d.aheadErr != nil {
			return nil, d.aheadErr
		}
		return &workflowservice.CountWorkflowExecutionsResponse{Count: int64(d.ahead)}, nil
	}
	m := agentInQuery.FindStringSubmatch(req.GetQuery())
	if m == nil || !strings.Contains(req.GetQuery(), `TimdeskStatus = "human"`) {
		return nil, errors.New("unexpected count query " + req.GetQuery())
	}
	return &workflowservice.CountWorkflowExecutionsResponse{Count: int64(d.load[m[1]])}, nil
}

const routeRoster = `
timezone: Asia/Shanghai
accept_timeout: 90s
agents:
  - {id: a1, language: zh, capacity: 2, shifts: ["daily 09:00-18:00"]}
  - {id: a2, capacity: 2, shifts: ["daily 09:00-18:00"]}
  - {id: a3, language: ja, capacity: 1, shifts: ["daily 09:00-18:00"]}
  - {id: a_eve, language: en, shifts: ["daily 18:00-22:00"]}
supervisors: [boss]
`

func TestRoute(t *testing.T) {
	roster := mustRoster(t, routeRoster)
	sh := roster.Location()
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, sh)
	night := time.Date(2026, 11, 26, 23, 0, 0, 0, sh)
	online := func(ids ...string) map[string]desk.Presence {
		m := map[string]desk.Presence{}
		for _, id := range ids {
			m[id] = desk.Presence{Online: true, At: day}
		}
		return m
	}
	cases := []struct {
		name     string
		now      time.Time
		desk     desk.State
		load     map[string]int
		in       RouteInput
		decision string
		agent    string
		lang     string
		reason   string
	}{
		{"least loaded wins", day, desk.State{Presence: online("a1", "a2", "a3")}, map[string]int{"a1": 1, "a2": 0, "a3": 0},
			RouteInput{}, DecisionAssigned, "a2", "fr", "least loaded"},
		{"ties go to roster order", day, desk.State{Presence: online("a1", "a2", "a3")}, nil,
			RouteInput{}, DecisionAssigned, "a1", "zh", "a1 on duty"},
		{"offline agents are skipped", day, desk.State{Presence: map[string]desk.Presence{"a1": {Online: false}, "a2": {Online: false}, "a3": {Online: true}}}, nil,
			RouteInput{}, DecisionAssigned, "a3", "ja", "a1 offline"},
		{"known online before unknown presence", day, desk.State{Presence: online("a3")}, nil,
			RouteInput{}, DecisionAssigned, "a3", "ja", "online"},
		{"full agents are skipped (capacity)", day, desk.State{}, map[string]int{"a1": 2, "a2": 2},
			RouteInput{}, DecisionAssigned, "a3", "ja", "a1 full 2/2"},
		{"timed-out and current agents are never picked", day, desk.State{}, nil,
			RouteInput{Exclude: []string{"a1"}, Current: "a2"}, DecisionAssigned, "a3", "ja", "timed out"},
		{"nobody left: supervisor", day, desk.State{}, nil,
			RouteInput{Exclude: []string{"a1", "a2", "a3"}}, DecisionSupervisor, "boss", "fr", "supervisor boss"},
		{"supervisor timed out too: unavailable", day, desk.State{}, nil,
			RouteInput{Exclude: []string{"a1", "a2", "a3", "boss"}}, DecisionUnavailable, "", "", "nobody available"},
		{"nobody on duty: next shift", night, desk.State{}, nil,
			RouteInput{}, DecisionOffHours, "", "", "2026-11-27 09:00 CST"},
		{"transfer to a named agent", day, desk.State{Presence: map[string]desk.Presence{"a_eve": {Online: false}}}, nil,
			RouteInput{Target: "a_eve"}, DecisionAssigned, "a_eve", "en", "transferred to a_eve (offline)"},
		{"transfer to a stranger", day, desk.State{}, nil,
			RouteInput{Target: "nobody"}, DecisionInvalidTarget, "", "", "not on the roster"},
		{"an agent who reads the customer's language before a less loaded one", day, desk.State{Presence: online("a1", "a2", "a3")}, map[string]int{"a1": 1},
			RouteInput{Language: "ja"}, DecisionAssigned, "a3", "ja", "reads ja"},
		{"language match never beats known presence", day, desk.State{Presence: online("a1")}, nil,
			RouteInput{Language: "ja"}, DecisionAssigned, "a1", "zh", "a1 on duty"},
		{"no agent reads it: least loaded", day, desk.State{Presence: online("a1", "a2", "a3")}, map[string]int{"a1": 1, "a3": 1},
			RouteInput{Language: "ko"}, DecisionAssigned, "a2", "fr", "least loaded"},
		{"desk language preference wins", day, desk.State{Presence: online("a1"), Languages: map[string]string{"a1": "ko"}}, nil,
			RouteInput{}, DecisionAssigned, "a1", "ko", ""},
		{"desk roster override", day, desk.State{RosterYAML: "timezone: Asia/Shanghai\nagents: [{id: other, shifts: [\"daily 00:00-24:00\"]}]", RosterVersion: 2}, nil,
			RouteInput{}, DecisionAssigned, "other", "fr", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &deskFake{desk: c.desk, load: c.load}
			r := &Router{Temporal: fake, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk",
				Defaults: desk.Policy{DeskLanguage: "fr"}, Now: func() time.Time { return c.now }}
			res, err := r.Route(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != c.decision || res.Agent != c.agent || res.AgentLanguage != c.lang || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("got %s %s (%s) %q, want %s %s (%s) ~%q", res.Decision, res.Agent, res.AgentLanguage, res.Reason, c.decision, c.agent, c.lang, c.reason)
			}
			if c.decision == DecisionAssigned && c.in.Target == "" && c.desk.RosterYAML == "" && res.AcceptTimeout != 90*time.Second {
				t.Errorf("accept timeout %v, want the roster's 90s", res.AcceptTimeout)
			}
			if c.decision == DecisionOffHours && !res.NextShift.Equal(time.Date(2026, 11, 27, 9, 0, 0, 0, sh)) {
				t.Errorf("next shift %v", res.NextShift)
			}
		})
	}
}

// TestRouteServesTheQueueFirst: a customer takes a free slot only when the free slots outnumber
// the customers queued since earlier (their own consultation never counted); otherwise the slots
// are kept for the queue and the customer is queued too (or goes to an online supervisor, who
// takes whoever no agent can).
func TestRouteServesTheQueueFirst(t *testing.T) {
	roster := mustRoster(t, routeRoster)
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, roster.Location())
	bossOff := map[string]desk.Presence{"boss": {Online: false}}
	since := time.Date(2026, 11, 26, 1, 55, 0, 0, time.UTC)
	cases := []struct {
		name     string
		presence map[string]desk.Presence
		load     map[string]int
		ahead    int
		since    time.Time
		decision string
		agent    string
		reason   string
		wantAt   string // the TimdeskQueuedSince bound of the queue count
	}{
		{"nobody waiting longer: assigned", bossOff, nil, 0, since, DecisionAssigned, "a1", "a1 on duty", "2026-11-26T01:55:00Z"},
		{"more free slots than customers ahead: the slot after theirs", bossOff, nil, 4, since, DecisionAssigned, "a2",
			"after the picks of 4 customer(s) waiting longer", "2026-11-26T01:55:00Z"},
		{"as many customers ahead as free slots: queued", bossOff, nil, 5, since, DecisionUnavailable, "",
			"5 free slot(s) kept for 5 customer(s) waiting longer", "2026-11-26T01:55:00Z"},
		{"one slot left and one customer ahead: queued", bossOff, map[string]int{"a1": 2, "a2": 2}, 1, since, DecisionUnavailable, "",
			"1 free slot(s) kept for 1 customer(s) waiting longer", "2026-11-26T01:55:00Z"},
		{"a new hand-off counts everyone queued before now", bossOff, map[string]int{"a1": 2, "a2": 2}, 1, time.Time{}, DecisionUnavailable, "",
			"kept for 1 customer(s)", "2026-11-26T02:00:00Z"},
		{"an online supervisor takes the overflow", nil, map[string]int{"a1": 2, "a2": 2}, 1, since, DecisionSupervisor, "boss",
			"kept for 1 customer(s)", "2026-11-26T01:55:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &deskFake{desk: desk.State{Presence: c.presence}, load: c.load, ahead: c.ahead}
			r := &Router{Temporal: f, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk", Now: func() time.Time { return day }}
			res, err := r.Route(context.Background(), RouteInput{ConsultationID: "consultation/客户_王", Since: c.since})
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != c.decision || res.Agent != c.agent || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("got %s %s %q, want %s %s ~%q", res.Decision, res.Agent, res.Reason, c.decision, c.agent, c.reason)
			}
			want := `TimdeskStatus = "queued" AND ExecutionStatus = "Running" AND TimdeskQueuedSince < "` + c.wantAt + `" AND WorkflowId != "consultation/客户_王"`
			if !slices.Contains(f.queries, want) {
				t.Errorf("count queries %q lack %q", f.queries, want)
			}
		})
	}
	// The queue count failing is a transient error for Temporal to retry, not a guess.
	f := &deskFake{desk: desk.State{Presence: bossOff}}
	r := &Router{Temporal: f, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk", Now: func() time.Time { return day }}
	f.aheadErr = errors.New("visibility down")
	if _, err := r.Route(context.Background(), RouteInput{}); err == nil || !strings.Contains(err.Error(), "queue ahead") {
		t.Errorf("a queue count failure is not returned: %v", err)
	}
}

func TestRouteDegrades(t *testing.T) {
	roster := mustRoster(t, routeRoster)
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, roster.Location())
	// desk query fails: route on the file roster without presence
	r := &Router{Temporal: &deskFake{deskErr: errors.New("no desk")}, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk", Now: func() time.Time { return day }}
	if res, err := r.Route(context.Background(), RouteInput{}); err != nil || res.Agent != "a1" {
		t.Errorf("desk down: %+v %v", res, err)
	}
	// visibility fails: transient error for Temporal to retry
	r.Temporal = &deskFake{countErr: errors.New("unavailable")}
	if _, err := r.Route(context.Background(), RouteInput{}); err == nil {
		t.Error("count failure not returned")
	}
	// no Temporal at all: zero load
	r.Temporal = nil
	if res, err := r.Route(context.Background(), RouteInput{}); err != nil || res.Agent != "a1" {
		t.Errorf("no temporal: %+v %v", res, err)
	}
}

// TestRouteReadsTheRoutingQuery: with RoutingQuery set, routing asks the desk for its routing
// view with the roster file's agents and supervisors (not the whole state with every customer's
// language) and still sees presence and the agents' language preferences.
func TestRouteReadsTheRoutingQuery(t *testing.T) {
	roster := mustRoster(t, routeRoster)
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, roster.Location())
	f := &deskFake{desk: desk.State{
		Presence:  map[string]desk.Presence{"a1": {Online: false}, "a2": {Online: true}},
		Languages: map[string]string{"a2": "ko", "cust1": "zh"},
	}}
	r := &Router{Temporal: f, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk", RoutingQuery: "routing",
		Now: func() time.Time { return day }}
	res, err := r.Route(context.Background(), RouteInput{Customer: "cust1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Agent != "a2" || res.AgentLanguage != "ko" {
		t.Errorf("routed to %s (%s), want a2 (a1 offline) reading ko (its desk preference)", res.Agent, res.AgentLanguage)
	}
	if want := []string{"routing[[a1 a2 a3 a_eve boss]]"}; !slices.Equal(f.deskQueries, want) {
		t.Errorf("desk queries = %q, want %q", f.deskQueries, want)
	}
}

func TestPolicy(t *testing.T) {
	roster := mustRoster(t, routeRoster)
	d := desk.DefaultPolicy()
	d.DeskLanguage = "zh"
	r := &Router{Roster: roster, Defaults: d}
	p, err := r.Policy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.AcceptTimeout != 90*time.Second || p.ReplyTimeout != desk.DefaultReplyTimeout || p.DeskLanguage != "zh" || len(p.HumanKeywords) == 0 {
		t.Errorf("policy = %+v", p)
	}
}

func mustRoster(t *testing.T, doc string) *desk.Roster {
	t.Helper()
	r, err := desk.ParseRoster([]byte(doc))
	if err != nil {
		t.Fatalf("ParseRoster: %v", err)
	}
	return r
}

// TestQueuePosition: the customer's place is one more than the running queued consultations that
// started before theirs.
func TestQueuePosition(t *testing.T) {
	f := &deskFake{ahead: 4}
	r := &Router{Temporal: f}
	env := activityEnv()
	register(env, r)
	since := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	v, err := env.ExecuteActivity(r.QueuePosition, QueuePositionInput{Since: since, ConsultationID: "consultation/me"})
	if err != nil {
		t.Fatal(err)
	}
	var res QueuePositionResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Position != 5 {
		t.Errorf("position = %d, want 5", res.Position)
	}
	want := `TimdeskStatus = "queued" AND ExecutionStatus = "Running" AND TimdeskQueuedSince < "2026-12-05T09:30:00Z" AND WorkflowId != "consultation/me"`
	if len(f.queries) != 1 || f.queries[0] != want {
		t.Errorf("count queries = %q, want %q", f.queries, want)
	}
	f.countErr = errors.New("visibility down")
	if _, err := env.ExecuteActivity(r.QueuePosition, QueuePositionInput{Since: since}); err == nil {
		t.Error("a visibility failure is not returned")
	}
}

// TestRouteSpreadsCustomersWokenTogether: consultations woken together read the same loads before
// any of them is assigned; each leaves the picks of the customers waiting longer to them and takes
// the next, so they spread over the free slots instead of all picking the least-loaded agent.
func TestRouteSpreadsCustomersWokenTogether(t *testing.T) {
	roster := mustRoster(t, routeRoster) // a1 (zh, 2 slots), a2 (2), a3 (ja, 1); boss offline below
	day := time.Date(2026, 11, 26, 10, 0, 0, 0, roster.Location())
	presence := map[string]desk.Presence{"boss": {Online: false}, "a1": {Online: true}, "a2": {Online: true}, "a3": {Online: true}}
	tests := []struct {
		name     string
		load     map[string]int
		language string
		picks    []string // the agent for 0, 1, 2 ... customers ahead; "" = queued
	}{
		{"free slots in least-loaded order", nil, "", []string{"a1", "a2", "a3", "a1", "a2", ""}},
		{"loads count", map[string]int{"a1": 1}, "", []string{"a2", "a3", "a1", "a2", ""}},
		{"readers of the customer's language first", nil, "ja", []string{"a3", "a1", "a2", "a1", "a2", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for ahead, want := range tt.picks {
				f := &deskFake{desk: desk.State{Presence: presence}, load: tt.load, ahead: ahead}
				r := &Router{Temporal: f, Roster: roster, DeskWorkflowID: "timdesk/desk", DeskQuery: "desk", Now: func() time.Time { return day }}
				res, err := r.Route(context.Background(), RouteInput{ConsultationID: "c", Language: tt.language})
				if err != nil {
					t.Fatal(err)
				}
				if res.Agent != want {
					t.Errorf("%d ahead: %s %q (%s), want %q", ahead, res.Decision, res.Agent, res.Reason, want)
				}
				if want != "" && ahead > 0 && !strings.Contains(res.Reason, fmt.Sprintf("after the picks of %d customer(s)", ahead)) {
					t.Errorf("%d ahead: reason %q does not say so", ahead, res.Reason)
				}
			}
		})
	}
}
