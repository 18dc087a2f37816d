package workflows

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

// TestRouteNow: a consultation waiting for an agent routes as soon as route_now arrives, long
// before its retry deadline; one that is not waiting ignores it; if nobody is free after all, the
// retry already planned is kept.
func TestRouteNow(t *testing.T) {
	const retry = 30 * time.Minute
	tests := []struct {
		name       string
		free       func(n int) bool // route call n finds agent_li free
		signals    []time.Duration  // route_now deliveries
		wantAgent  string
		wantRoutes int
		wantRetry  time.Time // RetryRouteAt at the snapshot (zero: none)
		wantTrig   string
	}{
		{name: "waiting routes at once", free: func(n int) bool { return n > 1 }, signals: []time.Duration{5 * time.Minute},
			wantAgent: "agent_li", wantRoutes: 2, wantTrig: "agent_online"},
		{name: "burst routes once", free: func(n int) bool { return n > 1 }, signals: []time.Duration{5 * time.Minute, 5 * time.Minute, 5 * time.Minute},
			wantAgent: "agent_li", wantRoutes: 2, wantTrig: "agent_online"},
		{name: "nobody free keeps the planned retry", free: func(int) bool { return false }, signals: []time.Duration{5 * time.Minute},
			wantRoutes: 2, wantRetry: testStart.Add(time.Second + retry), wantTrig: "agent_online"},
		{name: "with an agent it is ignored", free: func(int) bool { return true }, signals: []time.Duration{5 * time.Minute},
			wantAgent: "agent_li", wantRoutes: 1, wantTrig: "customer_requested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.policy.RetryRouteAfter = retry
			f.route = func(in activities.RouteInput, n int) activities.RouteResult {
				if tt.free(n) {
					return activities.RouteResult{Decision: activities.DecisionAssigned, Agent: "agent_li", AgentLanguage: "en", Reason: "agent_li online", AcceptTimeout: time.Hour}
				}
				return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "nobody available: agent_li offline"}
			}
			h := newHarness(t, f)
			var st ConsultationState
			h.customer(time.Second, "k1", "human please")
			for _, d := range tt.signals {
				h.at(d, func() {
					h.env.SignalWorkflow(SignalRouteNow, desk.RouteNow{Reason: "agent_li online", Agent: "agent_li"})
				})
			}
			h.snapshot(6*time.Minute, &st) // long before the retry at 30m1s
			h.at(7*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
			h.run(ConsultationInput{})

			f.mu.Lock()
			routes := len(f.routes)
			f.mu.Unlock()
			if st.Agent != tt.wantAgent || routes != tt.wantRoutes {
				t.Errorf("agent=%q routes=%d, want %q and %d (routing %+v)", st.Agent, routes, tt.wantAgent, tt.wantRoutes, st.LastRouting)
			}
			if !st.RetryRouteAt.Equal(tt.wantRetry) {
				t.Errorf("retry at %v, want %v", st.RetryRouteAt, tt.wantRetry)
			}
			if st.LastRouting == nil || st.LastRouting.Trigger != tt.wantTrig {
				t.Fatalf("last routing = %+v, want trigger %s", st.LastRouting, tt.wantTrig)
			}
			if tt.wantTrig == "agent_online" && !st.LastRouting.At.Equal(testStart.Add(5*time.Minute)) {
				t.Errorf("routed at %v, want at the signal (start+5m)", st.LastRouting.At)
			}
			if n := len(h.f.sentTo("cust1")); tt.wantAgent != "" && h.f.find("cust1", "connect you") == nil {
				t.Errorf("customer got %d messages, none the connecting notice", n)
			}
		})
	}
}

// ladderRouter mimics Router.Route on a desk of agent_emma and agent_sam with supervisor
// agent_zhang: the first one not excluded and online; else unavailable, naming the excluded
// ones who are online (the ladder is exhausted).
type ladderRouter struct {
	mu      sync.Mutex
	offline map[string]bool
}

func (l *ladderRouter) setOffline(id string, off bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offline[id] = off
}

func (l *ladderRouter) route(in activities.RouteInput, _ int) activities.RouteResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	var avail []string
	for _, a := range []string{"agent_emma", "agent_sam", "agent_zhang"} {
		if l.offline[a] {
			continue
		}
		if a == in.Current || contains(in.Exclude, a) {
			if contains(in.Exclude, a) {
				avail = append(avail, a)
			}
			continue
		}
		d := activities.DecisionAssigned
		if a == "agent_zhang" {
			d = activities.DecisionSupervisor
		}
		return activities.RouteResult{Decision: d, Agent: a, AgentLanguage: "en", Reason: a + " free", AcceptTimeout: 2 * time.Minute}
	}
	return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "nobody available", TimedOutAvailable: avail}
}

