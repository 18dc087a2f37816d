package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
)

var testStart = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// fakeActs stands in for the LLM, IM and Router activities (same method names).
type fakeActs struct {
	mu        sync.Mutex
	sends     []activities.SendInput
	routes    []activities.RouteInput
	answers   int
	failTo    string // Send to this user fails for good
	translate bool
	answer    func(in activities.AnswerInput) (activities.AnswerResult, error)
	route     func(in activities.RouteInput, n int) activities.RouteResult
	policy    desk.Policy
	// sendGate, when set, runs before each Send (outside the lock): a test can hold a send.
	sendGate func(in activities.SendInput)
	wakes    []activities.WakeInput
	freed    []desk.SlotFreed // slot_freed signals sent to the desk
	// positions, when set, answers QueuePosition in turn (the last one repeats); default 0.
	positions []int
	asked     int
	since     []time.Time // QueuePositionInput.Since of each QueuePosition call
	// wake, when set, answers WakeQueued (default: nothing woken).
	wake func(ctx context.Context, in activities.WakeInput) (activities.WakeResult, error)
}

func newFake() *fakeActs {
	p := desk.DefaultPolicy()
	p.TranslationEnabled = true
	p.AcceptTimeout = 2 * time.Minute
	p.ReplyTimeout = 10 * time.Minute
	return &fakeActs{
		translate: true,
		policy:    p,
		answer: func(in activities.AnswerInput) (activities.AnswerResult, error) {
			return activities.AnswerResult{Action: activities.ActionAnswer, Answer: "answer to " + in.Text, Confidence: 0.9, Summary: "summary: " + in.Text, Source: "llm"}, nil
		},
		route: func(in activities.RouteInput, n int) activities.RouteResult {
			for _, a := range []string{"agent_emma", "agent_li"} {
				if a != in.Current && !contains(in.Exclude, a) {
					return activities.RouteResult{Decision: activities.DecisionAssigned, Agent: a, AgentLanguage: "en", Reason: a + " least loaded", AcceptTimeout: 2 * time.Minute, ReplyTimeout: 10 * time.Minute}
				}
			}
			if !contains(in.Exclude, "agent_zhang") && in.Current != "agent_zhang" {
				return activities.RouteResult{Decision: activities.DecisionSupervisor, Agent: "agent_zhang", AgentLanguage: "zh", Reason: "supervisor", AcceptTimeout: 2 * time.Minute}
			}
			return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "nobody"}
		},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fakeActs) Answer(_ context.Context, in activities.AnswerInput) (activities.AnswerResult, error) {
	f.mu.Lock()
	f.answers++
	f.mu.Unlock()
	return f.answer(in)
}

// Reply is Answer plus the script's language and the fake translation into the desk language,
// as the real Reply returns them from one model call.
func (f *fakeActs) Reply(ctx context.Context, in activities.ReplyInput) (activities.ReplyResult, error) {
	lang := desk.DetectLanguage(in.Text)
	answerLang := lang
	if answerLang == "" {
		answerLang = in.Language
	}
	ans, err := f.Answer(ctx, activities.AnswerInput{Text: in.Text, Language: answerLang, Transcript: in.Transcript})
	if err != nil {
		return activities.ReplyResult{}, err
	}
	res := activities.ReplyResult{AnswerResult: ans, Language: lang, TranslationStatus: activities.TranslationOff}
	switch {
	case in.DeskLanguage == "" || !f.translate:
	case lang == "" || lang == in.DeskLanguage:
		res.TranslationStatus = activities.TranslationSame
	default:
		res.Translated, res.TranslationStatus = "<"+in.DeskLanguage+">"+in.Text, activities.TranslationTranslated
	}
	return res, nil
}

func (f *fakeActs) Translate(_ context.Context, in activities.TranslateInput) (activities.TranslateResult, error) {
	if !f.translate {
		return activities.TranslateResult{Text: in.Text, Target: in.Target, Status: activities.TranslationOff}, nil
	}
	return activities.TranslateResult{Text: "<" + in.Target + ">" + in.Text, Source: in.Source, Target: in.Target, Status: activities.TranslationTranslated}, nil
}

func (f *fakeActs) DetectLanguage(_ context.Context, in activities.DetectInput) (activities.DetectResult, error) {
	return activities.DetectResult{Language: desk.DetectLanguage(in.Text), Method: "script"}, nil
}

