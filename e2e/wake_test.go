package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/workflows"
)

// TestAgentLoginWakesQueued: with every agent offline a customer who asks for a person is queued;
// the moment an agent logs in (State.StateChange → the desk's presence), the consultation is
// routed to them, long before its routing retry (2 minutes or more), even when visibility does not
// list the consultation as queued yet.
func TestAgentLoginWakesQueued(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	s := startStack(t, stackOptions{})
	agents := []string{"agent_emma", "agent_tom", "agent_zhang"}
	s.login(t, append([]string{"frank"}, agents...)...)
	for _, a := range agents {
		if err := postJSON(context.Background(), s.simURL+"/sim/logout", map[string]string{"userID": a}, nil); err != nil {
			t.Fatalf("logout %s: %v", a, err)
		}
	}
	// Presence reaches the desk workflow through the API; wait until routing sees everyone offline.
	s.sendUntilAccepted(t, 30*time.Second, "frank", "support", "我的包裹坏了，我要找人工")
	eventually(t, 30*time.Second, "frank queued", func() error {
		st, err := s.consultationState("frank")
		if err != nil {
			return err
		}
		if st.Status != "queued" {
			return errNotYet
		}
		return nil
	})
	// The agent logs in at once: visibility (which the wake-up lists the queue from) may not show
	// frank as queued yet — on PostgreSQL under load it trails by seconds — and the wake-up's
	// re-check (5 s later) finds him then.
	loggedIn := time.Now()
	s.login(t, "agent_tom")
	s.waitFor(t, "agent_tom", 30*time.Second, "relay to the agent who logged in", func(m simMessage) bool {
		return m.From == "frank" && strings.Contains(m.Text, "My parcel is broken, I want a human agent")
	})
	if waited := time.Since(loggedIn); waited > time.Minute {
		t.Errorf("the relay came %s after the login, want well before the 2 min routing retry", waited)
	}
	st, err := s.consultationState("frank")
	if err != nil {
		t.Fatal(err)
	}
	if !st.QueuedSince.IsZero() {
		t.Errorf("queued since %v after the assignment, want none", st.QueuedSince)
	}
	if st.Status != "human" || st.Agent != "agent_tom" {
		t.Errorf("state: status %q agent %q, want human with agent_tom", st.Status, st.Agent)
	}

	// Everyone offline again: gina, who asks for a person, is queued.
	if err := postJSON(context.Background(), s.simURL+"/sim/logout", map[string]string{"userID": "agent_tom"}, nil); err != nil {
		t.Fatalf("logout agent_tom: %v", err)
	}
	s.login(t, "gina")
	time.Sleep(2 * time.Second) // the logout reaches the desk (through the API) before gina asks
	s.sendUntilAccepted(t, 30*time.Second, "gina", "support", "我要找人工")
	eventually(t, 30*time.Second, "gina queued", func() error {
		st, err := s.consultationState("gina")
		if err != nil {
			return err
		}
		if st.Status != "queued" {
			return errNotYet
		}
		return nil
	})
	// The queue as the desk's wake-up and the queue position see it (visibility): gina waits since
	// her hand-off (TimdeskQueuedSince), one customer queued later counts her ahead.
	gina, err := s.consultationState("gina")
	if err != nil || gina.QueuedSince.IsZero() {
		t.Fatalf("gina queued since %v (%v), want the hand-off time", gina.QueuedSince, err)
	}
	c := s.temporalClient(t)
	eventually(t, 15*time.Second, "gina listed as queued since her hand-off", func() error {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.namespace, Query: desk.QueuedQuery()})
		if err != nil {
			return err
		}
		for _, ex := range resp.GetExecutions() {
			if ex.GetExecution().GetWorkflowId() == workflows.ConsultationID("gina") {
				if got := activities.QueuedSince(ex); !got.Equal(gina.QueuedSince) {
					return fmt.Errorf("listed queued since %v, state says %v", got, gina.QueuedSince)
				}
				return nil
			}
		}
		return errNotYet
	})
	r := &activities.Router{Temporal: c}
	pos, err := r.QueuePosition(context.Background(), activities.QueuePositionInput{Since: gina.QueuedSince.Add(time.Millisecond)})
	if err != nil || pos.Position != 2 {
		t.Errorf("queue position of a customer queued just after gina = %+v (%v), want 2", pos, err)
	}
}