// TestLadderNewRound: when everyone usable has timed out, TimedOut is cleared and the next
// retry starts a new round that picks an agent who timed out in round 1; agents who are offline
// are not retried that way, but one who comes back online starts the round at once (route_now).
// The customer hears nothing new.
func TestLadderNewRound(t *testing.T) {
	// Round 1: agent_emma 0:01, agent_sam 2:01, agent_zhang 4:01; all timed out at 6:01.
	tests := []struct {
		name        string
		offlineAt6  bool          // everyone goes offline at 5m (before the ladder ends)
		wakeAt      time.Duration // agent_emma back online + route_now (0: never)
		snapAt      time.Duration
		wantAgent   string
		wantRound   int
		wantReason  string
		wantRetryIn time.Duration // RetryRouteAt - LastRouting.At at snapAt (0: no check)
	}{
		{name: "exhausted: round 2 at the next retry", snapAt: 7 * time.Minute,
			wantRound: 2, wantReason: "ladder exhausted, starting round 2", wantRetryIn: 2 * time.Minute},
		{name: "round 2 picks an agent who timed out", snapAt: 9 * time.Minute, wantAgent: "agent_emma", wantRound: 2},
		{name: "round 3 backs off further", snapAt: 15 * time.Minute,
			wantRound: 3, wantReason: "ladder exhausted, starting round 3", wantRetryIn: 4 * time.Minute},
		{name: "offline agents are not a new round", offlineAt6: true, snapAt: 9 * time.Minute, wantRound: 0},
		{name: "a timed-out agent back online starts the round at once", offlineAt6: true, wakeAt: 10 * time.Minute,
			snapAt: 10*time.Minute + time.Second, wantAgent: "agent_emma", wantRound: 2, wantReason: "ladder exhausted, starting round 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			lr := &ladderRouter{offline: map[string]bool{}}
			f.route = lr.route
			h := newHarness(t, f)
			var st ConsultationState
			var before int
			h.customer(time.Second, "k1", "human please")
			if tt.offlineAt6 {
				h.at(5*time.Minute, func() {
					for _, a := range []string{"agent_emma", "agent_sam", "agent_zhang"} {
						lr.setOffline(a, true)
					}
				})
			}
			h.at(6*time.Minute+30*time.Second, func() { before = len(f.sentTo("cust1")) })
			if tt.wakeAt > 0 {
				h.at(tt.wakeAt, func() {
					lr.setOffline("agent_emma", false)
					h.env.SignalWorkflow(SignalRouteNow, desk.RouteNow{Reason: "agent_emma online", Agent: "agent_emma"})
				})
			}
			var after int
			h.at(tt.snapAt, func() { st, after = h.state(), len(f.sentTo("cust1")) })
			h.at(tt.snapAt+time.Second, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
			h.run(ConsultationInput{})

			if st.Agent != tt.wantAgent || st.Round != tt.wantRound {
				t.Errorf("agent=%q round=%d, want %q round %d (timed out %v, routing %+v)", st.Agent, st.Round, tt.wantAgent, tt.wantRound, st.TimedOut, st.LastRouting)
			}
			if tt.wantReason != "" && (st.LastRouting == nil || !strings.Contains(st.LastRouting.Reason, tt.wantReason)) {
				t.Errorf("last routing = %+v, want reason with %q", st.LastRouting, tt.wantReason)
			}
			if tt.wantRetryIn > 0 {
				if len(st.TimedOut) != 0 || st.Phase != PhaseWaitingAgent {
					t.Errorf("after exhaustion: timed out %v phase %s, want none and waiting_agent", st.TimedOut, st.Phase)
				}
				if d := st.RetryRouteAt.Sub(st.LastRouting.At); d != tt.wantRetryIn {
					t.Errorf("next retry in %v, want %v", d, tt.wantRetryIn)
				}
			}
			if tt.wantRound == 0 && len(st.TimedOut) != 3 {
				t.Errorf("timed out %v, want all three kept (they were offline, not exhausted)", st.TimedOut)
			}
			if after != before {
				t.Errorf("customer got %d new messages during the new round, want none (%q)", after-before, f.sentTo("cust1")[before:after])
			}
		})
	}
}