func (f *fakeActs) Send(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
	f.mu.Lock()
	gate := f.sendGate
	f.mu.Unlock()
	if gate != nil {
		gate(in)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.To == f.failTo {
		return activities.SendResult{}, temporal.NewNonRetryableApplicationError("not imported", activities.ErrTypeIMNotImported, nil)
	}
	for _, s := range f.sends {
		if s.Key == in.Key {
			return activities.SendResult{}, errors.New("duplicate send key " + in.Key)
		}
	}
	f.sends = append(f.sends, in)
	return activities.SendResult{MsgKey: fmt.Sprint(len(f.sends))}, nil
}

func (f *fakeActs) Import(_ context.Context, in activities.ImportInput) (activities.ImportResult, error) {
	return activities.ImportResult{Imported: len(in.UserIDs)}, nil
}

func (f *fakeActs) ImportRoster(_ context.Context, in desk.RosterUpdate) (activities.ImportResult, error) {
	return activities.ImportResult{Imported: 1}, nil
}

func (f *fakeActs) Route(_ context.Context, in activities.RouteInput) (activities.RouteResult, error) {
	f.mu.Lock()
	f.routes = append(f.routes, in)
	n := len(f.routes)
	f.mu.Unlock()
	return f.route(in, n), nil
}

func (f *fakeActs) QueuePosition(_ context.Context, in activities.QueuePositionInput) (activities.QueuePositionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, in.Since)
	if len(f.positions) == 0 || in.Since.IsZero() {
		return activities.QueuePositionResult{}, nil
	}
	p := f.positions[min(f.asked, len(f.positions)-1)]
	f.asked++
	return activities.QueuePositionResult{Position: p}, nil
}

func (f *fakeActs) WakeQueued(ctx context.Context, in activities.WakeInput) (activities.WakeResult, error) {
	f.mu.Lock()
	f.wakes = append(f.wakes, in)
	wake := f.wake
	f.mu.Unlock()
	if wake != nil {
		return wake(ctx, in)
	}
	return activities.WakeResult{}, nil
}

func (f *fakeActs) Policy(_ context.Context) (desk.Policy, error) { return f.policy, nil }

// sentCount counts the texts sent to a user that contain substr.
func (f *fakeActs) sentCount(to, substr string) int {
	n := 0
	for _, text := range f.sentTo(to) {
		if strings.Contains(text, substr) {
			n++
		}
	}
	return n
}

// sentTo lists the texts sent to a user.
func (f *fakeActs) sentTo(to string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sends {
		if s.To == to {
			out = append(out, s.Text)
		}
	}
	return out
}

func (f *fakeActs) find(to, substr string) *activities.SendInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.sends {
		if f.sends[i].To == to && strings.Contains(f.sends[i].Text, substr) {
			s := f.sends[i]
			return &s
		}
	}
	return nil
}

type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	f   *fakeActs
}

func newHarness(t *testing.T, f *fakeActs) *harness {
	t.Helper()
	return newHarnessWith(t, f, nil)
}

// newHarnessWith is newHarness with the workflows' metrics going to metrics (when not nil).
func newHarnessWith(t *testing.T, f *fakeActs, metrics client.MetricsHandler) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if metrics != nil {
		suite.SetMetricsHandler(metrics)
	}
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ConsultationWorkflow)
	env.RegisterActivity(f)
	env.SetStartTime(testStart)
	env.SetTestTimeout(30 * time.Second)
	expectSlotFreed(env, f)
	return &harness{t: t, env: env, f: f}
}

// expectSlotFreed records the consultation's slot_freed signals to the desk in f.freed.
func expectSlotFreed(env *testsuite.TestWorkflowEnvironment, f *fakeActs) {
	env.OnSignalExternalWorkflow(mock.Anything, DeskWorkflowID, "", SignalSlotFreed, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.freed = append(f.freed, arg.(desk.SlotFreed))
			return nil
		})
}

// at schedules fn at workflow time d after the start.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

func (h *harness) customer(d time.Duration, key, text string) {
	h.at(d, func() {
		h.env.SignalWorkflow(SignalMessage, InboundMessage{MsgKey: key, From: "cust1", To: "support", Text: text})
	})
}

func (h *harness) agent(d time.Duration, key, from, text string, want *AgentMessageResult) {
	h.at(d, func() {
		h.env.UpdateWorkflow(UpdateAgentMessage, key, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { h.t.Errorf("agent update rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					h.t.Errorf("agent update: %v", err)
					return
				}
				if want != nil {
					*want = v.(AgentMessageResult)
				}
			},
		}, InboundMessage{MsgKey: key, From: from, To: "cust1", Text: text})
	})
}

