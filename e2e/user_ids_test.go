package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// testNonASCIIUserIDs: customers whose UserIDs Tencent accepts but are not ASCII — Chinese,
// Japanese, Arabic, emoji, and a full 32 bytes — each get the AI's answer, are handed to an
// agent, and receive the agent's translated reply; an operator finds each consultation by the
// customer's raw ID.
//
// TestInputEdge runs it, the replay tests (replay_test.go) and testZWJAgentLoad on one stack.
func TestInputEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	s := startStack(t, stackOptions{})
	t.Run("non-ASCII user IDs", func(t *testing.T) { testNonASCIIUserIDs(t, s) })
	// The restarted API belongs to the whole test (a subtest's cleanup would stop it when the
	// subtest ends).
	restartAPI := func() {
		s.restart(t, "api", nil)
		s.waitAPI(t)
	}
	t.Run("replayed callback", func(t *testing.T) { testReplayedCallbackAddsNothing(t, s, restartAPI) })
	t.Run("replayed presence", func(t *testing.T) { testReplayedPresenceAddsNothing(t, s) })
	t.Run("replayed agent message", func(t *testing.T) { testReplayedAgentMessageAddsNothing(t, s) })
	t.Run("ZWJ agent's load", func(t *testing.T) { testZWJAgentLoad(t, s) })
}

func testNonASCIIUserIDs(t *testing.T, s *stack) {
	agents := []string{"agent_emma", "agent_tom"}
	s.login(t, agents...)
	customers := []string{"客户_王", "ユーザー", "عميل", "顾客🙂", strings.Repeat("😺", 8)}
	for _, customer := range customers {
		t.Run(customer, func(t *testing.T) {
			if len(customer) > 32 {
				t.Fatalf("test ID %q is %d bytes, Tencent's limit is 32", customer, len(customer))
			}
			s.login(t, customer)
			s.sendUntilAccepted(t, 30*time.Second, customer, "support", "怎么退货？")
			s.waitFor(t, customer, 30*time.Second, "AI answer", func(m simMessage) bool {
				return m.From == "support" && m.Text == refundAnswer
			})
			s.sendUntilAccepted(t, 30*time.Second, customer, "support", "我的包裹坏了，我要找人工")
			agent := s.waitForAny(t, agents, 30*time.Second, "relay to an agent", func(m simMessage) bool {
				return m.From == customer && strings.Contains(m.Text, "My parcel is broken, I want a human agent")
			})
			s.sendUntilAccepted(t, 30*time.Second, agent, customer, "Please send me your order number.")
			s.waitFor(t, customer, 30*time.Second, "translated agent reply", func(m simMessage) bool {
				return m.From == "support" && m.Text == "请把您的订单号发给我。"
			})
			st, err := s.consultationState(url.PathEscape(customer))
			if err != nil || st.Agent != agent || st.Status != "human" {
				t.Fatalf("admin API state of %q = %+v, %v; want human with %s", customer, st, err, agent)
			}
			eventually(t, 15*time.Second, "visibility by the raw customer ID", func() error {
				out := s.listWorkflows(t, desk.CustomerAttribute+"="+desk.QueryString(customer))
				if !strings.Contains(out, workflows.ConsultationID(customer)) {
					return fmt.Errorf("%w: %s", errNotYet, out)
				}
				return nil
			})
		})
	}
}

// testReplayedCallbackAddsNothing: the same signed callback posted 50 times inside the signature
// window — before-send and after-send alike, half of them to a restarted API that has no memory
// of the message — is answered every time, leaves exactly one "message" signal in the
// consultation's history, and the customer gets one answer.
func testReplayedCallbackAddsNothing(t *testing.T, s *stack, restartAPI func()) {
	const customer = "replay_客户"
	s.login(t, customer)
	now := time.Now().Unix()
	body := func(cmd string) string {
		return fmt.Sprintf(`{"CallbackCommand":%q,"From_Account":%q,"To_Account":"support","MsgSeq":77,"MsgRandom":4242,
 "MsgTime":%d,"MsgKey":"77_4242_%d","OnlineOnlyFlag":0,"SendMsgResult":0,
 "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"怎么退货？"}}]}`, cmd, customer, now, now)
	}
	// The first delivery is retried while the API answers ErrorCode 1 (a callback over its budget
	// on a loaded machine), as Tencent's client would resend; every retry is a replay too.
	eventually(t, 30*time.Second, "the first delivery", func() error {
		if code := s.postCallback(t, tim.CmdC2CBeforeSendMsg, now, body(tim.CmdC2CBeforeSendMsg)); code != 0 {
			return fmt.Errorf("%w: ErrorCode %d", errNotYet, code)
		}
		return nil
	})
	for i := 1; i < 50; i++ {
		if i == 25 {
			// A fresh API process (as another replica would be) has no memory of the message:
			// its replays reach Temporal, which keeps the signal's request ID.
			restartAPI()
		}
		cmd := tim.CmdC2CBeforeSendMsg
		if i%2 == 1 {
			cmd = tim.CmdC2CAfterSendMsg
		}
		if code := s.postCallback(t, cmd, now, body(cmd)); code != 0 {
			t.Logf("replay %d (%s): ErrorCode %d", i, cmd, code)
		}
	}
	s.receivedOnce(t, customer, 30*time.Second, 2*time.Second, "the answer", func(m simMessage) bool {
		return m.From == "support" && m.Text == refundAnswer
	})
	if n := s.signalEvents(t, workflows.ConsultationID(customer), workflows.SignalMessage); n != 1 {
		t.Errorf("history has %d %q signals after 50 replays, want 1", n, workflows.SignalMessage)
	}
}

// postCallback posts a callback signed as Tencent signs it straight to the API (no emulator) and
// returns the answer's ErrorCode.
func (s *stack) postCallback(t *testing.T, cmd string, requestTime int64, body string) int {
	t.Helper()
	q := url.Values{
		"SdkAppid": {"1400000000"}, "CallbackCommand": {cmd}, "contenttype": {"json"},
		"ClientIP": {"127.0.0.1"}, "OptPlatform": {"RESTAPI"},
		"RequestTime": {strconv.FormatInt(requestTime, 10)}, "Sign": {tim.CallbackSign("e2e-callback-token", requestTime)},
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.apiURL+"/tim/callback?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post callback: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var answer tim.CallbackResponse
	if err := decodeJSON(resp, &answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("callback answer: HTTP %d, %v", resp.StatusCode, err)
	}
	return answer.ErrorCode
}

// signalEvents counts the signals named name in the history of workflowID's current run.
func (s *stack) signalEvents(t *testing.T, workflowID, name string) int {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.temporalAddr, Namespace: s.namespace})
	if err != nil {
		t.Fatalf("dial Temporal: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == name {
			n++
		}
	}
	return n
}
