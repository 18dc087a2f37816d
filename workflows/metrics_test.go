package workflows

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
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
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	suite.SetMetricsHandler(handler)
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(ConsultationWorkflow)
	env.RegisterActivity(f)
	env.SetStartTime(testStart)
	env.SetTestTimeout(30 * time.Second)
	expectSlotFreed(env, f)
	h := &harness{t: t, env: env, f: f}
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
