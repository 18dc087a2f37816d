package workflows

import (
	"strings"
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

// neverAccepting routes like a desk whose agents are online but never answer: agent_emma, then
// agent_li (each with a 10-minute accept timeout), then the ladder is exhausted and a new round
// starts at the next retry — for ever.
func neverAccepting(in activities.RouteInput, _ int) activities.RouteResult {
	for _, a := range []string{"agent_emma", "agent_li"} {
		if a != in.Current && !contains(in.Exclude, a) {
			return activities.RouteResult{Decision: activities.DecisionAssigned, Agent: a, AgentLanguage: "en",
				Reason: a + " online", AcceptTimeout: 10 * time.Minute}
		}
	}
	return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "everyone timed out",
		TimedOutAvailable: []string{"agent_emma", "agent_li"}}
}

// nobodyLogsIn routes like a desk with a 09:00-17:00 UTC shift every day that no agent ever logs
// in to: unavailable during the shift, off hours (next 09:00) outside it.
func nobodyLogsIn(now func() time.Time) func(activities.RouteInput, int) activities.RouteResult {
	return func(activities.RouteInput, int) activities.RouteResult {
		t := now().UTC()
		if h := t.Hour(); h >= 9 && h < 17 {
			return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "all offline"}
		}
		next := time.Date(t.Year(), t.Month(), t.Day(), 9, 0, 0, 0, time.UTC)
		if !next.After(t) {
			next = next.AddDate(0, 0, 1)
		}
		return activities.RouteResult{Decision: activities.DecisionOffHours, Reason: "nobody on duty",
			NextShift: next, NextShiftLocal: next.Format("2006-01-02 15:04 UTC")}
	}
}

// TestUnacceptedConsultationCloses: a consultation no agent accepts closes for inactivity
// QueueIdleTimeout after the customer's last message, whatever ladder rounds, re-assignments or
// shift waits come between — except that a shift starting later than that, which the customer
// was told about, gets QueueIdleTimeout from its start, once. Before, every assignment reset the
// deadline and every shift wait counted it from the next shift, so these ran (and relayed the
// backlog, and sent off-hours notices) for ever. testStart is 10:00 UTC (in the shift).
func TestUnacceptedConsultationCloses(t *testing.T) {
	tests := []struct {
		name         string
		shifts       bool          // nobodyLogsIn, else neverAccepting
		start        time.Duration // the workflow starts at testStart + start
		idle         time.Duration
		messages     []time.Duration // customer messages, after the start
		wantClose    time.Duration   // the inactivity close, after the start
		maxRelays    int             // relayed customer messages to agents (0: unchecked)
		wantOffHours int             // off-hours notices
	}{
		{name: "agents online never accept", idle: 3 * time.Hour, messages: []time.Duration{time.Second},
			wantClose: time.Second + 3*time.Hour, maxRelays: 18},
		{name: "customer keeps writing, agents never accept", idle: 3 * time.Hour,
			messages:  []time.Duration{time.Second, 2 * time.Hour, 4 * time.Hour, 6 * time.Hour, 8 * time.Hour},
			wantClose: 8*time.Hour + 3*time.Hour},
		// from 20:00 on day 1: the next shift (09:00 day 2) starts after 20:00 + 12 h, so the
		// customer gets that shift + 12 h (21:00 day 2), not every later shift + 12 h
		{name: "nobody logs in for days", shifts: true, start: 10 * time.Hour, idle: 12 * time.Hour,
			messages: []time.Duration{time.Second}, wantClose: 13*time.Hour + 12*time.Hour, wantOffHours: 1},
		// 20:00 day 1, 16:00 day 2 and 12:00 day 3: each message counts afresh; the last one's
		// +12 h (00:00 day 4) falls before the next shift (09:00 day 4), which gets its 12 h once
		{name: "customer keeps writing, nobody logs in", shifts: true, start: 10 * time.Hour, idle: 12 * time.Hour,
			messages:  []time.Duration{time.Second, 20 * time.Hour, 40 * time.Hour},
			wantClose: 61*time.Hour + 12*time.Hour, wantOffHours: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.policy.QueueIdleTimeout = tt.idle
			h := newHarness(t, f)
			h.env.SetStartTime(testStart.Add(tt.start))
			f.route = neverAccepting
			if tt.shifts {
				f.route = nobodyLogsIn(h.env.Now)
			}
			for i, d := range tt.messages {
				text := "human please"
				if i > 0 {
					text = "hello? anyone there?"
				}
				h.customer(d, "k"+string(rune('a'+i)), text)
			}
			var before ConsultationState
			h.snapshot(tt.wantClose-time.Minute, &before)
			h.at(10*24*time.Hour, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "test_end"}) })
			res := h.run(ConsultationInput{})

			if res.Reason != reasonInactivity {
				t.Fatalf("closed with reason %q, want %q", res.Reason, reasonInactivity)
			}
			if want := testStart.Add(tt.start + tt.wantClose + f.policy.RatingWindow); !res.ClosedAt.Equal(want) {
				t.Errorf("closed at %v, want %v (the inactivity close, then the rating window)", res.ClosedAt, want)
			}
			if before.Phase == PhaseClosed || before.Accepted {
				t.Errorf("a minute before the close: phase %q accepted %v, want open and unaccepted", before.Phase, before.Accepted)
			}
			if len(before.Notified) > 3 {
				t.Errorf("Notified = %v, want at most 3 keys (busy, connecting, ...)", before.Notified)
			}
			for k := range before.Notified {
				if strings.HasPrefix(k, "off_hours:") {
					t.Errorf("Notified has a per-day key %q", k)
				}
			}
			if sent := f.sentTo("cust1"); len(sent) < 2 || !strings.Contains(sent[len(sent)-2], "not heard from you") {
				t.Errorf("customer's last messages %q, want the inactivity goodbye before the rating prompt", sent)
			}
			relays, offHours := 0, 0
			f.mu.Lock()
			for _, s := range f.sends {
				if s.Relay && s.To != "cust1" && !strings.HasPrefix(s.Text, agentNoticeMark) {
					relays++
				}
				if s.To == "cust1" && strings.Contains(s.Text, "next shift") {
					offHours++
				}
			}
			f.mu.Unlock()
			if tt.maxRelays > 0 && relays > tt.maxRelays {
				t.Errorf("relays to agents = %d, want at most %d", relays, tt.maxRelays)
			}
			if offHours != tt.wantOffHours {
				t.Errorf("off-hours notices = %d, want %d", offHours, tt.wantOffHours)
			}
		})
	}
}
