package workflows

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/tim"
)

// capturedMetrics records what workflows emit, keyed by name and labels ("name{k=v,...}").
type capturedMetrics struct {
	mu       sync.Mutex
	counters map[string]int64
	timers   map[string][]time.Duration
}

// captureHandler is a client.MetricsHandler writing into a capturedMetrics.
type captureHandler struct {
	m    *capturedMetrics
	tags map[string]string
}

func newCapture() (*capturedMetrics, client.MetricsHandler) {
	m := &capturedMetrics{counters: map[string]int64{}, timers: map[string][]time.Duration{}}
	return m, captureHandler{m: m, tags: map[string]string{}}
}

// key names a series by its metric name and the labels that are not the SDK's own.
func (h captureHandler) key(name string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(h.tags)) {
		if k == "namespace" || k == "task_queue" || k == "workflow_type" {
			continue
		}
		parts = append(parts, k+"="+h.tags[k])
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func (h captureHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	maps.Copy(merged, tags)
	return captureHandler{m: h.m, tags: merged}
}

func (h captureHandler) Counter(name string) client.MetricsCounter { return captureCounter{h, name} }
func (h captureHandler) Gauge(string) client.MetricsGauge          { return client.MetricsNopHandler.Gauge("") }
func (h captureHandler) Timer(name string) client.MetricsTimer     { return captureTimer{h, name} }

type captureCounter struct {
	h    captureHandler
	name string
}

func (c captureCounter) Inc(n int64) {
	c.h.m.mu.Lock()
	defer c.h.m.mu.Unlock()
	c.h.m.counters[c.h.key(c.name)] += n
}

type captureTimer struct {
	h    captureHandler
	name string
}

func (t captureTimer) Record(d time.Duration) {
	t.h.m.mu.Lock()
	defer t.h.m.mu.Unlock()
	k := t.h.key(t.name)
	t.h.m.timers[k] = append(t.h.m.timers[k], d)
}

// timdesk returns the captured timdesk_* counters.
func (m *capturedMetrics) timdesk() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	for k, v := range m.counters {
		if strings.HasPrefix(k, "timdesk_") {
			out[k] = v
		}
	}
	return out
}

// TestConsultationMetrics: one AI answer, a hand-off on request, an agent who does not accept
// (escalation), the next agent's first reply three minutes after the hand-off.
func TestConsultationMetrics(t *testing.T) {
	f := newFake()
	captured, handler := newCapture()
	h := newHarnessWith(t, f, handler)
	h.customer(time.Second, "k1", "运费多少钱？")
	h.customer(10*time.Second, "k2", "human")                                      // hand-off at 10 s → agent_emma
	h.agent(3*time.Minute+10*time.Second, "a1", "agent_li", "Hello, I am Li", nil) // emma timed out at 2m10s → agent_li
	h.agent(3*time.Minute+20*time.Second, "a2", "agent_li", "How can I help?", nil)
	h.at(4*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})

	want := map[string]int64{
		MetricMessages + "{role=customer}":              2,
		MetricMessages + "{role=agent}":                 2,
		MetricAIAnswers + "{action=answer,source=llm}":  1,
		MetricHandoffs + "{trigger=customer_requested}": 1,
		MetricEscalations + "{trigger=accept_timeout}":  1,
	}
	if got := captured.timdesk(); !maps.Equal(got, want) {
		t.Errorf("counters = %v\nwant %v", got, want)
	}
	captured.mu.Lock()
	defer captured.mu.Unlock()
	if got := captured.timers[MetricFirstHumanReply+"{}"]; fmt.Sprint(got) != fmt.Sprint([]time.Duration{3 * time.Minute}) {
		t.Errorf("first human reply = %v, want [3m0s] (hand-off to agent_li's first message)", got)
	}
}

