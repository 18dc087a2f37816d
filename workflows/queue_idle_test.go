package workflows

import (
	"testing"
	"time"

	"github.com/timdesk/timdesk/activities"
)

// TestQueuedConsultationClosesWhenCustomerIsSilent: a consultation waiting in the queue whose
// routing retries keep finding nobody closes for inactivity QueueIdleTimeout after the customer's
// last message; a retry that finds nobody again is not the customer's activity and must not push
// the inactivity deadline out (before, every retry did, so it never closed and asked the router
// every 30 minutes forever).
func TestQueuedConsultationClosesWhenCustomerIsSilent(t *testing.T) {
	const idle = 3 * time.Hour
	cases := []struct {
		name  string
		route activities.RouteResult
	}{
		{"on duty, nobody available", activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "all offline"}},
		{"nobody on duty, no shift found", activities.RouteResult{Decision: activities.DecisionOffHours, Reason: "no shift in two weeks"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			f.policy.QueueIdleTimeout = idle
			f.route = func(activities.RouteInput, int) activities.RouteResult { return c.route }
			h := newHarness(t, f)
			h.customer(time.Second, "k1", "human please")
			h.at(3*idle, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "test_end"}) })
			res := h.run(ConsultationInput{})
			if res.Reason != reasonInactivity {
				t.Fatalf("closed with reason %q, want %q (QueueIdleTimeout after the last message)", res.Reason, reasonInactivity)
			}
			// the idle deadline, then the rating window
			if want := testStart.Add(time.Second + idle + f.policy.RatingWindow); !res.ClosedAt.Equal(want) {
				t.Errorf("closed at %v, want %v", res.ClosedAt, want)
			}
			if len(f.routes) < 3 {
				t.Errorf("routing attempts = %d, want the retries to go on until the close", len(f.routes))
			}
		})
	}
}
