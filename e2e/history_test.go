package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/workflows"
)

// maxEventsPerFAQMessage is the history budget of a customer message the FAQ answers while the AI
// owns the consultation (issue 10: every event is a write on the server's one shard).
const maxEventsPerFAQMessage = 8

// TestFAQMessageHistoryEvents reads a real consultation history and counts the events one more
// FAQ-answered customer message adds: on the dev server, and in cluster mode (make test-cluster) on
// the Temporal server on PostgreSQL behind the proxy, two API and two worker replicas — the same
// budget on both.
func TestFAQMessageHistoryEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	s := startLoadStack(t)
	tc := s.temporalClient(t)
	g := s.newLoad()
	questions := faqQuestions(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const customer = "historian"

	ask := func(i int) {
		text, answer := questions(customer, i)
		q := g.ask(ctx, customer, text, answer)
		if !g.waitAnswer(ctx, customer, q, time.Minute) {
			t.Fatalf("no answer to %q", text)
		}
	}
	ask(0)
	before := settledHistory(ctx, t, tc, customer)
	ask(1)
	after := settledHistory(ctx, t, tc, customer)

	var added []string
	for _, e := range after[len(before):] {
		added = append(added, strings.TrimPrefix(e.String(), "EVENT_TYPE_"))
	}
	t.Logf("one FAQ-answered message added %d events: %s", len(added), strings.Join(added, " "))
	if len(added) > maxEventsPerFAQMessage {
		t.Errorf("one FAQ-answered message added %d history events, want ≤ %d: %s",
			len(added), maxEventsPerFAQMessage, strings.Join(added, " "))
	}
	if r := g.result(); r.duplicates > 0 || r.answered != 2 {
		t.Errorf("answers: %d answered, %d duplicates; want 2 and 0", r.answered, r.duplicates)
	}
}

// settledHistory returns the event types of the customer's consultation once the run is idle —
// no workflow task and no activity pending (timers are; the run waits on them) — and its history
// has stopped growing: the answer's last events are counted with the message that caused
// them even when a starved worker records them late.
func settledHistory(ctx context.Context, t *testing.T, tc client.Client, customer string) []enums.EventType {
	t.Helper()
	var last []enums.EventType
	for stable := 0; stable < 3; {
		time.Sleep(300 * time.Millisecond)
		desc, err := tc.DescribeWorkflow(ctx, workflows.ConsultationID(customer), "")
		if err != nil {
			t.Fatal(err)
		}
		d := desc.RawResponse
		events, err := historyEvents(ctx, tc, customer)
		if err != nil {
			t.Fatal(err)
		}
		idle := d.GetPendingWorkflowTask() == nil && len(d.GetPendingActivities()) == 0
		if idle && len(events) == len(last) {
			stable++
		} else {
			stable = 0
		}
		last = events
	}
	return last
}

// historyEvents lists the event types of the customer's current consultation run.
func historyEvents(ctx context.Context, tc client.Client, customer string) ([]enums.EventType, error) {
	it := tc.GetWorkflowHistory(ctx, workflows.ConsultationID(customer), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []enums.EventType
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", customer, err)
		}
		out = append(out, e.GetEventType())
	}
	return out, nil
}