func (h *harness) state() ConsultationState {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var st ConsultationState
	if err := v.Get(&st); err != nil {
		h.t.Fatalf("decode state: %v", err)
	}
	return st
}

func (h *harness) snapshot(d time.Duration, into *ConsultationState) {
	h.at(d, func() { *into = h.state() })
}

func (h *harness) run(in ConsultationInput) ConsultationResult {
	h.t.Helper()
	if in.Customer == "" {
		in.Customer = "cust1"
	}
	h.env.ExecuteWorkflow(ConsultationWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var res ConsultationResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	return res
}

func TestAIAnswers(t *testing.T) {
	h := newHarness(t, newFake())
	var st ConsultationState
	h.customer(time.Second, "k1", "运费多少钱？")
	h.snapshot(time.Minute, &st)
	h.at(2*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "test", By: "admin"}) })
	res := h.run(ConsultationInput{})

	if st.Owner != OwnerAI || st.Status != desk.StatusAI || st.Language != "zh" {
		t.Errorf("owner/status/language = %s/%s/%s, want ai/ai/zh", st.Owner, st.Status, st.Language)
	}
	if got := h.f.sentTo("cust1"); len(got) == 0 || got[0] != "answer to 运费多少钱？" {
		t.Errorf("customer got %q, want the AI answer first", got)
	}
	if len(st.Transcript) < 2 || st.Transcript[0].Translated != "<en>运费多少钱？" || st.Transcript[0].Language != "zh" {
		t.Errorf("transcript = %+v, want original + translation to desk language", st.Transcript)
	}
	if st.TranslationStatus != "on" {
		t.Errorf("translation status %q", st.TranslationStatus)
	}
	if res.Reason != "test" || res.ClosedBy != "admin" {
		t.Errorf("result = %+v", res)
	}
	if s := h.f.find("cust1", "打分"); s == nil {
		t.Error("no rating prompt at close")
	}
}

func TestAIHandsOffAndAgentReplyIsTranslated(t *testing.T) {
	f := newFake()
	f.answer = func(in activities.AnswerInput) (activities.AnswerResult, error) {
		return activities.AnswerResult{Action: activities.ActionHandoff, Reason: "not_in_faq", Summary: "wants a custom order", Source: "llm"}, nil
	}
	h := newHarness(t, f)
	var st, after ConsultationState
	var owned, notOwned AgentMessageResult
	h.customer(time.Second, "k1", "我想定制一个蛋糕")
	h.snapshot(30*time.Second, &st)
	h.agent(time.Minute, "a1", "agent_emma", "Sure, which size?", &owned)
	h.agent(70*time.Second, "a2", "agent_li", "I can help too", &notOwned)
	h.snapshot(5*time.Minute, &after)
	h.at(6*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "done", By: "admin"}) })
	h.run(ConsultationInput{})

	if st.Owner != OwnerAgent || st.Agent != "agent_emma" || st.Status != desk.StatusHuman || st.Phase != PhaseAwaitingAccept {
		t.Fatalf("after hand-off: owner=%s agent=%s status=%s phase=%s", st.Owner, st.Agent, st.Status, st.Phase)
	}
	if st.LastRouting == nil || st.LastRouting.Trigger != "ai_decided: not_in_faq" || st.HandoffReason != "ai_decided: not_in_faq" || st.LastRouting.Reason == "" {
		t.Errorf("last routing = %+v", st.LastRouting)
	}
	if len(st.Deadlines) == 0 || st.Deadlines[0].Kind != DeadlineAccept || !st.Deadlines[0].At.Equal(testStart.Add(time.Second).Add(2*time.Minute)) {
		t.Errorf("deadlines = %+v, want accept at start+2m1s", st.Deadlines)
	}
	relay := h.f.find("agent_emma", "我想定制一个蛋糕")
	if relay == nil || !relay.Relay || relay.From != "cust1" || !strings.HasPrefix(relay.Text, "<en>") {
		t.Errorf("relay to agent = %+v, want From=customer relay translated to en", relay)
	}
	if h.f.find("agent_emma", "wants a custom order") == nil {
		t.Error("summary not relayed to the agent")
	}
	if !owned.Owned || notOwned.Owned {
		t.Errorf("owned=%+v notOwned=%+v", owned, notOwned)
	}
	reply := h.f.find("cust1", "Sure, which size?")
	if reply == nil || reply.From != "support" || reply.Relay || reply.Text != "<zh>Sure, which size?" {
		t.Errorf("agent reply to customer = %+v, want From=support translated to zh", reply)
	}
	if want := `{"timdeskTranslation":{"originalText":"Sure, which size?","source":"en","target":"zh"}}`; reply != nil && reply.CloudCustomData != want {
		t.Errorf("agent reply CloudCustomData = %s, want %s (the original for the chat page's \"show original\")", reply.CloudCustomData, want)
	}
	if !after.Accepted || after.Phase != PhaseWithAgent || len(h.f.routes) != 1 {
		t.Errorf("after reply: accepted=%v phase=%s routes=%d (reply must stop escalation)", after.Accepted, after.Phase, len(h.f.routes))
	}
}

