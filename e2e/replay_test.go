package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// testZWJAgentLoad: the visibility query that counts an agent's load finds the running
// consultations of an agent whose ID is an emoji joined with U+200D (👩‍💻), on the real server —
// with the ID quoted by strconv.Quote ("\u200d") the server read "u200d" and counted 0, so such an
// agent's capacity was never enforced. A workflow no worker runs stands in for the consultation.
func testZWJAgentLoad(t *testing.T, s *stack) {
	const agent = "👩\u200d💻"
	c := s.temporalClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "e2e-zwj-load", TaskQueue: "e2e-no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet(desk.StatusHuman), workflows.AgentKey.ValueSet(agent)),
	}, "E2ENoWorker")
	if err != nil {
		t.Fatalf("start the stand-in consultation: %v", err)
	}
	defer func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "e2e done") }()
	eventually(t, 15*time.Second, "the ZWJ agent's load counted", func() error {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: desk.AgentLoadQuery(agent)})
		if err != nil {
			return fmt.Errorf("count %q: %w", desk.AgentLoadQuery(agent), err)
		}
		if resp.GetCount() != 1 {
			return fmt.Errorf("%w: load %d, want 1", errNotYet, resp.GetCount())
		}
		return nil
	})
}

// testReplayedPresenceAddsNothing: a State.StateChange posted 20 times with the same signature —
// with Tencent's EventTime, and without one (keyed by RequestTime) — leaves one presence signal
// in the desk's history.
func testReplayedPresenceAddsNothing(t *testing.T, s *stack) {
	const agent = "agent_tom"
	now := time.Now()
	eventTime := now.UnixMilli() - 7 // a time no other presence event of this test run has
	requestTime := now.Unix() - 1
	cases := []struct {
		name   string
		body   string
		wantAt time.Time
	}{
		{"EventTime", fmt.Sprintf(`{"CallbackCommand":"State.StateChange","EventTime":%d,"Info":{"Action":"Login","To_Account":%q,"Reason":"Register"}}`, eventTime, agent),
			time.UnixMilli(eventTime)},
		{"no EventTime", fmt.Sprintf(`{"CallbackCommand":"State.StateChange","Info":{"Action":"Login","To_Account":%q,"Reason":"Register"}}`, agent),
			time.Unix(requestTime, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eventually(t, 30*time.Second, "the first delivery", func() error {
				if code := s.postCallback(t, tim.CmdStateChange, requestTime, tc.body); code != 0 {
					return fmt.Errorf("%w: ErrorCode %d", errNotYet, code)
				}
				return nil
			})
			for i := 1; i < 20; i++ {
				s.postCallback(t, tim.CmdStateChange, requestTime, tc.body)
			}
			time.Sleep(time.Second) // room for a late signal
			n := 0
			s.eachEvent(t, workflows.DeskWorkflowID, func(ev *history.HistoryEvent) {
				a := ev.GetWorkflowExecutionSignaledEventAttributes()
				if a == nil || a.GetSignalName() != workflows.SignalPresence {
					return
				}
				for _, p := range a.GetInput().GetPayloads() {
					var pe desk.PresenceEvent
					if json.Unmarshal(p.GetData(), &pe) == nil && pe.UserID == agent && pe.At.Equal(tc.wantAt) {
						n++
					}
				}
			})
			if n != 1 {
				t.Errorf("desk history has %d presence signals of the event after 20 posts, want 1", n)
			}
		})
	}
}

// testReplayedAgentMessageAddsNothing: an agent's reply to a customer, posted 20 times with the
// same signature and MsgKey, is one agent_message update in the consultation's history (the update
// ID is the MsgKey; Temporal answers a repeat with the first outcome), and the customer receives
// one translated reply.
func testReplayedAgentMessageAddsNothing(t *testing.T, s *stack) {
	const customer = "replay_人工"
	agents := []string{"agent_emma", "agent_tom"}
	s.login(t, append(agents, customer)...)
	s.sendUntilAccepted(t, 30*time.Second, customer, "support", "我的包裹坏了，我要找人工")
	agent := s.waitForAny(t, agents, 30*time.Second, "relay to an agent", func(m simMessage) bool {
		return m.From == customer
	})
	now := time.Now().Unix()
	key := "91_5151_" + strconv.FormatInt(now, 10)
	body := fmt.Sprintf(`{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":%q,"To_Account":%q,"MsgSeq":91,
 "MsgRandom":5151,"MsgTime":%d,"MsgKey":%q,"OnlineOnlyFlag":0,
 "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"Please send me your order number."}}]}`, agent, customer, now, key)
	eventually(t, 30*time.Second, "the first delivery", func() error {
		if code := s.postCallback(t, tim.CmdC2CBeforeSendMsg, now, body); code != 2 {
			return fmt.Errorf("%w: ErrorCode %d, want 2 (the consultation sends the translation)", errNotYet, code)
		}
		return nil
	})
	for i := 1; i < 20; i++ {
		// 2, the first outcome; a replay must never be let through raw (0). A replay refused (1)
		// because its callback ran over the budget under load is what Tencent would retry.
		switch code := s.postCallback(t, tim.CmdC2CBeforeSendMsg, now, body); code {
		case 2:
		case 0:
			t.Errorf("replay %d: ErrorCode 0: the agent's raw message would reach the customer", i)
		default:
			t.Logf("replay %d: ErrorCode %d (over the callback budget), want 2", i, code)
		}
	}
	const reply = "请把您的订单号发给我。"
	s.receivedOnce(t, customer, 30*time.Second, 2*time.Second, "the translated reply", func(m simMessage) bool {
		return m.From == "support" && m.Text == reply
	})
	// Every accepted update carrying this message, whatever its ID, and their completions.
	ids := map[string]bool{}
	accepted, completed := 0, 0
	s.eachEvent(t, workflows.ConsultationID(customer), func(ev *history.HistoryEvent) {
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil && a.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateAgentMessage {
			for _, p := range a.GetAcceptedRequest().GetInput().GetArgs().GetPayloads() {
				var in workflows.InboundMessage
				if json.Unmarshal(p.GetData(), &in) == nil && in.MsgKey == key {
					accepted++
					ids[a.GetAcceptedRequest().GetMeta().GetUpdateId()] = true
				}
			}
		}
		if a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes(); a != nil && ids[a.GetMeta().GetUpdateId()] {
			completed++
		}
	})
	if accepted != 1 || completed != 1 || !ids[key] {
		t.Errorf("history has %d accepted and %d completed agent_message updates of message %s (update IDs %v) after 20 posts, want one of each with the MsgKey as its ID",
			accepted, completed, key, ids)
	}
}

// eachEvent calls f with every event of workflowID's current run.
func (s *stack) eachEvent(t *testing.T, workflowID string, f func(*history.HistoryEvent)) {
	t.Helper()
	c := s.temporalClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		f(ev)
	}
}
