package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/timdesk/timdesk/activities"
)

// TestAgentMessageOwnedBeforeCloseIsDelivered: an agent message is accepted (Owned: the API drops
// the original) while the workflow relays a customer message, and a close request arrives before
// the main loop gets back to it. The message must reach the customer before the goodbye.
func TestAgentMessageOwnedBeforeCloseIsDelivered(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	var owned AgentMessageResult
	fired := false
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in activities.SendInput
		if fired || info.ActivityType.Name != "Send" || args.Get(&in) != nil || in.To != "agent_emma" || !strings.Contains(in.Text, "where is my parcel") {
			return
		}
		fired = true
		h.env.UpdateWorkflow(UpdateAgentMessage, "a1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("update rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(v any, err error) { owned, _ = v.(AgentMessageResult) },
		}, InboundMessage{MsgKey: "a1", From: "agent_emma", To: "cust1", Text: "It ships today"})
		h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "admin", By: "admin"})
	})
	h.customer(time.Second, "k1", "human please")
	h.customer(time.Minute, "k2", "where is my parcel")
	res := h.run(ConsultationInput{})
	if !fired {
		t.Fatal("the relay of k2 never started")
	}
	if !owned.Owned {
		t.Fatalf("agent message answer = %+v, want Owned", owned)
	}
	if res.Reason != "admin" {
		t.Errorf("closed with %q, want admin", res.Reason)
	}
	got := f.sentTo("cust1")
	reply, goodbye := -1, -1
	for i, text := range got {
		switch {
		case strings.Contains(text, "It ships today"):
			reply = i
		case goodbye < 0 && strings.Contains(text, "conversation is now closed"):
			goodbye = i
		}
	}
	if reply < 0 {
		t.Fatalf("the owned agent message never reached the customer; customer got %q", got)
	}
	if goodbye < 0 || goodbye < reply {
		t.Errorf("goodbye (%d) sent before the agent's message (%d): %q", goodbye, reply, got)
	}
}
