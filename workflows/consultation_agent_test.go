package workflows

import (
	"errors"
	"strings"
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

			delivered := false
			for _, text := range f.sentTo("cust1") {
				if strings.Contains(text, "It ships today") {
					delivered = true
				}
			}
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
