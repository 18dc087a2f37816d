package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// TestAgentMessageAfterCallbackDeadline: an agent message whose callback already gave up waiting
// (AnswerBy passed: Tencent told the agent the send failed, and the agent will resend) is refused
// and never delivered; one still inside its deadline is taken.
func TestAgentMessageAfterCallbackDeadline(t *testing.T) {
	tests := []struct {
		name      string
		answerBy  time.Duration // relative to the update's delivery; 0 = no deadline
		wantOwned bool
	}{
		{name: "expired", answerBy: -time.Second, wantOwned: false},
		{name: "in time", answerBy: time.Second, wantOwned: true},
		{name: "no deadline", answerBy: 0, wantOwned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			h := newHarness(t, f)
			var rejected error
			var got AgentMessageResult
			h.customer(time.Second, "k1", "human please")
			h.at(time.Minute, func() {
				m := InboundMessage{MsgKey: "a1", From: "agent_emma", To: "cust1", Text: "It ships today"}
				if tt.answerBy != 0 {
					m.AnswerBy = h.env.Now().Add(tt.answerBy)
				}
				h.env.UpdateWorkflow(UpdateAgentMessage, "a1", &testsuite.TestUpdateCallback{
					OnReject:   func(err error) { rejected = err },
					OnAccept:   func() {},
					OnComplete: func(v any, err error) { got, _ = v.(AgentMessageResult) },
				}, m)
			})
			h.at(2*time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "test", By: "admin"}) })
			h.run(ConsultationInput{})

			delivered := f.sentCount("cust1", "It ships today") > 0
			if tt.wantOwned {
				if rejected != nil || !got.Owned || !delivered {
					t.Errorf("got rejected=%v owned=%v delivered=%v, want the message taken and delivered", rejected, got.Owned, delivered)
				}
				return
			}
			var appErr *temporal.ApplicationError
			if !errors.As(rejected, &appErr) || appErr.Type() != ErrTypeAgentMessageExpired {
				t.Errorf("got rejection %v, want an ApplicationError of type %s", rejected, ErrTypeAgentMessageExpired)
			}
			if delivered || got.Owned {
				t.Errorf("expired agent message: owned=%v delivered=%v, want neither", got.Owned, delivered)
			}
		})
	}
}

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
