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
	"github.com/timdesk/timdesk/tim"
)

// Checked-in histories of real dev-server runs; TestReplay replays them with the current code.
var replayHistories = []struct {
	file     string
	workflow any
	changes  []string // GetVersion change IDs the history must have recorded (the branch it covers)
}{
	// before the rating window (versionRatingWindow): replays through the DefaultVersion branch
	{"testdata/consultation_full.json", ConsultationWorkflow, nil},
	// with the rating window and a rating reply
	{"testdata/consultation_rating.json", ConsultationWorkflow, []string{versionRatingWindow}},
	// an Owned agent message and a close pending together (versionAgentBeforeClose marker)
	{"testdata/consultation_agent_before_close.json", ConsultationWorkflow, []string{versionAgentBeforeClose}},
	// an image while the AI owns it → hand-off "attachment", queued, relayed on assignment; mixed
	// text + non-text both ways (versionAttachments marker)
	{"testdata/consultation_attachment.json", ConsultationWorkflow, []string{versionAttachments}},
	// the escalation ladder exhausted (round 2, versionLadderRounds), then woken by the desk when
	// an agent came online (route_now, versionRouteNow) and assigned at once
	{"testdata/consultation_ladder.json", ConsultationWorkflow, []string{versionLadderRounds, versionRouteNow}},
	// nobody free at the hand-off nor at any retry: the customer stays silent and the queued
	// consultation closes for inactivity (versionQueueIdle)
	{"testdata/consultation_queue_idle.json", ConsultationWorkflow, []string{versionQueueIdle}},
	// first off hours, then agents online who never accept (ladder rounds): the consultation
	// closes QueueIdleTimeout after the customer's message (versionQueueIdleCap)
	{"testdata/consultation_queue_idle_cap.json", ConsultationWorkflow, []string{versionQueueIdleCap}},
	// before deskVersionWakeQueued: an agent coming online was only recorded
	{"testdata/desk.json", DeskWorkflow, nil},
	// an agent coming online runs WakeQueued (deskVersionWakeQueued)
	{"testdata/desk_wake.json", DeskWorkflow, []string{deskVersionWakeQueued}},
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

// TestGenerateHistories runs scenarios against the real dev server, one subtest per history file:
//   - rating: a full consultation (AI answer, duplicate, explicit hand-off, accept timeout
//     escalation, agent reply, /close, rating reply) → testdata/consultation_rating.json;
//   - agent_before_close: a consultation closed while an Owned agent message waits
//     (versionAgentBeforeClose) → testdata/consultation_agent_before_close.json;
//   - attachment: an image while the AI owns the consultation (hand-off "attachment", nobody free,
//     a file while queued, both relayed on assignment), an agent's text + image, a customer's
//     text + file (versionAttachments) → testdata/consultation_attachment.json;
//   - desk: a desk session → testdata/desk.json (recorded before deskVersionWakeQueued: do not
//     regenerate it, it proves the old branch replays);
//   - wake: a consultation whose ladder is exhausted (round 2 pending) is woken when an agent
//     comes online (the desk's WakeQueued lists it through the dev server's visibility and
//     signals route_now) → testdata/consultation_ladder.json and testdata/desk_wake.json.
//   - queue_idle: a hand-off that finds nobody at any retry, the customer silent: the queued
//     consultation closes for inactivity (versionQueueIdle) → testdata/consultation_queue_idle.json.
//   - queue_idle_cap: off hours until a shift, then agents who never accept (ladder rounds); the
//     customer silent, it closes QueueIdleTimeout after the message (versionQueueIdleCap) →
//     testdata/consultation_queue_idle_cap.json.
//
// consultation_full.json stays: it is the history from before versionRatingWindow. Histories
// recorded before a later change replay its DefaultVersion branch, so regenerate only the file
// a change needs, e.g. -run 'TestGenerateHistories/attachment'. Run with TIMDESK_UPDATE_HISTORY=1
// (needs the Temporal CLI at TIMDESK_TEMPORAL_CLI or ../bin/temporal; nothing is downloaded).
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		LogLevel:         "error",
		SearchAttributes: SearchAttributes(),
	})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	defer func() { _ = srv.Stop() }()
	c := srv.Client()

	const attachCust = "cust_history_attachment"
	const ladderCust = "cust_history_ladder"
	const queueIdleCust = "cust_history_queue_idle"
	const queueIdleCapCust = "cust_history_queue_idle_cap"
	f := newFake()
	f.policy.AcceptTimeout = 2 * time.Second
	f.policy.RetryRouteAfter = 3 * time.Second
	f.policy.RatingWindow = 5 * time.Second
	base := f.route
	var attachMu sync.Mutex
	attachRoutes := 0
	ladder := &ladderRouter{offline: map[string]bool{}}
	ladderRoutes := 0
	capShift := false
	f.route = func(in activities.RouteInput, n int) activities.RouteResult {
		if in.Customer == queueIdleCapCust {
			attachMu.Lock()
			first := !capShift
			capShift = true
			attachMu.Unlock()
			if first { // the hand-off is off hours; the shift starts 3 s later
				next := time.Now().Add(3 * time.Second).UTC()
				return activities.RouteResult{Decision: activities.DecisionOffHours, Reason: "nobody on duty",
					NextShift: next, NextShiftLocal: next.Format(time.RFC3339)}
			}
			r := neverAccepting(in, n)
			r.AcceptTimeout = 2 * time.Second
			return r
		}
		if in.Customer == queueIdleCust {
			return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "all offline"}
		}
		if in.Customer == ladderCust {
			// round 1 times out quickly (emma, sam, zhang: 2 s each), then the ladder is
			// exhausted; the agent of round 2 has time to answer
			r := ladder.route(in, n)
			attachMu.Lock()
			ladderRoutes++
			round1 := ladderRoutes <= 4
			attachMu.Unlock()
			r.AcceptTimeout = time.Minute
			if round1 {
				r.AcceptTimeout = 2 * time.Second
			}
			return r
		}
		r := base(in, n)
		r.AcceptTimeout = 2 * time.Second
		if in.Customer == attachCust {
			// nobody free at the hand-off (the attachments wait in the queue), then agent_emma
			// with time to answer
			attachMu.Lock()
			attachRoutes++
			first := attachRoutes == 1
			attachMu.Unlock()
			if first {
				return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "everyone busy"}
			}
			r.AcceptTimeout = time.Minute
		}
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

	t.Run("rating", func(t *testing.T) { generateRating(ctx, t, c, tq, f) })
	t.Run("agent_before_close", func(t *testing.T) { generateAgentBeforeClose(ctx, t, c, tq, f) })
	t.Run("attachment", func(t *testing.T) { generateAttachment(ctx, t, c, tq, f, attachCust) })
	t.Run("desk", func(t *testing.T) { generateDesk(ctx, t, c, tq) })
	t.Run("wake", func(t *testing.T) { generateWake(ctx, t, c, tq, f, ladderCust) })
	t.Run("queue_idle", func(t *testing.T) { generateQueueIdle(ctx, t, c, tq, f, queueIdleCust) })
	t.Run("queue_idle_cap", func(t *testing.T) { generateQueueIdleCap(ctx, t, c, tq, f, queueIdleCapCust) })
}

