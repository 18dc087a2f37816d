package workflows

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/internal/temporalenv"
)

// Checked-in histories of real dev-server runs, one per workflow shape; TestReplay replays them
// with the current code. Until the first release they are re-recorded whenever the command order
// changes (TestGenerateHistories); from then on a history is added for each change ID it covers
// (see doc.go and versions.go).
var replayHistories = []struct {
	file     string
	workflow any
	changes  []string // GetVersion change IDs the history must have recorded (the branch it covers)
}{
	// AI answer, duplicate, explicit hand-off, accept-timeout escalation, agent reply, /close,
	// rating reply
	{"testdata/consultation.json", ConsultationWorkflow, nil},
	// hand-off while the escalation ladder is exhausted (round 2), woken by the desk when an
	// agent comes online (route_now), assigned, closed and rated
	{"testdata/consultation_queued.json", ConsultationWorkflow, nil},
	// presence (an agent coming online wakes the queued consultation), a language preference and
	// a roster update
	{"testdata/desk.json", DeskWorkflow, nil},
}

func TestReplay(t *testing.T) {
	for _, h := range replayHistories {
		t.Run(filepath.Base(h.file), func(t *testing.T) {
			rp := worker.NewWorkflowReplayer()
			rp.RegisterWorkflow(h.workflow)
			if err := rp.ReplayWorkflowHistoryFromJSONFile(nil, h.file); err != nil {
				t.Fatalf("replay %s: %v", h.file, err)
			}
			recorded := changeIDs(t, h.file)
			for _, id := range h.changes {
				if !slices.Contains(recorded, id) {
					t.Errorf("%s recorded change IDs %v, want %s", h.file, recorded, id)
				}
			}
		})
	}
}

// TestGenerateHistories records the replayHistories against the real dev server, one subtest
// per workflow shape:
//   - consultation: AI answer, duplicate, explicit hand-off, accept timeout escalation, agent
//     reply, /close, rating reply → testdata/consultation.json;
//   - queued: a consultation whose ladder is exhausted (round 2 pending) is woken when an agent
//     comes online (the desk's WakeQueued lists it through the dev server's visibility and
//     signals route_now); then a language preference and a roster update reach the desk →
//     testdata/consultation_queued.json and testdata/desk.json.
//
// Run with TIMDESK_UPDATE_HISTORY=1 (needs the Temporal CLI at TIMDESK_TEMPORAL_CLI or
// ../bin/temporal; nothing is downloaded).
func TestGenerateHistories(t *testing.T) {
	if os.Getenv("TIMDESK_UPDATE_HISTORY") != "1" {
		t.Skip("set TIMDESK_UPDATE_HISTORY=1 to regenerate testdata histories")
	}
	cli := os.Getenv("TIMDESK_TEMPORAL_CLI")
	if cli == "" {
		cli, _ = filepath.Abs("../bin/temporal")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("temporal CLI %s: %v", cli, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // each consultation outlasts replays (2 min)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		LogLevel:         "error",
		SearchAttributes: SearchAttributes(),
		ExtraArgs:        temporalenv.DevServerArgs,
	})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	defer func() { _ = srv.Stop() }()
	c := srv.Client()

	const queuedCust = "cust_history_queued"
	f := newFake()
	f.policy.AcceptTimeout = 2 * time.Second
	f.policy.RetryRouteAfter = 3 * time.Second
	f.policy.RatingWindow = 5 * time.Second
	base := f.route
	var mu sync.Mutex
	ladder := &ladderRouter{offline: map[string]bool{}}
	ladderRoutes := 0
	f.route = func(in activities.RouteInput, n int) activities.RouteResult {
		if in.Customer == queuedCust {
			// round 1 times out quickly (emma, sam, zhang: 2 s each), then the ladder is
			// exhausted; the agent of round 2 has time to answer
			r := ladder.route(in, n)
			mu.Lock()
			ladderRoutes++
			round1 := ladderRoutes <= 4
			mu.Unlock()
			r.AcceptTimeout = time.Minute
			if round1 {
				r.AcceptTimeout = 2 * time.Second
			}
			return r
		}
		r := base(in, n)
		r.AcceptTimeout = 2 * time.Second
		return r
	}
	const tq = "timdesk-history"
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(ConsultationWorkflow)
	w.RegisterWorkflow(DeskWorkflow)
	w.RegisterActivity(f)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	t.Run("consultation", func(t *testing.T) { generateConsultation(ctx, t, c, tq, f) })
	t.Run("queued", func(t *testing.T) { generateQueued(ctx, t, c, tq, f, queuedCust) })
}

