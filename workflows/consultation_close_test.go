package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

// TestAgentMessageOwnedBeforeCloseIsDelivered: an agent message is accepted (Owned: the API drops
// the original) while the workflow relays a customer message, and a close request arrives before
// the main loop gets back to it. The message must reach the customer before the goodbye.
func TestAgentMessageOwnedBeforeCloseIsDelivered(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	var owned AgentMessageResult
	fired := false
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		if fired || info.ActivityType.Name != "Send" || len(args) != 1 {
			return
		}
		in, ok := args[0].(activities.SendInput)
		if !ok || in.To != "agent_emma" || !strings.Contains(in.Text, "where is my parcel") {
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

// TestContinueAsNewDrainsBufferedSignals: messages still buffered in the signal channel when the
// run continues-as-new (delivered without a workflow task while the last activity of the run was
// in flight) are carried in CarryOver.Pending, in order, and the next run processes each exactly
// once — a Tencent redelivery of one of them is dropped.
func TestContinueAsNewDrainsBufferedSignals(t *testing.T) {
	f := newFake()
	h := newHarness(t, f)
	buffered := []InboundMessage{
		{MsgKey: "k2", From: "cust1", To: "support", Text: "second question about returns"},
		{MsgKey: "k3", From: "cust1", To: "support", Text: "third question about invoices"},
		{MsgKey: "k2", From: "cust1", To: "support", Text: "second question about returns"}, // redelivered
	}
	injected := false
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		if injected || info.ActivityType.Name != "Send" || len(args) != 1 {
			return
		}
		if in, ok := args[0].(activities.SendInput); !ok || in.To != "cust1" {
			return
		}
		// the AI answer to k1 is the run's last activity; these arrive while it is in flight
		injected = true
		for _, m := range buffered {
			h.env.SignalWorkflowSkippingWorkflowTask(SignalMessage, m)
		}
	})
	h.customer(time.Second, "k1", "first question about shipping")
	h.env.ExecuteWorkflow(ConsultationWorkflow, ConsultationInput{Customer: "cust1", MaxMessagesPerRun: 1})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want continue-as-new", err)
	}
	if !injected {
		t.Fatal("the buffered signals were never sent")
	}
	var next ConsultationInput
	if err := decodeCAN(can, &next); err != nil {
		t.Fatal(err)
	}
	if next.Carry == nil {
		t.Fatal("no carry-over")
	}
	var keys []string
	for _, m := range next.Carry.Pending {
		keys = append(keys, m.MsgKey)
	}
	if got := strings.Join(keys, ","); got != "k2,k3" {
		t.Errorf("CarryOver.Pending = %s, want k2,k3 (in order, the redelivery dropped)", got)
	}
	if f.answers != 1 || len(f.sentTo("cust1")) != 1 {
		t.Errorf("first run: %d answers, %d sends to the customer; want 1 and 1", f.answers, len(f.sentTo("cust1")))
	}

	// The next run answers k2 and k3 once each; late redeliveries of k1..k3 are dropped.
	f2 := newFake()
	h2 := newHarness(t, f2)
	h2.env.SetStartTime(testStart.Add(10 * time.Second))
	for i, k := range []string{"k1", "k2", "k3"} {
		h2.customer(time.Minute+time.Duration(i)*time.Second, k, "redelivered "+k)
	}
	var st ConsultationState
	h2.snapshot(2*time.Minute, &st)
	h2.at(3*time.Minute, func() { h2.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "x"}) })
	next.MaxMessagesPerRun = 0
	h2.run(next)
	if f2.answers != 2 {
		t.Errorf("next run: %d Answer calls, want 2 (k2, k3)", f2.answers)
	}
	for _, want := range []string{"answer to second question about returns", "answer to third question about invoices"} {
		n := 0
		for _, text := range f2.sentTo("cust1") {
			if text == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q sent %d times, want once", want, n)
		}
	}
	if f2.find("cust1", "redelivered") != nil || f2.find("cust1", "answer to redelivered") != nil {
		t.Error("a redelivered message was processed again")
	}
	var seqs []string
	for _, e := range st.Transcript {
		if e.Role == "customer" {
			seqs = append(seqs, e.MsgKey)
		}
	}
	if got := strings.Join(seqs, ","); got != "k1,k2,k3" {
		t.Errorf("customer messages in the transcript = %s, want k1,k2,k3", got)
	}
}