// generateQueueIdle: "human please", nobody free at the hand-off nor at the retries (2 s, 4 s...);
// the customer stays silent and the consultation closes for inactivity QueueIdleTimeout (8 s)
// after the message, then waits out the rating window.
func generateQueueIdle(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs, cust string) {
	id := ConsultationID(cust)
	p := f.policy
	p.QueueIdleTimeout, p.RetryRouteAfter, p.RatingWindow = 8*time.Second, 2*time.Second, 2*time.Second
	run, err := c.SignalWithStartWorkflow(ctx, id, SignalMessage, InboundMessage{MsgKey: "i1", From: cust, To: "support", Text: "human please"},
		client.StartWorkflowOptions{ID: id, TaskQueue: tq, TypedSearchAttributes: SearchAttributes()},
		ConsultationWorkflow, ConsultationInput{Customer: cust, ServiceAccount: "support", Policy: &p})
	if err != nil {
		t.Fatal(err)
	}
	var res ConsultationResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Reason != reasonInactivity {
		t.Fatalf("result %+v, want closed for inactivity", res)
	}
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation_queue_idle.json")
}

// generateQueueIdleCap: "human please" off hours (the customer is told the next shift, 3 s
// later); at the shift agent_emma and agent_li are online but never accept (2 s each), the ladder
// is exhausted and new rounds start; the customer stays silent and the consultation closes
// QueueIdleTimeout (12 s) after the message, then waits out the rating window.
func generateQueueIdleCap(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs, cust string) {
	id := ConsultationID(cust)
	p := f.policy
	p.QueueIdleTimeout, p.RetryRouteAfter, p.RatingWindow = 12*time.Second, 2*time.Second, 2*time.Second
	start := time.Now()
	run, err := c.SignalWithStartWorkflow(ctx, id, SignalMessage, InboundMessage{MsgKey: "c1", From: cust, To: "support", Text: "human please"},
		client.StartWorkflowOptions{ID: id, TaskQueue: tq, TypedSearchAttributes: SearchAttributes()},
		ConsultationWorkflow, ConsultationInput{Customer: cust, ServiceAccount: "support", Policy: &p})
	if err != nil {
		t.Fatal(err)
	}
	var res ConsultationResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Reason != reasonInactivity {
		t.Fatalf("result %+v, want closed for inactivity", res)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("closed after %v, want about 12 s + the rating window", took)
	}
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation_queue_idle_cap.json")
}