func TestExplicitHumanRequest(t *testing.T) {
	for _, text := range []string{"转人工", "I want a human please", "AGENT"} {
		t.Run(text, func(t *testing.T) {
			f := newFake()
			h := newHarness(t, f)
			var st ConsultationState
			h.customer(time.Second, "k1", text)
			h.snapshot(10*time.Second, &st)
			h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
			h.run(ConsultationInput{})
			if f.answers != 0 {
				t.Errorf("answerer called %d times; an explicit request hands off at once", f.answers)
			}
			if st.Owner != OwnerAgent || st.LastRouting.Trigger != "customer_requested" {
				t.Errorf("owner=%s trigger=%+v", st.Owner, st.LastRouting)
			}
		})
	}
	// no false positive: "agency" is not "agent"
	h := newHarness(t, newFake())
	var st ConsultationState
	h.customer(time.Second, "k1", "is this an agency?")
	h.snapshot(10*time.Second, &st)
	h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if st.Owner != OwnerAI {
		t.Errorf("owner = %s, want ai", st.Owner)
	}
}

func TestDuplicateMsgKeyIgnored(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "hello, how do I reset my password?")
	h.customer(2*time.Second, "k1", "hello, how do I reset my password?")
	h.customer(3*time.Second, "k2", "thanks")
	h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if f.answers != 2 {
		t.Errorf("answers = %d, want 2 (k1 once, k2 once)", f.answers)
	}
}

func TestEscalationLadder(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	var s1, s2, s3, s4 ConsultationState
	h.customer(time.Second, "k1", "human")
	h.snapshot(time.Minute, &s1)                  // agent_emma, accept deadline at 2m1s
	h.snapshot(2*time.Minute+30*time.Second, &s2) // agent_li
	h.snapshot(4*time.Minute+30*time.Second, &s3) // supervisor agent_zhang
	h.snapshot(6*time.Minute+30*time.Second, &s4) // nobody left: queued
	var s5 ConsultationState
	h.snapshot(9*time.Minute, &s5) // retried at 8m1s, nobody again: backs off to 4m
	h.at(10*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})

	for i, c := range []struct {
		st    ConsultationState
		agent string
	}{{s1, "agent_emma"}, {s2, "agent_li"}, {s3, "agent_zhang"}, {s4, ""}} {
		if c.st.Agent != c.agent {
			t.Errorf("rung %d: agent = %q, want %q (timed out %v, routing %+v)", i, c.st.Agent, c.agent, c.st.TimedOut, c.st.LastRouting)
		}
	}
	if got := s4.TimedOut; len(got) != 3 || got[0] != "agent_emma" || got[1] != "agent_li" || got[2] != "agent_zhang" {
		t.Errorf("timed out = %v", got)
	}
	if s3.LastRouting.Trigger != "accept_timeout" || s3.LastRouting.Decision != activities.DecisionSupervisor {
		t.Errorf("rung 3 routing = %+v", s3.LastRouting)
	}
	if s4.Owner != OwnerQueue || s4.Status != desk.StatusQueued {
		t.Errorf("after ladder: owner=%s status=%s", s4.Owner, s4.Status)
	}
	if d := s4.RetryRouteAt.Sub(s4.LastRouting.At); d != 2*time.Minute {
		t.Errorf("first retry after %v, want 2m", d)
	}
	if d := s5.RetryRouteAt.Sub(s5.LastRouting.At); d != 4*time.Minute || s5.LastRouting.Trigger != "retry" {
		t.Errorf("second retry after %v (%+v), want 4m", d, s5.LastRouting)
	}
	// the route activity was told who timed out
	if last := f.routes[len(f.routes)-1]; !contains(last.Exclude, "agent_emma") || !contains(last.Exclude, "agent_li") {
		t.Errorf("last route input = %+v", last)
	}
	if f.find("agent_emma", "another agent") == nil {
		t.Error("agent_emma not told the consultation moved")
	}
}

