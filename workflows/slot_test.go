package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

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

// TestDeskWakesTheQueueWhenASlotFrees: a freed slot and a new roster (capacity raised) wake the
// queued consultations; the freed slot after slotSettle, so visibility no longer counts it.
func TestDeskWakesTheQueueWhenASlotFrees(t *testing.T) {
	f := newFake()
	env := newDeskEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalSlotFreed, desk.SlotFreed{Agent: "agent_li", Consultation: "consultation/amy", Reason: "closed"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateRoster, "cap", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("roster rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, desk.RosterUpdate{YAML: deskRoster})
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 20*time.Minute)
	env.ExecuteWorkflow(DeskWorkflow, DeskInput{})

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.wakes) != 2 {
		t.Fatalf("wake-ups = %+v, want one for the freed slot and one for the roster", f.wakes)
	}
	if w := f.wakes[0]; w.Agent != "agent_li" || w.Reason != "agent_li free (closed)" || w.Signal != SignalRouteNow {
		t.Errorf("freed-slot wake-up = %+v", w)
	}
	if w := f.wakes[1]; w.Reason != "roster changed" {
		t.Errorf("roster wake-up = %+v", w)
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