// generateWake: a consultation asks for a human; agent_emma, agent_sam and supervisor
// agent_zhang time out, the ladder is exhausted and round 2 waits for the next retry (an hour);
// agent_li comes online, the desk's WakeQueued (a real Router on the dev server's visibility)
// signals route_now and round 2 starts at once with agent_emma, who answers; /close and a rating.
func generateWake(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs, cust string) {
	id := ConsultationID(cust)
	f.mu.Lock()
	f.wake = func(ctx context.Context, in activities.WakeInput) (activities.WakeResult, error) {
		return (&activities.Router{Waker: c}).WakeQueued(ctx, in)
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
	if err := c.TerminateWorkflow(ctx, DeskWorkflowID, drun.GetRunID(), "history captured"); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation_ladder.json")
	writeHistory(t, ctx, c, DeskWorkflowID, drun.GetRunID(), "testdata/desk_wake.json")
	for file, want := range map[string][]string{
		"testdata/consultation_ladder.json": {versionLadderRounds, versionRouteNow},
		"testdata/desk_wake.json":           {deskVersionWakeQueued},
	} {
		got := changeIDs(t, file)
		for _, id := range want {
			if !slices.Contains(got, id) {
				t.Errorf("%s recorded %v, want %s", file, got, id)
			}
		}
	}
}

// generateRating: AI answer, duplicate, explicit hand-off, accept timeout escalation, agent
// reply, /close, rating reply.
func generateRating(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs) {
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
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation_rating.json")
}

// generateAgentBeforeClose: an agent message accepted while a relay is in flight, then a close.
func generateAgentBeforeClose(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs) {
	const cust2 = "cust_history_close"
	id2 := ConsultationID(cust2)
	release := make(chan struct{})
	f.mu.Lock()
	f.sendGate = func(in activities.SendInput) {
		if strings.Contains(in.Text, "hold this relay") {
			<-release
		}
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.sendGate = nil
		f.mu.Unlock()
	}()
	run2, err := c.SignalWithStartWorkflow(ctx, id2, SignalMessage, InboundMessage{MsgKey: "c1", From: cust2, To: "support", Text: "human please"},
		client.StartWorkflowOptions{ID: id2, TaskQueue: tq, TypedSearchAttributes: SearchAttributes()},
		ConsultationWorkflow, ConsultationInput{Customer: cust2, ServiceAccount: "support"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "hand-off to agent_emma", func() bool { return f.find("agent_emma", "human please") != nil })
	if err := c.SignalWorkflow(ctx, id2, "", SignalMessage, InboundMessage{MsgKey: "c2", From: cust2, To: "support", Text: "hold this relay"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the relay of c2 is now held in the Send activity
	if owned := agentMessage(ctx, t, c, id2, InboundMessage{MsgKey: "e1", From: "agent_emma", To: cust2, Text: "It ships today"}); !owned.Owned {
		t.Fatalf("agent message: %+v", owned)
	}
	if err := c.SignalWorkflow(ctx, id2, "", SignalClose, CloseRequest{Reason: "admin", By: "admin"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	close(release)
	var res2 ConsultationResult
	if err := run2.Get(ctx, &res2); err != nil {
		t.Fatal(err)
	}
	if f.find(cust2, "It ships today") == nil || res2.Reason != "admin" {
		t.Fatalf("agent message not delivered before closing: result %+v", res2)
	}
	writeHistory(t, ctx, c, id2, run2.GetRunID(), "testdata/consultation_agent_before_close.json")
}

// generateAttachment: an image while the AI owns the consultation hands off ("attachment"); nobody
// is free, so it waits in the queue with a file sent meanwhile; both are relayed to agent_emma on
// assignment; agent_emma answers with text + image, the customer with text + file; /close and a
// rating.
func generateAttachment(ctx context.Context, t *testing.T, c client.Client, tq string, f *fakeActs, cust string) {
	id := ConsultationID(cust)
	img, file := body("", imageEl), body("", fileEl)
	sent := func(from, to string, b tim.MsgBody) func() bool {
		return func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, s := range f.sends {
				if s.From == from && s.To == to && sameBody(s.Body, b) {
					return true
				}
			}
			return false
		}
	}
	msg := func(key string, b tim.MsgBody) InboundMessage {
		return InboundMessage{MsgKey: key, From: cust, To: "support", Body: b, Text: b.Text()}
	}
	run, err := c.SignalWithStartWorkflow(ctx, id, SignalMessage, msg("p1", img),
		client.StartWorkflowOptions{ID: id, TaskQueue: tq, TypedSearchAttributes: SearchAttributes()},
		ConsultationWorkflow, ConsultationInput{Customer: cust, ServiceAccount: "support"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "busy notice", func() bool { return f.find(cust, "busy") != nil })
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, msg("p2", file)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "queued image relayed to agent_emma", sent(cust, "agent_emma", img))
	waitUntil(t, "queued file relayed to agent_emma", sent(cust, "agent_emma", file))
	if owned := agentMessage(ctx, t, c, id, InboundMessage{MsgKey: "q1", From: "agent_emma", To: cust, Body: body("Here is the return label", imageEl), Text: "Here is the return label"}); !owned.Owned {
		t.Fatalf("agent message: %+v", owned)
	}
	waitUntil(t, "agent's image to the customer", sent("support", cust, img))
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, msg("p3", body("the box is damaged too", fileEl))); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "customer's text relayed", func() bool { return f.find("agent_emma", "the box is damaged too") != nil })
	waitUntil(t, "customer's second file relayed", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, s := range f.sends {
			if s.From == cust && s.To == "agent_emma" && sameBody(s.Body, file) {
				n++
			}
		}
		return n == 2
	})
	agentMessage(ctx, t, c, id, InboundMessage{MsgKey: "q2", From: "agent_emma", To: cust, Body: body("/close"), Text: "/close"})
	waitUntil(t, "rating prompt", func() bool { return f.find(cust, "rating from 1") != nil })
	if err := c.SignalWorkflow(ctx, id, "", SignalMessage, msg("p4", body("4"))); err != nil {
		t.Fatal(err)
	}
	var res ConsultationResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.ClosedBy != "agent_emma" || res.Rating != 4 {
		t.Fatalf("result %+v", res)
	}
	var st ConsultationState
	if v, err := c.QueryWorkflow(ctx, id, run.GetRunID(), QueryState); err != nil || v.Get(&st) != nil {
		t.Fatalf("query state: %v", err)
	}
	writeHistory(t, ctx, c, id, run.GetRunID(), "testdata/consultation_attachment.json")
	if got := changeIDs(t, "testdata/consultation_attachment.json"); !slices.Contains(got, versionAttachments) {
		t.Errorf("the attachment history recorded %v, want %s", got, versionAttachments)
	}
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

// generateDesk: presence, language preference and a roster update.
func generateDesk(ctx context.Context, t *testing.T, c client.Client, tq string) {
	drun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: DeskWorkflowID, TaskQueue: tq}, DeskWorkflow, DeskInput{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := c.SignalWorkflow(ctx, DeskWorkflowID, "", SignalPresence, desk.PresenceEvent{UserID: "agent_li", Online: true, At: now}); err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, DeskWorkflowID, "", SignalLanguage, desk.LanguagePreference{UserID: "cust_history", Language: "zh-CN"}); err != nil {
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
	writeHistory(t, ctx, c, DeskWorkflowID, drun.GetRunID(), "testdata/desk.json")
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