// TestHandoffTriggersAreClosed: every way the AI hands a customer off counts one hand-off whose
// trigger label is one of HandoffTriggers, whatever the model wrote as its reason; the model's
// reason stays in the state (HandoffReason, cut to maxHandoffReason runes). The table covers
// every trigger, so a new one must be added here.
func TestHandoffTriggersAreClosed(t *testing.T) {
	decided := func(reason string) func(*fakeActs) {
		return func(f *fakeActs) {
			f.answer = func(activities.AnswerInput) (activities.AnswerResult, error) {
				return activities.AnswerResult{Action: activities.ActionHandoff, Reason: reason, Source: "llm"}, nil
			}
		}
	}
	answering := func(res activities.AnswerResult) func(*fakeActs) {
		return func(f *fakeActs) {
			f.answer = func(activities.AnswerInput) (activities.AnswerResult, error) { return res, nil }
		}
	}
	long := strings.Repeat("the customer is upset about order A-42 ", 20)
	cases := []struct {
		name       string
		setup      func(*fakeActs)
		msgs       []tim.MsgBody
		trigger    HandoffTrigger
		wantReason string
	}{
		{"asks for a human", nil, []tim.MsgBody{body("human")}, HandoffCustomerRequested, "customer_requested"},
		{"sends an image", nil, []tim.MsgBody{body("", imageEl)}, HandoffAttachment, "attachment"},
		{"AI down", func(f *fakeActs) {
			f.answer = func(activities.AnswerInput) (activities.AnswerResult, error) {
				return activities.AnswerResult{}, errors.New("503 service unavailable")
			}
		}, []tim.MsgBody{body("where is my parcel?")}, HandoffAIUnavailable, "ai_unavailable"},
		{"weak answer", answering(activities.AnswerResult{Action: activities.ActionAnswer, Answer: "maybe", Confidence: 0.2}),
			[]tim.MsgBody{body("my order")}, HandoffLowConfidence, "low_confidence"},
		{"too many questions", answering(activities.AnswerResult{Action: activities.ActionClarify, Answer: "which order?", Confidence: 0.8}),
			[]tim.MsgBody{body("my order"), body("my order")}, HandoffRepeatedClarify, "repeated_clarify"},
		{"model decides, short reason", decided("not_in_faq"), []tim.MsgBody{body("custom cake?")}, HandoffAIDecided, "ai_decided: not_in_faq"},
		{"model decides, free text", decided("Customer is angry: order #A-42 late 3 days, wants refund"), []tim.MsgBody{body("refund!")},
			HandoffAIDecided, "ai_decided: Customer is angry: order #A-42 late 3 days, wants refund"},
		{"model decides, no reason", decided(""), []tim.MsgBody{body("hmm")}, HandoffAIDecided, "ai_decided"},
		{"model decides, long reason", decided(long), []tim.MsgBody{body("hmm")}, HandoffAIDecided,
			"ai_decided: " + strings.TrimSpace(string([]rune(long)[:maxHandoffReason]))},
	}
	covered := map[HandoffTrigger]bool{}
	for _, c := range cases {
		covered[c.trigger] = true
		t.Run(c.name, func(t *testing.T) {
			if !slices.Contains(HandoffTriggers, c.trigger) {
				t.Fatalf("trigger %q is not in HandoffTriggers", c.trigger)
			}
			f := newFake()
			if c.setup != nil {
				c.setup(f)
			}
			captured, handler := newCapture()
			h := newHarnessWith(t, f, handler)
			for i, b := range c.msgs {
				h.customerBody(time.Duration(i+1)*time.Second, fmt.Sprint("k", i), b)
			}
			var st ConsultationState
			h.snapshot(5*time.Minute-time.Second, &st)
			h.at(5*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
			h.run(ConsultationInput{})

			handoffs := map[string]int64{}
			for k, v := range captured.timdesk() {
				if strings.HasPrefix(k, MetricHandoffs+"{") {
					handoffs[k] = v
				}
			}
			want := map[string]int64{MetricHandoffs + "{trigger=" + string(c.trigger) + "}": 1}
			if !maps.Equal(handoffs, want) {
				t.Errorf("hand-off series = %v, want %v", handoffs, want)
			}
			if st.HandoffReason != c.wantReason {
				t.Errorf("HandoffReason = %q, want %q", st.HandoffReason, c.wantReason)
			}
		})
	}
	for _, tr := range HandoffTriggers {
		if !covered[tr] {
			t.Errorf("trigger %q has no case in this table", tr)
		}
	}
}