// TestFreedSlotsTellTheDesk: a consultation that releases its agent — replaced for not
// accepting, transferred, handed back to the AI, or closed — tells the desk, which wakes the
// queue (TestDeskWakesTheQueueWhenASlotFrees).
func TestFreedSlotsTellTheDesk(t *testing.T) {
	tests := []struct {
		name  string
		steps func(h *harness)
		want  []string // agent/reason
	}{
		{"escalation, then close", func(h *harness) {
			h.customer(time.Second, "k1", "human") // agent_emma; accept timeout at 2m1s → agent_li
			h.agent(3*time.Minute, "a1", "agent_li", "Hello", nil)
			h.at(4*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "done", By: "admin"}) })
		}, []string{"agent_emma/reassigned", "agent_li/closed"}},
		{"transfer", func(h *harness) {
			h.customer(time.Second, "k1", "human")
			h.agent(time.Minute, "a1", "agent_emma", "/transfer agent_li", nil)
			h.at(3*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "done"}) })
		}, []string{"agent_emma/reassigned", "agent_li/closed"}},
		{"back to the AI", func(h *harness) {
			h.customer(time.Second, "k1", "human")
			h.agent(time.Minute, "a1", "agent_emma", "/ai", nil)
			h.at(3*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "done"}) })
		}, []string{"agent_emma/returned_to_ai"}},
		{"AI only: no slot", func(h *harness) {
			h.customer(time.Second, "k1", "运费多少钱？")
			h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "done"}) })
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.route = func(in activities.RouteInput, n int) activities.RouteResult {
				agent := "agent_emma"
				if in.Target != "" {
					agent = in.Target
				} else if in.Current == "agent_emma" || len(in.Exclude) > 0 {
					agent = "agent_li"
				}
				return activities.RouteResult{Decision: activities.DecisionAssigned, Agent: agent, AgentLanguage: "en", AcceptTimeout: 2 * time.Minute}
			}
			h := newHarness(t, f)
			tt.steps(h)
			h.run(ConsultationInput{})
			var got []string
			for _, fr := range f.freed {
				if fr.Consultation == "" {
					t.Errorf("slot_freed without the consultation: %+v", fr)
				}
				got = append(got, fr.Agent+"/"+fr.Reason)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("slots freed = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestQueuePositionNotices: entering the queue the customer hears their place; later only when
// it changed materially (halved, or next in line), not at every retry.
func TestQueuePositionNotices(t *testing.T) {
	f := newFake()
	f.route = func(activities.RouteInput, int) activities.RouteResult {
		return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "nobody free"}
	}
	f.positions = []int{6, 5, 3, 3, 1}
	h := newHarness(t, f)
	var st ConsultationState
	h.customer(time.Second, "k1", "human") // queued: 6; retries at +2m (5), +4m (3), +8m (3), +16m (1)
	h.snapshot(40*time.Minute, &st)
	h.at(41*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})

	var told []string
	for _, text := range h.f.sentTo("cust1") {
		if strings.Contains(text, "in the queue.") && strings.Contains(text, "number") {
			told = append(told, text)
		}
	}
	want := []string{"You are number 6 in the queue.", "You are number 3 in the queue.", "You are number 1 in the queue."}
	if fmt.Sprint(told) != fmt.Sprint(want) {
		t.Errorf("queue notices = %q, want %q", told, want)
	}
	if st.QueuePosition != 1 {
		t.Errorf("state queue position = %d, want 1", st.QueuePosition)
	}
}