// generateQueued: "human please"; round 1 of the ladder times out, the ladder is exhausted and
// the consultation waits in the queue until agent_li comes online: the desk wakes it, round 2
// assigns agent_emma, who answers; closed and rated. The desk then gets a language preference
// and a roster update.
func generateQueued(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs, cust string) {
	id := ConsultationID(cust)
	// The real wake-up, with a roster of one agent on duty (agent_li, one free slot: the
	// generator's Router counts no load) so it wakes the one queued customer.
	ro, err := desk.ParseRoster([]byte("timezone: UTC\nagents:\n  - {id: agent_li, language: zh, shifts: [\"daily 00:00-24:00\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.wake = func(ctx context.Context, in activities.WakeInput) (activities.WakeResult, error) {
		return (&activities.Router{Waker: c, Roster: ro}).WakeQueued(ctx, in)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.wake = nil
		f.mu.Unlock()
	}()
	p := f.policy
	p.AcceptTimeout, p.RetryRouteAfter, p.RatingWindow = 2*time.Second, time.Hour, 5*time.Second
	run, err := c.SignalWithStartWorkflow(ctx, id, SignalMessage, InboundMessage{MsgKey: "w1", From: cust, To: "support", Text: "human please"},
		client.StartWorkflowOptions{ID: id, TaskQueue: tq, TypedSearchAttributes: SearchAttributes()},
		ConsultationWorkflow, ConsultationInput{Customer: cust, ServiceAccount: "support", Policy: &p})
	if err != nil {
		t.Fatal(err)
	}
	state := func() ConsultationState {
		var st ConsultationState
		if v, err := c.QueryWorkflow(ctx, id, "", QueryState); err == nil {
			_ = v.Get(&st)
		}
		return st
	}
	waitUntil(t, "ladder exhausted", func() bool { st := state(); return st.Round == 2 && st.Phase == PhaseWaitingAgent })
	waitUntil(t, "queued in visibility", func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `TimdeskStatus = "queued" AND ExecutionStatus = "Running" AND WorkflowId = "` + id + `"`,
		})
		return err == nil && len(resp.GetExecutions()) == 1
	})
	drun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: DeskWorkflowID, TaskQueue: tq}, DeskWorkflow, DeskInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, DeskWorkflowID, "", SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: true, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "round 2 assigned at once", func() bool { st := state(); return st.Agent == "agent_emma" && st.Round == 2 })
	if owned := agentMessage(ctx, t, c, id, InboundMessage{MsgKey: "we1", From: "agent_emma", To: cust, Text: "Sorry for the wait, how can I help?"}); !owned.Owned {
		t.Fatalf("agent message: %+v", owned)
	}
	if err := c.SignalWorkflow(ctx, id, "", SignalClose, CloseRequest{Reason: "resolved", By: "admin"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "rating prompt", func() bool { return f.find(cust, "rating from 1") != nil })
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, InboundMessage{MsgKey: "w2", From: cust, To: "support", Text: "5"}); err != nil {
		t.Fatal(err)
	}
	var res ConsultationResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Rating != 5 {
		t.Fatalf("result %+v", res)
	}
	if err := c.SignalWorkflow(ctx, DeskWorkflowID, "", SignalLanguage, desk.LanguagePreference{UserID: cust, Language: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	uh, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: DeskWorkflowID, UpdateName: UpdateRoster, UpdateID: "r1", WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{desk.RosterUpdate{YAML: "timezone: UTC\nagents:\n  - {id: agent_li, language: zh, shifts: [\"daily 00:00-24:00\"]}\n"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var rr desk.RosterResult
	if err := uh.Get(ctx, &rr); err != nil || rr.Version != 1 {
		t.Fatalf("roster update: %+v %v", rr, err)
	}
	if err := c.TerminateWorkflow(ctx, DeskWorkflowID, drun.GetRunID(), "history captured"); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation_queued.json")
	writeHistory(t, ctx, c, DeskWorkflowID, drun.GetRunID(), "testdata/desk.json")
}

// generateConsultation: AI answer, duplicate, explicit hand-off, accept timeout escalation, agent
// reply, /close, rating reply.
func generateConsultation(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs) {
	const cust = "cust_history"
	id := ConsultationID(cust)
	msg := func(key, text string) InboundMessage {
		return InboundMessage{MsgKey: key, From: cust, To: "support", Text: text}
	}
	run, err := c.SignalWithStartWorkflow(ctx, id, SignalMessage, msg("h1", "how long does shipping take?"),
		client.StartWorkflowOptions{ID: id, TaskQueue: tq, TypedSearchAttributes: SearchAttributes()},
		ConsultationWorkflow, ConsultationInput{Customer: cust, ServiceAccount: "support"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "AI answer", func() bool { return len(f.sentTo(cust)) >= 1 })
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, msg("h1", "how long does shipping take?")); err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, msg("h2", "我要转人工")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "relay to agent_emma", func() bool { return f.find("agent_emma", "我要转人工") != nil })
	waitUntil(t, "escalation to agent_li", func() bool { return f.find("agent_li", "我要转人工") != nil })
	agentMsg := func(key, text string) AgentMessageResult {
		return agentMessage(ctx, t, c, id, InboundMessage{MsgKey: key, From: "agent_li", To: cust, Text: text})
	}
	if res := agentMsg("a1", "Hello, how can I help?"); !res.Owned {
		t.Fatalf("agent_li does not own it: %+v", res)
	}
	waitUntil(t, "agent reply to customer", func() bool { return f.find(cust, "Hello, how can I help?") != nil })
	if _, err := c.QueryWorkflow(ctx, id, "", QueryState); err != nil {
		t.Fatal(err)
	}
	agentMsg("a2", "/close")
	waitUntil(t, "rating prompt", func() bool { return f.find(cust, "打分") != nil })
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, msg("h3", "5")); err != nil {
		t.Fatal(err)
	}
	var res ConsultationResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.ClosedBy != "agent_li" || res.Rating != 5 {
		t.Fatalf("result %+v", res)
	}
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation.json")
}

// changeIDs lists the change IDs of the GetVersion markers recorded in a JSON history file.
func changeIDs(t *testing.T, file string) []string {
	t.Helper()
	r, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	hist, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	var ids []string
	for _, ev := range hist.GetEvents() {
		m := ev.GetMarkerRecordedEventAttributes()
		if m == nil || m.GetMarkerName() != "Version" {
			continue
		}
		var id string
		if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["change-id"], &id); err != nil {
			t.Fatalf("%s: decode change-id: %v", file, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// agentMessage sends m to consultation id as the agent_message update (UpdateID = MsgKey), as the
// API does, and returns the workflow's answer.
func agentMessage(ctx context.Context, t *testing.T, c client.Client, id string, m InboundMessage) AgentMessageResult {
	t.Helper()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: UpdateAgentMessage, UpdateID: m.MsgKey, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{m},
	})
	if err != nil {
		t.Fatal(err)
	}
	var res AgentMessageResult
	if err := h.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeHistory(t *testing.T, ctx context.Context, c client.Client, id, runID, file string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", file, len(hist.Events))
	if strings.Contains(string(data), "\"workflowTaskFailedEventAttributes\"") {
		t.Errorf("%s has a failed workflow task", file)
	}
}
