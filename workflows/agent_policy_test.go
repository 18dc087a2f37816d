package workflows

import (
	"testing"
	"time"
)

// TestForeignAndLateAgentMessages: only the agent who owns the consultation reaches the customer
// (translated, From=service account). The late reply of an agent the ladder replaced, and a
// message from an agent who never owned it, are not taken: the update says why and who owns it,
// so the API refuses the send with that notice, and nothing reaches the customer.
func TestForeignAndLateAgentMessages(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	var late, foreign, owner, queued AgentMessageResult
	h.customer(time.Second, "k1", "human")                                                       // → agent_emma, accept by 2m1s
	h.agent(3*time.Minute, "a1", "agent_emma", "Sorry, I was away", &late)                       // emma timed out → agent_li
	h.agent(3*time.Minute+10*time.Second, "a2", "agent_zhang", "Supervisor here", &foreign)      // never owned it
	h.agent(3*time.Minute+20*time.Second, "a3", "agent_li", "Hello, Li here", &owner)            // the owner
	h.at(4*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) }) // closes
	h.agent(4*time.Minute+10*time.Second, "a4", "agent_li", "One more thing", &queued)           // after close
	h.run(ConsultationInput{})

	if late.Owned || late.Reason != "timed_out" || late.Owner != "agent_li" {
		t.Errorf("timed-out agent's late reply = %+v, want not owned, timed_out, owner agent_li", late)
	}
	if foreign.Owned || foreign.Reason != "not_owner" || foreign.Owner != "agent_li" {
		t.Errorf("foreign agent's message = %+v, want not owned, not_owner, owner agent_li", foreign)
	}
	if !owner.Owned || owner.Reason != "owner" {
		t.Errorf("owner's message = %+v", owner)
	}
	if queued.Owned || queued.Reason != "closed" {
		t.Errorf("message after close = %+v, want not owned, closed", queued)
	}
	for _, text := range []string{"Sorry, I was away", "Supervisor here", "One more thing"} {
		if s := h.f.find("cust1", text); s != nil {
			t.Errorf("customer got %q from a non-owner: %+v", text, s)
		}
	}
	if h.f.find("cust1", "Hello, Li here") == nil {
		t.Error("the owner's reply did not reach the customer")
	}
}