// TestQueuedSince: the customer's place in the queue is since when they have waited for a person:
// set on entering the queue (the hand-off), kept across routing retries, cleared when an agent is
// assigned, and back at the hand-off when that agent never answered (an escalation does not send
// the customer to the back of the queue). The search attribute TimdeskQueuedSince follows it, and
// the queue position and routing's place in the queue are counted from it.
func TestQueuedSince(t *testing.T) {
	f := newFake()
	f.policy.RetryRouteAfter = 2 * time.Minute
	f.route = func(_ activities.RouteInput, n int) activities.RouteResult {
		if n == 2 {
			return activities.RouteResult{Decision: activities.DecisionAssigned, Agent: "agent_emma", AgentLanguage: "en", Reason: "free", AcceptTimeout: time.Minute}
		}
		return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "nobody free"}
	}
	f.positions = []int{3}
	h := newHarness(t, f)
	var mu sync.Mutex
	var upserted []string // upserts changing the status: "status/queued-since" ("-": none)
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		mu.Lock()
		defer mu.Unlock()
		status, ok := sa.GetKeyword(StatusKey)
		if !ok {
			return
		}
		since := "-"
		if v, ok := sa.GetTime(QueuedSinceKey); ok {
			since = v.UTC().Format("15:04:05")
		}
		upserted = append(upserted, status+"/"+since)
	}).Return(nil)
	var queued, assigned, requeued ConsultationState
	h.customer(time.Second, "k1", "human") // hand-off at +1s: nobody free, queued; retry at +2m1s assigns agent_emma
	h.snapshot(time.Minute, &queued)
	h.snapshot(2*time.Minute+30*time.Second, &assigned)
	h.snapshot(3*time.Minute+30*time.Second, &requeued) // agent_emma did not accept by +3m1s: queued again
	h.at(4*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h.run(ConsultationInput{})

	handoff := testStart.Add(time.Second)
	if queued.Status != desk.StatusQueued || !queued.QueuedSince.Equal(handoff) {
		t.Errorf("queued: status %s since %v, want queued since the hand-off %v", queued.Status, queued.QueuedSince, handoff)
	}
	if assigned.Agent != "agent_emma" || !assigned.QueuedSince.IsZero() {
		t.Errorf("assigned: agent %q since %v, want agent_emma and no queued-since", assigned.Agent, assigned.QueuedSince)
	}
	if requeued.Status != desk.StatusQueued || !requeued.QueuedSince.Equal(handoff) {
		t.Errorf("requeued after the accept timeout: status %s since %v, want queued since the hand-off %v", requeued.Status, requeued.QueuedSince, handoff)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.since) < 2 {
		t.Fatalf("queue position asked %d times, want at least 2", len(f.since))
	}
	for _, since := range f.since {
		if !since.Equal(handoff) {
			t.Errorf("queue position counted from %v, want the hand-off %v", since, handoff)
		}
	}
	// Routing serves the queue in the same order: every Route call (the hand-off, the retry, the
	// re-route after the accept timeout) carries the hand-off as the customer's place.
	if len(f.routes) < 3 {
		t.Fatalf("routed %d times, want at least 3", len(f.routes))
	}
	for i, in := range f.routes {
		if !in.Since.Equal(handoff) {
			t.Errorf("route %d: since %v, want the hand-off %v", i+1, in.Since, handoff)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	h1 := handoff.UTC().Format("15:04:05")
	if want := []string{"ai/-", "queued/" + h1, "human/-", "queued/" + h1, "closed/-"}; !slices.Equal(upserted, want) {
		t.Errorf("status/TimdeskQueuedSince upserts = %v, want %v", upserted, want)
	}
}

// TestSearchAttributeChanges: TimdeskQueuedSince is set when it changes and unset once set, like
// the agent; nothing is written for values already indexed.
func TestSearchAttributeChanges(t *testing.T) {
	t1 := testStart.Add(time.Minute)
	base := saValues{Status: desk.StatusQueued, Customer: "c", set: true}
	with := func(v saValues, since time.Time) saValues { v.QueuedSince = since; return v }
	tests := []struct {
		name      string
		last, cur saValues
		want      []string // keys updated, "-key" for an unset
	}{
		{"first sync sets it", saValues{}, with(base, t1), []string{"TimdeskStatus", "TimdeskCustomer", "TimdeskQueuedSince"}},
		{"first sync without it writes nothing for it", saValues{}, base, []string{"TimdeskStatus", "TimdeskCustomer"}},
		{"unchanged", with(base, t1), with(base, t1), nil},
		{"leaving the queue unsets it", with(base, t1), saValues{Status: desk.StatusHuman, Customer: "c", Agent: "a", set: true},
			[]string{"TimdeskStatus", "TimdeskAgent", "-TimdeskQueuedSince"}},
		{"entering the queue sets it", base, with(base, t1), []string{"TimdeskQueuedSince"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// each update applied over placeholders of every key shows which key it sets or unsets
			full := []temporal.SearchAttributeUpdate{StatusKey.ValueSet("?"), CustomerKey.ValueSet("?"), AgentKey.ValueSet("?"),
				LanguageKey.ValueSet("?"), QueuedSinceKey.ValueSet(time.Unix(1, 0))}
			before := temporal.NewSearchAttributes(full...).GetUntypedValues()
			var got []string
			for _, u := range tt.last.changes(tt.cur) {
				after := temporal.NewSearchAttributes(append(slices.Clone(full), u)...).GetUntypedValues()
				for k, v := range before {
					switch av, ok := after[k]; {
					case !ok:
						got = append(got, "-"+k.GetName())
					case fmt.Sprint(av) != fmt.Sprint(v):
						got = append(got, k.GetName())
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes = %v, want %v", got, tt.want)
			}
		})
	}
}