func TestReplyTimeoutNudgesThenReassigns(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	var nudged, moved ConsultationState
	h.customer(time.Second, "k1", "human")
	h.agent(time.Minute, "a1", "agent_emma", "Hi, how can I help?", nil)
	h.customer(2*time.Minute, "k2", "my order is late")
	h.snapshot(2*time.Minute+10*time.Minute+time.Second, &nudged)
	h.snapshot(2*time.Minute+20*time.Minute+time.Second, &moved)
	h.at(25*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if !nudged.ReplyNudged || nudged.Agent != "agent_emma" || f.find("agent_emma", "waiting") == nil {
		t.Errorf("after reply timeout: nudged=%v agent=%s", nudged.ReplyNudged, nudged.Agent)
	}
	if moved.Agent != "agent_li" || moved.LastRouting.Trigger != "reply_timeout" || !contains(moved.TimedOut, "agent_emma") {
		t.Errorf("after second reply timeout: agent=%s routing=%+v", moved.Agent, moved.LastRouting)
	}
}

func TestAgentCommands(t *testing.T) {
	t.Run("transfer", func(t *testing.T) {
		f := newFake()
		h := newHarness(t, f)
		var st ConsultationState
		h.customer(time.Second, "k1", "human")
		h.agent(time.Minute, "a1", "agent_emma", "/transfer agent_li", nil)
		h.snapshot(90*time.Second, &st)
		h.at(2*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
		h.run(ConsultationInput{})
		if st.Agent != "agent_li" || st.LastRouting.Trigger != "transfer" || f.routes[1].Target != "agent_li" {
			t.Errorf("after /transfer: agent=%s routing=%+v", st.Agent, st.LastRouting)
		}
		if len(st.TimedOut) != 0 {
			t.Errorf("a transfer is not a time-out: %v", st.TimedOut)
		}
		if f.find("cust1", "/transfer") != nil {
			t.Error("the command reached the customer")
		}
	})
	t.Run("close", func(t *testing.T) {
		f := newFake()
		h := newHarness(t, f)
		h.customer(time.Second, "k1", "human")
		h.agent(time.Minute, "a1", "agent_emma", "/close", nil)
		res := h.run(ConsultationInput{})
		if res.ClosedBy != "agent_emma" || res.Reason != "agent_closed" {
			t.Errorf("result = %+v", res)
		}
		if f.find("cust1", "Thank you for contacting us") == nil {
			t.Error("no goodbye")
		}
	})
	t.Run("ai", func(t *testing.T) {
		f := newFake()
		h := newHarness(t, f)
		var st ConsultationState
		h.customer(time.Second, "k1", "human")
		h.agent(time.Minute, "a1", "agent_emma", "/ai", nil)
		h.customer(2*time.Minute, "k2", "how long does shipping take?")
		h.snapshot(3*time.Minute, &st)
		h.at(4*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
		h.run(ConsultationInput{})
		if st.Owner != OwnerAI || st.Agent != "" || st.Status != desk.StatusAI {
			t.Errorf("after /ai: owner=%s agent=%s status=%s", st.Owner, st.Agent, st.Status)
		}
		if f.find("cust1", "answer to how long does shipping take?") == nil {
			t.Error("AI did not answer after /ai")
		}
	})
}

func TestNobodyOnDutyWaitsForNextShift(t *testing.T) {
	f := newFake()
	next := testStart.Add(9 * time.Hour)
	f.route = func(in activities.RouteInput, n int) activities.RouteResult {
		if n == 1 {
			return activities.RouteResult{Decision: activities.DecisionOffHours, NextShift: next, NextShiftLocal: "2026-11-28 03:00 CST", Reason: "nobody on duty"}
		}
		return activities.RouteResult{Decision: activities.DecisionAssigned, Agent: "agent_li", AgentLanguage: "zh", Reason: "shift started", AcceptTimeout: 2 * time.Minute}
	}
	h := newHarness(t, f)
	var waiting, routed ConsultationState
	h.customer(time.Second, "k1", "人工")
	h.snapshot(time.Hour, &waiting)
	h.snapshot(9*time.Hour+time.Minute, &routed)
	h.at(9*time.Hour+90*time.Second, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if waiting.Phase != PhaseWaitingShift || !waiting.ShiftWaitUntil.Equal(next) || waiting.Status != desk.StatusQueued {
		t.Errorf("waiting: phase=%s until=%v status=%s", waiting.Phase, waiting.ShiftWaitUntil, waiting.Status)
	}
	if f.find("cust1", "2026-11-28 03:00 CST") == nil {
		t.Errorf("customer not told when the shift starts: %q", f.sentTo("cust1"))
	}
	if s := f.find("cust1", "下一班次"); s == nil {
		t.Error("off-hours notice not in the customer's language (zh)")
	}
	if routed.Agent != "agent_li" || routed.LastRouting.Trigger != "shift_start" {
		t.Errorf("after shift start: agent=%s routing=%+v", routed.Agent, routed.LastRouting)
	}
	if h.f.find("agent_li", "人工") == nil {
		t.Error("queued message not relayed at shift start")
	}
}

func TestInactivityCloses(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "how long does shipping take?")
	res := h.run(ConsultationInput{})
	if res.Reason != reasonInactivity || res.ClosedBy != "timdesk" {
		t.Errorf("result = %+v", res)
	}
	// AI idle timeout (30m) after the last message, then the rating window (5m)
	if !res.ClosedAt.Equal(testStart.Add(time.Second).Add(30*time.Minute + 5*time.Minute)) {
		t.Errorf("closed at %v, want start+35m1s", res.ClosedAt)
	}
	if f.find("cust1", "have not heard from you") == nil {
		t.Error("no goodbye")
	}
	if n := f.sentCount("cust1", "rating"); n != 1 {
		t.Errorf("rating prompts = %d, want 1", n)
	}
}

func TestLLMOutageHandsOff(t *testing.T) {
	f := newFake()
	f.answer = func(activities.AnswerInput) (activities.AnswerResult, error) {
		return activities.AnswerResult{}, errors.New("503 service unavailable")
	}
	h := newHarness(t, f)
	var st ConsultationState
	h.customer(time.Second, "k1", "where is my parcel?")
	h.snapshot(5*time.Minute-time.Second, &st)
	h.at(5*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if st.Owner != OwnerAgent || st.HandoffReason != "ai_unavailable" {
		t.Errorf("owner=%s handoff=%s", st.Owner, st.HandoffReason)
	}
	if f.answers != 3 {
		t.Errorf("answer attempts = %d, want 3 (bounded retries)", f.answers)
	}
}

func TestLowConfidenceAndRepeatedClarifyHandOff(t *testing.T) {
	cases := []struct {
		name    string
		res     activities.AnswerResult
		msgs    int
		trigger string
	}{
		{"low confidence", activities.AnswerResult{Action: activities.ActionAnswer, Answer: "maybe", Confidence: 0.2}, 1, "low_confidence"},
		{"repeated clarify", activities.AnswerResult{Action: activities.ActionClarify, Answer: "which order?", Confidence: 0.8}, 2, "repeated_clarify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			f.answer = func(activities.AnswerInput) (activities.AnswerResult, error) { return c.res, nil }
			h := newHarness(t, f)
			var st ConsultationState
			for i := range c.msgs {
				h.customer(time.Duration(i+1)*time.Second, fmt.Sprint("k", i), "my order")
			}
			h.snapshot(time.Minute, &st)
			h.at(90*time.Second, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
			h.run(ConsultationInput{})
			if st.Owner != OwnerAgent || st.HandoffReason != c.trigger {
				t.Errorf("owner=%s handoff=%s, want agent/%s", st.Owner, st.HandoffReason, c.trigger)
			}
		})
	}
}

func TestTranslationOffIsVisible(t *testing.T) {
	f := newFake()
	f.translate = false
	f.policy.TranslationEnabled = false
	h := newHarness(t, f)
	var st ConsultationState
	h.customer(time.Second, "k1", "你好，我要人工")
	h.agent(time.Minute, "a1", "agent_emma", "Hello!", nil)
	h.snapshot(2*time.Minute, &st)
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if st.TranslationStatus != "off" || st.Transcript[0].TranslationStatus != activities.TranslationOff || st.Transcript[0].Translated != "" {
		t.Errorf("translation status = %s, entry = %+v", st.TranslationStatus, st.Transcript[0])
	}
	if f.find("cust1", "Hello!") == nil || f.find("agent_emma", "你好，我要人工") == nil {
		t.Error("originals not delivered with translation off")
	}
}

func TestContinueAsNewCarriesState(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "human")
	h.at(2*time.Second, func() {
		h.env.SignalWorkflow(SignalMessage, InboundMessage{MsgKey: "k2", From: "cust1", To: "support", Text: "are you there?"})
		h.env.SignalWorkflow(SignalMessage, InboundMessage{MsgKey: "k3", From: "cust1", To: "support", Text: "hello?"})
	})
	h.env.ExecuteWorkflow(ConsultationWorkflow, ConsultationInput{Customer: "cust1", MaxMessagesPerRun: 2})
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want continue-as-new", err)
	}
	var next ConsultationInput
	if err := converterDecode(can, &next); err != nil {
		t.Fatal(err)
	}
	if next.Carry == nil {
		t.Fatal("no carry-over")
	}
	st := next.Carry.State
	if st.Agent != "agent_emma" || st.AcceptDeadline.IsZero() || len(st.Seen) != 3 || next.MaxMessagesPerRun != 2 {
		t.Errorf("carried agent=%s accept=%v seen=%d", st.Agent, st.AcceptDeadline, len(st.Seen))
	}
	if len(next.Carry.Pending) != 1 || next.Carry.Pending[0].MsgKey != "k3" {
		t.Errorf("pending = %+v, want k3", next.Carry.Pending)
	}

	// The next run: k3 is processed, a duplicate k1 is dropped, the accept timer is recreated
	// from the absolute deadline (escalates at start+2m1s).
	f2 := newFake()
	h2 := newHarness(t, f2)
	h2.env.SetStartTime(testStart.Add(10 * time.Second))
	var st2 ConsultationState
	h2.customer(time.Second, "k1", "human")
	h2.snapshot(time.Minute, &st2)
	var esc ConsultationState
	h2.snapshot(2*time.Minute, &esc)
	h2.at(3*time.Minute, func() { h2.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	next.MaxMessagesPerRun = 0
	h2.run(next)
	if st2.Runs != 2 || len(st2.Transcript) < 3 {
		t.Errorf("runs=%d transcript=%d", st2.Runs, len(st2.Transcript))
	}
	if f2.find("agent_emma", "hello?") == nil {
		t.Error("carried message k3 not relayed in the next run")
	}
	if f2.find("agent_emma", "human") != nil {
		t.Error("duplicate k1 processed after continue-as-new")
	}
	if esc.Agent != "agent_li" || !contains(esc.TimedOut, "agent_emma") {
		t.Errorf("accept timer not recreated: agent=%s timedOut=%v", esc.Agent, esc.TimedOut)
	}
}

func converterDecode(can *workflow.ContinueAsNewError, into *ConsultationInput) error {
	return decodeCAN(can, into)
}

func decodeCAN(can *workflow.ContinueAsNewError, into any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, into)
}

func TestRatingReplyAfterClose(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "human")
	h.agent(time.Minute, "a1", "agent_emma", "/close", nil)
	h.customer(2*time.Minute, "k2", "５")
	res := h.run(ConsultationInput{})
	if res.Rating != 5 || res.ClosedBy != "agent_emma" {
		t.Errorf("result = %+v", res)
	}
	if f.find("cust1", "Thank you for your rating") == nil {
		t.Error("no thanks for the rating")
	}
	if p := f.find("cust1", "rating from 1"); p == nil || p.CloudCustomData != `{"timdeskNotice":"rating"}` {
		t.Errorf("rating prompt = %+v, want CloudCustomData marking it for the chat page", p)
	}
	if f.answers != 0 {
		t.Error("the rating went to the answerer")
	}
}

func TestMessageAfterCloseStartsNextConsultation(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "how long does shipping take?")
	h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "admin", By: "admin"}) })
	h.customer(2*time.Minute, "k2", "one more question about refunds")
	h.customer(3*time.Minute, "k1", "how long does shipping take?") // a late duplicate
	h.env.ExecuteWorkflow(ConsultationWorkflow, ConsultationInput{Customer: "cust1"})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new into the next consultation", err)
	}
	var next ConsultationInput
	if err := decodeCAN(can, &next); err != nil {
		t.Fatal(err)
	}
	st := next.Carry.State
	if len(next.Carry.Pending) != 1 || next.Carry.Pending[0].MsgKey != "k2" || st.Owner != OwnerAI || st.Status != desk.StatusAI ||
		len(st.Transcript) != 0 || len(st.Seen) != 2 || st.RatingAsked {
		t.Errorf("next consultation: pending=%+v state=%+v", next.Carry.Pending, st)
	}
}