// TestClosedRunOutlastsReplays: a closed consultation stays open until a replay of the last
// message it took can no longer pass the callback's signature check (replayWindow after it), so
// Temporal drops the replay by request ID instead of a completed run letting it start a new
// consultation that answers it again. A new message within that time starts the next
// consultation; a replayed one is dropped.
func TestClosedRunOutlastsReplays(t *testing.T) {
	const rated = 20 * time.Second // when the customer's rating reply arrives
	tests := []struct {
		name     string
		late     time.Duration // when the late message comes (0: none)
		lateKey  string
		wantNext bool // the late message continues into the next consultation
	}{
		{name: "nothing more: completes a replay window after the rating"},
		{name: "a new message inside the window starts the next consultation", late: rated + replayWindow - 10*time.Second, lateKey: "k3", wantNext: true},
		{name: "a replay of the rating inside the window is dropped", late: rated + replayWindow/2, lateKey: "k2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			h := newHarness(t, f)
			h.customer(time.Second, "k1", "how long does shipping take?")
			h.at(10*time.Second, func() { h.env.SignalWorkflow(SignalClose, CloseRequest{Reason: "admin", By: "admin"}) })
			h.customer(rated, "k2", "5")
			if tt.late > 0 {
				text := "5"
				if tt.lateKey != "k2" {
					text = "and one more question"
				}
				h.customer(tt.late, tt.lateKey, text)
			}
			h.env.ExecuteWorkflow(ConsultationWorkflow, ConsultationInput{Customer: "cust1"})
			if !h.env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			var can *workflow.ContinueAsNewError
			if err := h.env.GetWorkflowError(); errors.As(err, &can) != tt.wantNext {
				t.Fatalf("workflow error = %v, want continue-as-new: %v", err, tt.wantNext)
			}
			if tt.wantNext {
				var next ConsultationInput
				if err := decodeCAN(can, &next); err != nil {
					t.Fatal(err)
				}
				if next.Carry == nil || len(next.Carry.Pending) != 1 || next.Carry.Pending[0].MsgKey != tt.lateKey {
					t.Fatalf("carried into the next consultation: %+v, want %s", next.Carry, tt.lateKey)
				}
				return
			}
			var res ConsultationResult
			if err := h.env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if want := testStart.Add(rated + replayWindow); res.ClosedAt.Before(want) {
				t.Errorf("completed at %s, before the rating's replay window ended (%s)", res.ClosedAt, want)
			}
			if res.Rating != 5 {
				t.Errorf("rating = %d, want 5", res.Rating)
			}
			if thanks := f.sentCount("cust1", "Thank you for your rating"); thanks != 1 {
				t.Errorf("rating thanked %d times, want once", thanks)
			}
		})
	}
}

// TestContinueAsNewOutlastsReplays: when Temporal suggests continuing as new, the run waits until
// no replay of a message it took can pass the signature check (replayWindow after the last one),
// so a replay never reaches the next run, where it would be recorded; a run that never falls quiet
// continues all the same once its history or its updates reach the forceContinue sizes.
func TestContinueAsNewOutlastsReplays(t *testing.T) {
	const lastMessage = 20 * time.Second
	tests := []struct {
		name   string
		force  func(env *testsuite.TestWorkflowEnvironment) // when Temporal suggests continuing
		wantAt time.Duration                                // when the run continues as new
	}{
		{"quiet: at the first step after the window", func(*testsuite.TestWorkflowEnvironment) {}, 2*time.Minute + 30*time.Second},
		{"history too long to wait", func(env *testsuite.TestWorkflowEnvironment) { env.SetCurrentHistoryLength(forceContinueEvents) }, lastMessage},
		{"history too large to wait", func(env *testsuite.TestWorkflowEnvironment) { env.SetCurrentHistorySize(forceContinueBytes) }, lastMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, newFake())
			h.customer(time.Second, "k1", "first question about shipping")
			h.at(10*time.Second, func() {
				h.env.SetContinueAsNewSuggested(true)
				tt.force(h.env)
			})
			h.customer(lastMessage, "k2", "second question about returns")
			// Wake-ups that are not messages: steps at which the run checks again.
			for _, at := range []time.Duration{time.Minute, 2 * time.Minute, 2*time.Minute + 30*time.Second} {
				h.at(at, func() { h.env.SignalWorkflow(SignalRouteNow, desk.RouteNow{Reason: "tick"}) })
			}
			h.env.ExecuteWorkflow(ConsultationWorkflow, ConsultationInput{Customer: "cust1"})
			var can *workflow.ContinueAsNewError
			if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
				t.Fatalf("workflow error = %v, want continue-as-new", err)
			}
			if got := h.env.Now().Sub(testStart); got != tt.wantAt {
				t.Errorf("continued as new at +%s, want +%s (last message at +%s, replay window %s)", got, tt.wantAt, lastMessage, replayWindow)
			}
		})
	}
}
