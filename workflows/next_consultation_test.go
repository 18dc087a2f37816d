package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"
)

// TestNextConsultationSendKeysAreNew: the consultation that starts from a message sent while
// closing must not reuse the closing consultation's send keys (MsgSeq/MsgRandom derive from
// them: Tencent would drop the new message as a duplicate, or a late retry would find the old one
// in the history and report it as delivered).
func TestNextConsultationSendKeysAreNew(t *testing.T) {
	f := newFake() // its Send fails on a repeated key; both runs share it
	h := newHarness(t, f)
	h.customer(time.Second, "k1", "how long does shipping take?")
	h.at(time.Minute, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "admin", By: "admin"}) })
	h.customer(2*time.Minute, "k2", "one more question about refunds")
	h.env.ExecuteWorkflow(ConsultationWorkflow, ConsultationInput{Customer: "cust1"})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new into the next consultation", err)
	}
	var next ConsultationInput
	if err := decodeCAN(can, &next); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	firstKeys := map[string]bool{}
	for _, s := range f.sends {
		firstKeys[s.Key] = true
	}
	f.mu.Unlock()

	h2 := newHarness(t, f)
	h2.env.SetStartTime(testStart.Add(3 * time.Minute))
	h2.at(time.Minute, func() { h2.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	h2.run(next)
	if f.find("cust1", "answer to one more question about refunds") == nil {
		t.Errorf("the next consultation's answer was not sent; sends to the customer: %q", f.sentTo("cust1"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sends {
		if strings.Contains(s.Text, "refunds") && firstKeys[s.Key] {
			t.Errorf("send key %s reused", s.Key)
		}
	}
}