func TestShortMessageKeepsLanguage(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	var st ConsultationState
	h.customer(time.Second, "k1", "运费多少钱？")
	h.customer(time.Minute, "k2", "ok")
	h.snapshot(2*time.Minute, &st)
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if st.Language != "zh" {
		t.Errorf("language = %s after a short English reply, want zh", st.Language)
	}
}

func TestNonTextMessagesAreForwarded(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	img := tim.MsgBody{{MsgType: "TIMImageElem", MsgContent: []byte(`{"UUID":"x"}`)}}
	h.customer(time.Second, "k1", "human")
	h.at(time.Minute, func() {
		h.env.UpdateWorkflow(UpdateAgentMessage, "a1", &testsuite.TestUpdateCallback{OnReject: func(error) {}, OnAccept: func() {}, OnComplete: func(any, error) {}},
			InboundMessage{MsgKey: "a1", From: "agent_emma", To: "cust1", Body: img})
	})
	h.at(2*time.Minute, func() {
		h.env.SignalWorkflow(SignalMessage, InboundMessage{MsgKey: "k2", From: "cust1", To: "support", Body: img})
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	var toCustomer, toAgent bool
	for _, s := range f.sends {
		if len(s.Body) == 1 && s.Body[0].MsgType == "TIMImageElem" {
			toCustomer = toCustomer || (s.To == "cust1" && s.From == "support")
			toAgent = toAgent || (s.To == "agent_emma" && s.From == "cust1" && s.Relay)
		}
	}
	if !toCustomer || !toAgent {
		t.Errorf("image forwarded to customer=%v agent=%v", toCustomer, toAgent)
	}
}

func TestParseRating(t *testing.T) {
	cases := map[string]int{"5": 5, " 1 ": 1, "３": 3, "4分": 4, "5 stars": 5, "★★★★": 4, "⭐⭐⭐": 3, "0": 0, "6": 0,
		"55": 0, "5 minutes ago I asked": 0, "": 0, "★★★★★★": 0, "great": 0}
	for in, want := range cases {
		if got := parseRating(in); got != want {
			t.Errorf("parseRating(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestSendFailureDoesNotStopTheConsultation(t *testing.T) {
	f := newFake()
	f.failTo = "agent_emma"
	h := newHarness(t, f)
	var st ConsultationState
	h.customer(time.Second, "k1", "human")
	h.agent(time.Minute, "a1", "agent_emma", "Hello!", nil)
	h.snapshot(2*time.Minute, &st)
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if st.Transcript[0].Delivered {
		t.Error("relay to agent_emma failed but the message is marked delivered")
	}
	if f.find("cust1", "Hello!") == nil {
		t.Error("the consultation stopped after a failed send")
	}
}

func TestFAQAnswerTranslatedToCustomerLanguage(t *testing.T) {
	f := newFake()
	f.answer = func(in activities.AnswerInput) (activities.AnswerResult, error) {
		return activities.AnswerResult{Action: activities.ActionAnswer, Answer: "Orders ship in 24 hours.", Confidence: 1, Source: "faq"}, nil
	}
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "いつ発送されますか")
	h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})
	if f.find("cust1", "<ja>Orders ship in 24 hours.") == nil {
		t.Errorf("FAQ answer not translated to ja: %q", f.sentTo("cust1"))
	}
}

func TestIsCommand(t *testing.T) {
	for text, want := range map[string]bool{"/close": true, "/transfer agent_li": true, "/AI": true, "/help": true,
		"/orders/42 is your link": false, "/": false, "hello /close": false, "/ 5": false} {
		if got := isCommand(text); got != want {
			t.Errorf("isCommand(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestSetPhase: Owner and Status follow from Phase; a closed consultation keeps the owner it
// closed from.
func TestSetPhase(t *testing.T) {
	tests := []struct {
		from, phase, wantOwner, wantStatus string
	}{
		{PhaseAI, PhaseAI, OwnerAI, "ai"},
		{PhaseAI, PhaseWaitingShift, OwnerQueue, "queued"},
		{PhaseAI, PhaseWaitingAgent, OwnerQueue, "queued"},
		{PhaseWaitingAgent, PhaseAwaitingAccept, OwnerAgent, "human"},
		{PhaseAwaitingAccept, PhaseWithAgent, OwnerAgent, "human"},
		{PhaseWithAgent, PhaseAI, OwnerAI, "ai"},
		{PhaseWithAgent, PhaseClosed, OwnerAgent, "closed"},
		{PhaseWaitingShift, PhaseClosed, OwnerQueue, "closed"},
		{PhaseAI, PhaseClosed, OwnerAI, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.phase, func(t *testing.T) {
			st := freshState("c", "support", time.Time{}, "run")
			st.setPhase(tt.from)
			st.setPhase(tt.phase)
			if st.Phase != tt.phase || st.Owner != tt.wantOwner || st.Status != tt.wantStatus {
				t.Errorf("phase %s: owner %q status %q, want %q %q", st.Phase, st.Owner, st.Status, tt.wantOwner, tt.wantStatus)
			}
		})
	}
}
