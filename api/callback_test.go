package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// callbackURL builds a signed callback URL for cmd; requestTime 0 means testNow.
func callbackURL(cmd string, appID uint64, token string, requestTime int64) string {
	if requestTime == 0 {
		requestTime = testNow.Unix()
	}
	q := url.Values{}
	q.Set("SdkAppid", strconv.FormatUint(appID, 10))
	q.Set("CallbackCommand", cmd)
	q.Set("contenttype", "json")
	q.Set("ClientIP", "10.0.0.1")
	q.Set("OptPlatform", "Web")
	q.Set("RequestTime", strconv.FormatInt(requestTime, 10))
	q.Set("Sign", tim.CallbackSign(token, requestTime))
	return "/tim/callback?" + q.Encode()
}

func goodURL(cmd string) string { return callbackURL(cmd, testSDKAppID, testCBToken, 0) }

// c2cBody is a C2C message callback body.
func c2cBody(cmd, from, to string, body tim.MsgBody, cloud string) string {
	m := map[string]any{
		"CallbackCommand": cmd, "From_Account": from, "To_Account": to,
		"MsgSeq": 48374, "MsgRandom": 2837546, "MsgTime": testNow.Unix(),
		"MsgKey":         "48374_2837546_" + strconv.FormatInt(testNow.Unix(), 10),
		"OnlineOnlyFlag": 0, "MsgBody": body, "CloudCustomData": cloud,
	}
	if cmd == tim.CmdC2CAfterSendMsg {
		m["SendMsgResult"] = 0
		m["ErrorInfo"] = "send msg succeed"
		m["UnreadMsgNum"] = 1
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func textBody(text string) tim.MsgBody { return tim.MsgBody{tim.TextElem(text)} }

func imageElem() tim.MsgElement {
	return tim.MsgElement{MsgType: "TIMImageElem", MsgContent: json.RawMessage(`{"UUID":"1853095_D61040894AC3DE44CDFFFB3EC7EB720F","ImageFormat":1,"ImageInfoArray":[{"Type":1,"Size":1853095,"Width":2448,"Height":3264,"URL":"https://example.com/a.jpg"}]}`)}
}

func fileElem() tim.MsgElement {
	return tim.MsgElement{MsgType: tim.MsgTypeFile, MsgContent: json.RawMessage(`{"Url":"https://example.com/invoice.pdf","UUID":"f1","FileSize":48213,"FileName":"invoice.pdf","Download_Flag":2}`)}
}

func soundElem() tim.MsgElement {
	return tim.MsgElement{MsgType: tim.MsgTypeSound, MsgContent: json.RawMessage(`{"Url":"https://example.com/v.m4a","UUID":"s1","Size":6312,"Second":4,"Download_Flag":2}`)}
}

func customElem() tim.MsgElement {
	return tim.CustomElem(`{"businessID":"order","orderId":"A17"}`, "Order A17", "")
}

// typingElem is the custom element TUIKit sends as an online-only "typing" signal.
func typingElem() tim.MsgElement {
	return tim.CustomElem(`{"businessID":"user_typing_status","typingStatus":1}`, "", "")
}

// onlineOnly marks a c2cBody as an online-only message (OnlineOnlyFlag 1).
func onlineOnly(body string) string {
	return strings.Replace(body, `"OnlineOnlyFlag":0`, `"OnlineOnlyFlag":1`, 1)
}

func stateBody(user, action string) string {
	return fmt.Sprintf(`{"CallbackCommand":"State.StateChange","EventTime":%d,"Info":{"Action":%q,"To_Account":%q,"Reason":"Register"}}`,
		testNow.UnixMilli(), action, user)
}

// callbackAnswer decodes a 200 callback answer.
func callbackAnswer(tb testing.TB, r response) tim.CallbackResponse {
	tb.Helper()
	if r.Status != http.StatusOK {
		tb.Fatalf("status = %d, want 200; body %s", r.Status, r.Body)
	}
	var cr tim.CallbackResponse
	if err := json.Unmarshal(r.Body, &cr); err != nil {
		tb.Fatalf("callback answer: %v: %s", err, r.Body)
	}
	return cr
}

// callbackRefusal checks the answer to a refused callback and returns its message: HTTP 200 (any
// other status is a failed callback, which Tencent delivers by default: TENCENT_IM.md §4.3),
// ActionStatus FAIL and ErrorCode 1 (the send is refused), ErrorInfo the same client-safe
// message as error.message, error.code wantCode and a request ID.
func callbackRefusal(tb testing.TB, r response, wantCode string) string {
	tb.Helper()
	if r.Status != http.StatusOK {
		tb.Fatalf("status = %d, want 200 (a refused callback answers ErrorCode 1); body %s", r.Status, r.Body)
	}
	body := r.JSON(tb)
	e, _ := body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if code, _ := e["code"].(string); code != wantCode {
		tb.Errorf("error.code = %q, want %q; body %s", code, wantCode, r.Body)
	}
	if rid, _ := e["requestID"].(string); rid == "" {
		tb.Errorf("error body without requestID: %s", r.Body)
	}
	if msg == "" || body["ActionStatus"] != "FAIL" || body["ErrorCode"] != float64(1) || body["ErrorInfo"] != msg {
		tb.Errorf("Tencent-style fields = %v/%v/%v, want FAIL/1/%q", body["ActionStatus"], body["ErrorCode"], body["ErrorInfo"], msg)
	}
	return msg
}

func okSignal(context.Context, call) error { return nil }

// TestCallbackRejectsBadInput covers every bad callback of issue 5: each is refused (HTTP 200,
// ErrorCode 1, its error code, counted as refused_<code>) or acknowledged, and changes nothing.
func TestCallbackRejectsBadInput(t *testing.T) {
	text := c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("你好"), "")
	tests := []struct {
		name      string
		target    string
		body      string
		wantCode  string // error.code of a refusal, "" for a callback handled
		wantErrNo int    // callback ErrorCode of a handled callback
	}{
		{"wrong Sign", callbackURL(tim.CmdC2CBeforeSendMsg, testSDKAppID, "not-the-token", 0), text, codeUnauthorized, 0},
		{"missing Sign", strings.Replace(goodURL(tim.CmdC2CBeforeSendMsg), "Sign=", "X=", 1), text, codeUnauthorized, 0},
		{"stale RequestTime", callbackURL(tim.CmdC2CBeforeSendMsg, testSDKAppID, testCBToken, testNow.Unix()-120), text, codeUnauthorized, 0},
		{"future RequestTime", callbackURL(tim.CmdC2CBeforeSendMsg, testSDKAppID, testCBToken, testNow.Unix()+120), text, codeUnauthorized, 0},
		{"other SdkAppid", callbackURL(tim.CmdC2CBeforeSendMsg, 1400000999, testCBToken, 0), text, codeForbidden, 0},
		{"no SdkAppid", "/tim/callback?CallbackCommand=C2C.CallbackBeforeSendMsg", text, codeInvalid, 0},
		{"no query", "/tim/callback", text, codeInvalid, 0},
		{"malformed JSON", goodURL(tim.CmdC2CBeforeSendMsg), `{"From_Account":"alice",`, codeInvalid, 0},
		{"JSON array", goodURL(tim.CmdC2CBeforeSendMsg), `[]`, codeInvalid, 0},
		{"missing accounts", goodURL(tim.CmdC2CBeforeSendMsg), `{"MsgBody":[]}`, codeInvalid, 0},
		{"malformed state change", goodURL(tim.CmdStateChange), `{"Info":`, codeInvalid, 0},
		{"1 MB body", goodURL(tim.CmdC2CBeforeSendMsg), `{"x":"` + strings.Repeat("a", 1<<20-8) + `"}`, codeTooLarge, 0},
		{"100 KB body", goodURL(tim.CmdC2CBeforeSendMsg), `{"x":"` + strings.Repeat("a", 100<<10) + `"}`, codeTooLarge, 0},
		{"unknown command", goodURL("Bot.OnC2CMessage"), `{"anything":true}`, "", 0},
		{"unknown command, junk body", goodURL("Sns.CallbackFriendAdd"), `not json`, "", 0},
		{"group after-send", goodURL(tim.CmdGroupAfterSendMsg), `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g1","From_Account":"alice","MsgBody":[]}`, "", 0},
		{"blank text to service account", goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("  \n"), ""), "", 0},
		{"empty MsgBody to service account", goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{}, ""), "", 0},
		{"typing indicator to service account", goodURL(tim.CmdC2CBeforeSendMsg), onlineOnly(c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{typingElem()}, "")), "", 0},
		{"typing indicator agent to customer", goodURL(tim.CmdC2CBeforeSendMsg), onlineOnly(c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", "alice", tim.MsgBody{typingElem()}, "")), "", 0},
		{"image-only customer to customer", goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", tim.MsgBody{imageElem()}, ""), "", 0},
		{"image-only after-send customer to customer", goodURL(tim.CmdC2CAfterSendMsg), c2cBody(tim.CmdC2CAfterSendMsg, "alice", "bob", tim.MsgBody{imageElem()}, ""), "", 0},
		{"image-only after-send from agent", goodURL(tim.CmdC2CAfterSendMsg), c2cBody(tim.CmdC2CAfterSendMsg, "agent_li", "alice", tim.MsgBody{imageElem()}, ""), "", 0},
		{"after-send from agent", goodURL(tim.CmdC2CAfterSendMsg), c2cBody(tim.CmdC2CAfterSendMsg, "agent_li", "alice", textBody("hello"), ""), "", 0},
		{"from service account", goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "support", "alice", textBody("hi"), ""), "", 0},
		{"state change of a customer", goodURL(tim.CmdStateChange), stateBody("alice", "Login"), "", 0},
		{"state change unknown action", goodURL(tim.CmdStateChange), stateBody("agent_li", "Dance"), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				// Anything that reaches Temporal would be recorded; nothing may.
				e.temporal.signalWithStart = okSignal
			})
			r := env.do(t, http.MethodPost, tt.target, tt.body)
			if tt.wantCode != "" {
				callbackRefusal(t, r, tt.wantCode)
				if got := gatheredValue(t, env.registry, "timdesk_callbacks_total", "decision", decisionRefused+tt.wantCode); got != 1 {
					t.Errorf("timdesk_callbacks_total{decision=%s%s} = %v, want 1", decisionRefused, tt.wantCode, got)
				}
			} else if cr := callbackAnswer(t, r); cr.ErrorCode != tt.wantErrNo || cr.ActionStatus != "OK" || cr.MsgBody != nil {
				t.Errorf("answer = %+v, want OK ErrorCode %d unchanged", cr, tt.wantErrNo)
			}
			if m := env.temporal.Mutations(); len(m) != 0 {
				t.Errorf("Temporal was changed: %+v", m)
			}
			if c := env.trans.Calls(); len(c) != 0 {
				t.Errorf("translator called: %+v", c)
			}
		})
	}
}

func TestCallbackWithoutTokenNeedsNoSign(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.cfg.CallbackToken = ""
		e.temporal.signalWithStart = okSignal
	})
	r := env.do(t, http.MethodPost, "/tim/callback?SdkAppid=1400000001&CallbackCommand=C2C.CallbackBeforeSendMsg&contenttype=json",
		c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hi"), ""))
	if cr := callbackAnswer(t, r); cr.ErrorCode != 0 {
		t.Fatalf("ErrorCode = %d, want 0", cr.ErrorCode)
	}
	if n := len(env.temporal.ConsultationCalls("SignalWithStart")); n != 1 {
		t.Fatalf("SignalWithStart calls = %d, want 1", n)
	}
}

func TestCallbackCustomerToServiceAccount(t *testing.T) {
	unavailable := serviceerror.NewUnavailable("connection refused")
	tests := []struct {
		name     string
		cmd      string
		signal   func(context.Context, call) error
		wantCode int
	}{
		{"before-send accepted", tim.CmdC2CBeforeSendMsg, okSignal, 0},
		{"after-send accepted", tim.CmdC2CAfterSendMsg, okSignal, 0},
		{"before-send, Temporal unreachable", tim.CmdC2CBeforeSendMsg, func(context.Context, call) error { return unavailable }, 1},
		{"before-send, Temporal hangs", tim.CmdC2CBeforeSendMsg, func(ctx context.Context, _ call) error { return blockUntilDone(ctx) }, 1},
		{"after-send, Temporal unreachable", tim.CmdC2CAfterSendMsg, func(context.Context, call) error { return unavailable }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = tt.signal })
			body := tim.MsgBody{tim.TextElem("我的订单在哪里？"), imageElem()}
			start := time.Now()
			r := env.do(t, http.MethodPost, goodURL(tt.cmd), c2cBody(tt.cmd, "alice", "support", body, ""))
			elapsed := time.Since(start)
			cr := callbackAnswer(t, r)
			if cr.ErrorCode != tt.wantCode {
				t.Fatalf("ErrorCode = %d, want %d", cr.ErrorCode, tt.wantCode)
			}
			if elapsed > env.cfg.CallbackBudget+time.Second { // slack for -race on a loaded machine; a hang would run to the request timeout
				t.Errorf("answered after %s, budget %s", elapsed, env.cfg.CallbackBudget)
			}
			calls := env.temporal.ConsultationCalls("SignalWithStart")
			if len(calls) != 1 {
				t.Fatalf("SignalWithStart calls = %d, want 1", len(calls))
			}
			c := calls[0]
			if c.ID != "consultation/alice" || c.Name != workflows.SignalMessage {
				t.Errorf("signal %q to %q, want %q to consultation/alice", c.Name, c.ID, workflows.SignalMessage)
			}
			in, ok := c.Arg.(workflows.InboundMessage)
			if !ok {
				t.Fatalf("signal arg %T, want workflows.InboundMessage", c.Arg)
			}
			wantKey := "48374_2837546_" + strconv.FormatInt(testNow.Unix(), 10)
			if in.MsgKey != wantKey || in.From != "alice" || in.To != "support" || in.Text != "我的订单在哪里？" ||
				len(in.Body) != 2 || !in.SentAt.Equal(testNow) {
				t.Errorf("inbound = %+v", in)
			}
			if c.Start.TaskQueue != "tq-test" || c.Start.WorkflowIDReusePolicy != enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
				t.Errorf("start options = %+v", c.Start)
			}
			status, _ := c.Start.TypedSearchAttributes.GetKeyword(workflows.StatusKey)
			customer, _ := c.Start.TypedSearchAttributes.GetKeyword(workflows.CustomerKey)
			if status != "ai" || customer != "alice" {
				t.Errorf("search attributes status=%q customer=%q, want ai/alice", status, customer)
			}
			if got := fmt.Sprintf("%p", c.Workflow); got != fmt.Sprintf("%p", workflows.ConsultationWorkflow) {
				t.Errorf("workflow = %v, want ConsultationWorkflow", c.Workflow)
			}
			if len(c.WfArgs) != 1 || c.WfArgs[0] != (workflows.ConsultationInput{Customer: "alice", ServiceAccount: "support"}) {
				t.Errorf("workflow args = %+v", c.WfArgs)
			}
		})
	}
}

// TestCallbackAfterSendBackup: the after-send callback of a message whose before-send callback
// already signalled the consultation makes no second signal, nor does a replay of the before-send
// reaching the same replica; one whose before-send did not get through (failed, or never came) is
// signalled.
func TestCallbackAfterSendBackup(t *testing.T) {
	unavailable := serviceerror.NewUnavailable("connection refused")
	after, beforeCmd := tim.CmdC2CAfterSendMsg, tim.CmdC2CBeforeSendMsg
	tests := []struct {
		name        string
		before      bool   // a before-send callback came first
		beforeErr   error  // what Temporal answered it
		second      string // the command of the second callback
		wantSignals int    // SignalWithStart calls in all
	}{
		{"before-send signalled: after-send skips Temporal", true, nil, after, 1},
		{"before-send failed: after-send signals", true, unavailable, after, 2},
		{"no before-send: after-send signals", false, nil, after, 1},
		{"before-send signalled: its replay skips Temporal", true, nil, beforeCmd, 1},
		{"before-send failed: its replay signals", true, unavailable, beforeCmd, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.temporal.signalWithStart = func(context.Context, call) error {
					if err := tt.beforeErr; err != nil && len(e.temporal.ConsultationCalls("SignalWithStart")) == 1 {
						return err
					}
					return nil
				}
			})
			body := tim.MsgBody{tim.TextElem("5")}
			if tt.before {
				callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", body, "")))
			}
			cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tt.second), c2cBody(tt.second, "alice", "support", body, "")))
			if cr.ErrorCode != 0 {
				t.Fatalf("%s ErrorCode = %d, want 0", tt.second, cr.ErrorCode)
			}
			if got := len(env.temporal.ConsultationCalls("SignalWithStart")); got != tt.wantSignals {
				t.Errorf("SignalWithStart calls = %d, want %d", got, tt.wantSignals)
			}
		})
	}
}

// TestCallbackNonTextMessages: a customer's photo, file, voice note or custom message to the
// service account is signalled like text (Text empty, Body as sent), and an agent's non-text message
// to a customer goes through the same agent_message update as text.
func TestCallbackNonTextMessages(t *testing.T) {
	tests := []struct {
		name       string
		cmd        string
		from, to   string
		body       tim.MsgBody
		online     bool
		wantMethod string // SignalWithStart or Update
		wantText   string
		wantCode   int
	}{
		{"customer image, before-send", tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{imageElem()}, false, "SignalWithStart", "", 0},
		{"customer image, after-send", tim.CmdC2CAfterSendMsg, "alice", "support", tim.MsgBody{imageElem()}, false, "SignalWithStart", "", 0},
		{"customer file", tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{fileElem()}, false, "SignalWithStart", "", 0},
		{"customer voice note", tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{soundElem()}, false, "SignalWithStart", "", 0},
		{"customer custom element", tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{customElem()}, false, "SignalWithStart", "", 0},
		{"customer image with blank text", tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{tim.TextElem(" "), imageElem()}, false, "SignalWithStart", " ", 0},
		{"customer online-only text still counts", tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hello?"), true, "SignalWithStart", "hello?", 0},
		{"agent image, owned → drop", tim.CmdC2CBeforeSendMsg, "agent_li", "alice", tim.MsgBody{imageElem()}, false, "Update", "", 2},
		{"agent file, owned → drop", tim.CmdC2CBeforeSendMsg, "agent_li", "alice", tim.MsgBody{fileElem()}, false, "Update", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.temporal.signalWithStart = okSignal
				e.temporal.update = func(context.Context, call) (any, error) {
					return workflows.AgentMessageResult{Owned: true, Reason: "owner"}, nil
				}
			})
			body := c2cBody(tt.cmd, tt.from, tt.to, tt.body, "")
			if tt.online {
				body = onlineOnly(body)
			}
			cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tt.cmd), body))
			if cr.ErrorCode != tt.wantCode || cr.MsgBody != nil {
				t.Fatalf("answer = %+v, want ErrorCode %d unchanged", cr, tt.wantCode)
			}
			calls := env.temporal.Mutations()
			if len(calls) != 1 || calls[0].Method != tt.wantMethod {
				t.Fatalf("Temporal calls = %+v, want one %s", calls, tt.wantMethod)
			}
			c := calls[0]
			wantID := workflows.ConsultationID("alice")
			if c.ID != wantID {
				t.Errorf("workflow ID = %q, want %q", c.ID, wantID)
			}
			switch tt.wantMethod {
			case "SignalWithStart":
				if c.Name != workflows.SignalMessage {
					t.Errorf("signal = %q, want %q", c.Name, workflows.SignalMessage)
				}
			case "Update":
				if c.Name != workflows.UpdateAgentMessage || c.Update.UpdateID == "" {
					t.Errorf("update = %q (ID %q), want %q keyed by MsgKey", c.Name, c.Update.UpdateID, workflows.UpdateAgentMessage)
				}
			}
			in, ok := c.Arg.(workflows.InboundMessage)
			if !ok {
				t.Fatalf("arg %T, want workflows.InboundMessage", c.Arg)
			}
			if in.Text != tt.wantText || in.From != tt.from || in.To != tt.to || in.MsgKey == "" {
				t.Errorf("inbound = %+v, want Text %q from %s to %s", in, tt.wantText, tt.from, tt.to)
			}
			got, _ := json.Marshal(in.Body)
			want, _ := json.Marshal(tt.body)
			if string(got) != string(want) {
				t.Errorf("Body = %s, want %s as sent", got, want)
			}
			if n := len(env.trans.Calls()); n != 0 {
				t.Errorf("translator called %d times", n)
			}
		})
	}
}

// TestCallbackCustomerImageUntouched: an image between two customers is delivered as it is, and
// nothing about it is stored (alice's language stays unknown, so bob's reply is not translated).
func TestCallbackCustomerImageUntouched(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
		e.trans.fn = fakeTranslation
	})
	for _, cmd := range []string{tim.CmdC2CBeforeSendMsg, tim.CmdC2CAfterSendMsg} {
		cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(cmd),
			c2cBody(cmd, "alice", "bob", tim.MsgBody{imageElem()}, `{"k":1}`)))
		if cr.ErrorCode != 0 || cr.MsgBody != nil || cr.CloudCustomData != "" {
			t.Fatalf("%s answer = %+v, want the image unchanged", cmd, cr)
		}
	}
	cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
		c2cBody(tim.CmdC2CBeforeSendMsg, "bob", "alice", textBody("Nice photo, thank you"), "")))
	if cr.MsgBody != nil {
		t.Errorf("bob → alice translated after an image: %+v", cr)
	}
	if m := env.temporal.Mutations(); len(m) != 0 {
		t.Errorf("Temporal was changed: %+v", m)
	}
	if c := env.trans.Calls(); len(c) != 0 {
		t.Errorf("translator called: %+v", c)
	}
}

func TestCallbackAfterSendDeliveryFailedIsIgnored(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
	body := strings.Replace(c2cBody(tim.CmdC2CAfterSendMsg, "alice", "support", textBody("hi"), ""), `"SendMsgResult":0`, `"SendMsgResult":80001`, 1)
	if cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CAfterSendMsg), body)); cr.ErrorCode != 0 {
		t.Fatalf("ErrorCode = %d, want 0", cr.ErrorCode)
	}
	if m := env.temporal.Mutations(); len(m) != 0 {
		t.Fatalf("Temporal was changed: %+v", m)
	}
}

func TestCallbackAgentToCustomer(t *testing.T) {
	notFound := serviceerror.NewNotFound("workflow not found")
	tests := []struct {
		name     string
		update   func(context.Context, call) (any, error)
		wantCode int
		wantInfo string // substring of ErrorInfo
	}{
		{"owned → drop", func(context.Context, call) (any, error) {
			return workflows.AgentMessageResult{Owned: true, Reason: "owner"}, nil
		}, 2, ""},
		{"another agent owns it → refused, naming the owner", func(context.Context, call) (any, error) {
			return workflows.AgentMessageResult{Owned: false, Reason: "not_owner", Owner: "agent_emma"}, nil
		}, 120001, "alice's consultation is with agent_emma"},
		{"late reply of a timed-out agent → refused", func(context.Context, call) (any, error) {
			return workflows.AgentMessageResult{Owned: false, Reason: "timed_out", Owner: "agent_emma"}, nil
		}, 120002, "did not answer alice in time and the consultation moved to agent_emma"},
		{"AI or queue has it → refused", func(context.Context, call) (any, error) {
			return workflows.AgentMessageResult{Owned: false, Reason: "no_agent"}, nil
		}, 120003, "no agent has alice's consultation"},
		{"closed → refused", func(context.Context, call) (any, error) {
			return workflows.AgentMessageResult{Owned: false, Reason: "closed"}, nil
		}, 120004, "alice has no open consultation"},
		{"no consultation → refused", func(context.Context, call) (any, error) { return nil, notFound }, 120004, "alice has no open consultation"},
		{"update rejected → refused", func(context.Context, call) (any, error) {
			return nil, temporal.NewApplicationError("not the owner", "NotOwner")
		}, 120004, "not delivered"},
		{"reached the workflow after the callback gave up → reject", func(context.Context, call) (any, error) {
			return nil, temporal.NewApplicationError("expired", workflows.ErrTypeAgentMessageExpired)
		}, 1, ""},
		{"worker down (update timeout) → reject", func(ctx context.Context, _ call) (any, error) {
			err := blockUntilDone(ctx)
			return nil, client.NewWorkflowUpdateServiceTimeoutOrCanceledError(err)
		}, 1, ""},
		{"Temporal unreachable → reject", func(context.Context, call) (any, error) {
			return nil, serviceerror.NewUnavailable("down")
		}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.update = tt.update })
			start := time.Now()
			r := env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
				c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", "alice", textBody("Your parcel ships today"), ""))
			elapsed := time.Since(start)
			cr := callbackAnswer(t, r)
			if cr.ErrorCode != tt.wantCode {
				t.Fatalf("ErrorCode = %d, want %d", cr.ErrorCode, tt.wantCode)
			}
			if !strings.Contains(cr.ErrorInfo, tt.wantInfo) {
				t.Errorf("ErrorInfo = %q, want it to contain %q", cr.ErrorInfo, tt.wantInfo)
			}
			if elapsed > env.cfg.CallbackBudget+time.Second { // slack for -race on a loaded machine; a hang would run to the request timeout
				t.Errorf("answered after %s, budget %s", elapsed, env.cfg.CallbackBudget)
			}
			calls := env.temporal.Calls("Update")
			if len(calls) != 1 {
				t.Fatalf("Update calls = %d, want 1", len(calls))
			}
			u := calls[0].Update
			wantKey := "48374_2837546_" + strconv.FormatInt(testNow.Unix(), 10)
			if u.WorkflowID != "consultation/alice" || u.UpdateName != workflows.UpdateAgentMessage || u.UpdateID != wantKey ||
				u.WaitForStage != client.WorkflowUpdateStageCompleted {
				t.Errorf("update options = %+v", u)
			}
			in := calls[0].Arg.(workflows.InboundMessage)
			if in.From != "agent_li" || in.To != "alice" || in.Text != "Your parcel ships today" {
				t.Errorf("update arg = %+v", in)
			}
			if lo, hi := start.Add(env.cfg.CallbackBudget*3/4), time.Now().Add(env.cfg.CallbackBudget*3/4); in.AnswerBy.Before(lo) || in.AnswerBy.After(hi) {
				t.Errorf("update AnswerBy = %s, want three quarters of the budget %s after the callback arrived (%s .. %s)", in.AnswerBy, env.cfg.CallbackBudget, lo, hi)
			}
			if m := env.temporal.Calls("SignalWithStart", "Signal", "UpdateWithStart"); len(m) != 0 {
				t.Errorf("unexpected calls: %+v", m)
			}
		})
	}
}

// TestCallbackUpdateBudget: the agent path answers ErrorCode 1 when its budget runs out, with the
// default 1.2 s budget: not before the budget, and inside Tencent's 2 s wait for a before-send
// answer (the 1.9 s bound leaves slack for a loaded CI machine under -race). The update's context
// has at most the budget left when it is called: the budget itself bounds the wait, not only the
// callback's 1.8 s.
func TestCallbackUpdateBudget(t *testing.T) {
	left := make(chan time.Duration, 1) // what the update's context had left when called
	env := newTestEnv(t, func(e *testEnv) {
		e.cfg.CallbackBudget = defaultCallbackBudget
		e.temporal.update = func(ctx context.Context, _ call) (any, error) {
			d, ok := ctx.Deadline()
			if !ok {
				d = time.Now().Add(time.Hour)
			}
			select {
			case left <- time.Until(d):
			default: // a second call: the test fails on the count below
			}
			return nil, blockUntilDone(ctx)
		}
	})
	start := time.Now()
	cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
		c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", "alice", textBody("hello"), "")))
	elapsed := time.Since(start)
	if cr.ErrorCode != 1 {
		t.Fatalf("ErrorCode = %d, want 1", cr.ErrorCode)
	}
	if tencentWait := 1900 * time.Millisecond; elapsed < defaultCallbackBudget-50*time.Millisecond || elapsed > tencentWait {
		t.Fatalf("answered after %s, want between %s and %s", elapsed, defaultCallbackBudget-50*time.Millisecond, tencentWait)
	}
	if n := len(env.temporal.Calls("Update")); n != 1 {
		t.Fatalf("Update calls = %d, want 1", n)
	}
	if l := <-left; l > defaultCallbackBudget {
		t.Fatalf("the update was called with %s left, want at most the budget %s", l, defaultCallbackBudget)
	}
}

func TestCallbackAgentSetFromDesk(t *testing.T) {
	// The desk stores a roster where "agent_new" is an agent; the file does not know them.
	deskRoster := strings.Replace(testRoster, "agent_emma", "agent_new", 1)
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.query = func(_ context.Context, c call) (any, error) {
			if c.ID != workflows.DeskWorkflowID || c.Name != workflows.QueryDesk {
				return nil, errNoFake
			}
			return desk.State{RosterYAML: deskRoster, RosterVersion: 4}, nil
		}
		e.temporal.update = func(context.Context, call) (any, error) { return workflows.AgentMessageResult{Owned: true}, nil }
	})
	cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
		c2cBody(tim.CmdC2CBeforeSendMsg, "agent_new", "alice", textBody("hello"), "")))
	if cr.ErrorCode != 2 {
		t.Fatalf("ErrorCode = %d, want 2 (agent_new is an agent in the desk roster)", cr.ErrorCode)
	}
}

func TestCallbackStateChange(t *testing.T) {
	tests := []struct {
		name       string
		action     string
		signal     func(context.Context, call) error
		wantOnline bool
		wantCode   int
	}{
		{"login", tim.StateLogin, okSignal, true, 0},
		{"logout", tim.StateLogout, okSignal, false, 0},
		{"disconnect", tim.StateDisconnect, okSignal, false, 0},
		{"Temporal unreachable", tim.StateLogin, func(context.Context, call) error { return serviceerror.NewUnavailable("down") }, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = tt.signal })
			cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdStateChange), stateBody("agent_emma", tt.action)))
			if cr.ErrorCode != tt.wantCode {
				t.Fatalf("ErrorCode = %d, want %d", cr.ErrorCode, tt.wantCode)
			}
			calls := env.temporal.ConsultationCalls("SignalWithStart")
			if len(calls) != 1 {
				t.Fatalf("SignalWithStart calls = %d, want 1", len(calls))
			}
			c := calls[0]
			ev, ok := c.Arg.(desk.PresenceEvent)
			if c.ID != workflows.DeskWorkflowID || c.Name != workflows.SignalPresence || !ok {
				t.Fatalf("call = %+v", c)
			}
			if ev.UserID != "agent_emma" || ev.Online != tt.wantOnline || !ev.At.Equal(testNow) {
				t.Errorf("presence = %+v", ev)
			}
			if c.Start.ID != workflows.DeskWorkflowID || c.Start.TaskQueue != "tq-test" {
				t.Errorf("start options = %+v", c.Start)
			}
		})
	}
}

// deskWithLanguages answers the desk query with a roster-less state holding language preferences.
func deskWithLanguages(langs map[string]string) func(context.Context, call) (any, error) {
	return func(_ context.Context, c call) (any, error) {
		if c.Name != workflows.QueryDesk {
			return nil, errNoFake
		}
		return desk.State{Languages: langs}, nil
	}
}

func fakeTranslation(_ context.Context, in activities.TranslateInput) (activities.TranslateResult, error) {
	return activities.TranslateResult{Text: "[" + in.Target + "] " + in.Text, Source: in.Source, Target: in.Target, Status: "translated"}, nil
}

func TestCallbackCustomerToCustomerTranslation(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
		e.trans.fn = fakeTranslation
	})
	body := tim.MsgBody{tim.TextElem("你好，明天见"), imageElem(), tim.TextElem("谢谢")}
	r := env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
		c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", body, `{"orderId":"A17"}`))
	cr := callbackAnswer(t, r)
	if cr.ErrorCode != 0 || len(cr.MsgBody) != 3 {
		t.Fatalf("answer = %+v, want ErrorCode 0 with 3 elements", cr)
	}
	if got, _ := cr.MsgBody[0].Text(); got != "[en] 你好，明天见" {
		t.Errorf("element 0 = %q", got)
	}
	if got, _ := cr.MsgBody[2].Text(); got != "[en] 谢谢" {
		t.Errorf("element 2 = %q", got)
	}
	if cr.MsgBody[1].MsgType != "TIMImageElem" || string(cr.MsgBody[1].MsgContent) != string(imageElem().MsgContent) {
		t.Errorf("image element changed: %+v", cr.MsgBody[1])
	}
	var cloud map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cr.CloudCustomData), &cloud); err != nil {
		t.Fatalf("CloudCustomData %q: %v", cr.CloudCustomData, err)
	}
	if string(cloud["orderId"]) != `"A17"` {
		t.Errorf("existing CloudCustomData lost: %s", cr.CloudCustomData)
	}
	var rec translationRecord
	if err := json.Unmarshal(cloud[cloudDataKey], &rec); err != nil {
		t.Fatalf("translation record: %v", err)
	}
	if rec.Source != "zh" || rec.Target != "en" || rec.OriginalText != body.Text() || len(rec.OriginalBody) != 2 {
		t.Errorf("record = %+v", rec)
	}
	if m := env.temporal.Mutations(); len(m) != 0 {
		t.Errorf("Temporal was changed: %+v", m)
	}

	// The same text again comes from the cache.
	before := len(env.trans.Calls())
	cr = callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
		c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("谢谢"), "")))
	if got, _ := cr.MsgBody[0].Text(); got != "[en] 谢谢" {
		t.Errorf("cached translation = %q", got)
	}
	if after := len(env.trans.Calls()); after != before {
		t.Errorf("translator called %d more times, want 0 (cache)", after-before)
	}
}

func TestCallbackTranslationLanguageDetectedFromRecipient(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.query = deskWithLanguages(nil)
		e.trans.fn = fakeTranslation
	})
	send := func(from, to, text string) tim.CallbackResponse {
		return callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
			c2cBody(tim.CmdC2CBeforeSendMsg, from, to, textBody(text), "")))
	}
	// Nothing known about bob yet: delivered unchanged.
	if cr := send("alice", "bob", "你好"); cr.MsgBody != nil {
		t.Fatalf("translated before bob's language was known: %+v", cr)
	}
	// Bob writes English to alice, who is known to write Chinese: translated to zh.
	if cr := send("bob", "alice", "Hello there, see you tomorrow"); len(cr.MsgBody) != 1 {
		t.Fatalf("bob → alice not translated: %+v", cr)
	} else if got, _ := cr.MsgBody[0].Text(); !strings.HasPrefix(got, "[zh] ") {
		t.Errorf("bob → alice = %q, want a zh translation", got)
	}
	// Now bob's language is known.
	if cr := send("alice", "bob", "你好"); len(cr.MsgBody) != 1 {
		t.Fatalf("alice → bob not translated: %+v", cr)
	}
	// Same language: unchanged, no translator call.
	calls := len(env.trans.Calls())
	if cr := send("carol", "bob", "Good morning everyone"); cr.MsgBody != nil {
		t.Errorf("same-language message modified: %+v", cr)
	}
	if len(env.trans.Calls()) != calls {
		t.Errorf("translator called for a same-language message")
	}
}

// TestCallbackTranslationBudget: a translator that takes 5 s still yields the before-send answer
// with the original message, long before the translator returns: within the budget + 1 s (the
// budget starts inside translateMessage, after the body is parsed and the desk queried; the slack
// is for a loaded CI machine under -race, and budget + 1 s stays well under the 5 s the answer
// would take if it waited for the translator). The translator's context has at most the budget
// left when it is called: the budget itself bounds the wait, not only the callback's 1.8 s.
func TestCallbackTranslationBudget(t *testing.T) {
	for _, budget := range []time.Duration{300 * time.Millisecond, defaultTranslateBudget} {
		t.Run(budget.String(), func(t *testing.T) {
			left := make(chan time.Duration, 1) // what the translator's context had left when called
			env := newTestEnv(t, func(e *testEnv) {
				e.cfg.TranslateBudget = budget
				e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
				e.trans.fn = func(ctx context.Context, in activities.TranslateInput) (activities.TranslateResult, error) {
					d, ok := ctx.Deadline()
					if !ok {
						d = time.Now().Add(time.Hour)
					}
					left <- time.Until(d)
					time.Sleep(5 * time.Second) // ignores ctx on purpose
					return fakeTranslation(ctx, in)
				}
			})
			start := time.Now()
			r := env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
				c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("你好"), `{"k":1}`))
			elapsed := time.Since(start)
			cr := callbackAnswer(t, r)
			if limit := budget + time.Second; elapsed > limit {
				t.Fatalf("answered after %s, want under %s (the translator takes 5 s)", elapsed, limit)
			}
			if cr.ErrorCode != 0 || cr.MsgBody != nil || cr.CloudCustomData != "" {
				t.Fatalf("answer = %+v, want the original unchanged", cr)
			}
			if len(env.trans.Calls()) != 1 {
				t.Fatalf("translator calls = %d, want 1", len(env.trans.Calls()))
			}
			if l := <-left; l > budget {
				t.Fatalf("the translator was called with %s left, want at most the budget %s", l, budget)
			}
		})
	}
}

// TestCallbackTranslationPartsBounded: one translator call per text element, so a message made
// of many text elements (any customer can send one) must not fan out into as many LLM calls: past
// maxTranslateParts it is delivered unchanged without calling the translator.
func TestCallbackTranslationPartsBounded(t *testing.T) {
	tests := []struct {
		name      string
		parts     int
		wantCalls int
	}{
		{"one element", 1, 1},
		{"at the limit", maxTranslateParts, maxTranslateParts},
		{"one over", maxTranslateParts + 1, 0},
		{"hundreds", 300, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
				e.trans.fn = fakeTranslation
			})
			var body tim.MsgBody
			for i := range tt.parts {
				body = append(body, tim.TextElem(fmt.Sprintf("你好 %d", i)))
			}
			cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
				c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", body, "")))
			if got := len(env.trans.Calls()); got != tt.wantCalls {
				t.Errorf("translator calls = %d, want %d", got, tt.wantCalls)
			}
			if translated := cr.MsgBody != nil; cr.ErrorCode != 0 || translated != (tt.wantCalls > 0) {
				t.Errorf("answer = code %d, %d elements; want code 0, translated %v", cr.ErrorCode, len(cr.MsgBody), tt.wantCalls > 0)
			}
		})
	}
}

func TestCallbackTranslationFallbacks(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		fn      func(context.Context, activities.TranslateInput) (activities.TranslateResult, error)
	}{
		{"translation off", false, fakeTranslation},
		{"translator error", true, func(context.Context, activities.TranslateInput) (activities.TranslateResult, error) {
			return activities.TranslateResult{Status: "failed"}, errors.New("llm down")
		}},
		{"translator says failed", true, func(_ context.Context, in activities.TranslateInput) (activities.TranslateResult, error) {
			return activities.TranslateResult{Text: in.Text, Status: "failed"}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
				e.trans.enabled = tt.enabled
				e.trans.fn = tt.fn
			})
			cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
				c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("你好"), "")))
			if cr.ErrorCode != 0 || cr.MsgBody != nil {
				t.Fatalf("answer = %+v, want the original unchanged", cr)
			}
		})
	}
}

func TestMergeCloudCustomData(t *testing.T) {
	rec := translationRecord{Source: "zh", Target: "en", OriginalText: "你好"}
	tests := []struct {
		existing string
		wantKeys []string
	}{
		{"", []string{cloudDataKey}},
		{`{"orderId":"A17"}`, []string{"orderId", cloudDataKey}},
		{`plain text`, []string{"customData", cloudDataKey}},
		{`[1,2]`, []string{"customData", cloudDataKey}},
		{`null`, []string{"customData", cloudDataKey}},
		{`{"timdeskTranslation":"forged"}`, []string{cloudDataKey}},
	}
	for _, tt := range tests {
		got, err := mergeCloudCustomData(tt.existing, rec)
		if err != nil {
			t.Fatalf("merge %q: %v", tt.existing, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(got), &m); err != nil {
			t.Fatalf("merge %q = %q: not an object", tt.existing, got)
		}
		if len(m) != len(tt.wantKeys) {
			t.Errorf("merge %q = %s, want keys %v", tt.existing, got, tt.wantKeys)
		}
		for _, k := range tt.wantKeys {
			if _, ok := m[k]; !ok {
				t.Errorf("merge %q = %s: missing %q", tt.existing, got, k)
			}
		}
		if string(m[cloudDataKey]) == `"forged"` {
			t.Errorf("forged record kept: %s", got)
		}
	}
}

// fuzzExecLimit is the longest one fuzz input may take: Tencent's 2 s callback wait. With the
// instant fakes below an input only gets near it when the API waits on something it should not.
const fuzzExecLimit = 1900 * time.Millisecond

// FuzzCallback feeds random queries and bodies to POST /tim/callback: no panic, no server fault
// (every answer is HTTP 200 with Tencent's JSON; a refusal carries ErrorCode 1 and a client error
// code, never one of the codes of a 5xx), an answer well within Tencent's 2 s. The target is hermetic and fast so the fuzzer runs at a steady rate:
// instant fakes with no sleeps that keep no record of calls (memory stays flat), budgets far above
// what the fakes take (no branch depends on a timer race), and requests served through the app's
// handler in-process (no app.Test connection goroutine and HTTP round trip).
func FuzzCallback(f *testing.F) {
	env := newTestEnv(f, func(e *testEnv) {
		e.cfg.CallbackToken = "" // let random bodies reach the decoders
		e.cfg.CallbackBudget = time.Second
		e.cfg.TranslateBudget = time.Second
		e.temporal.discard = true
		e.temporal.signalWithStart = okSignal
		e.temporal.update = func(context.Context, call) (any, error) { return workflows.AgentMessageResult{Owned: true}, nil }
		e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
		e.trans.discard = true
		e.trans.fn = fakeTranslation
	})
	handler := env.app.Handler()
	q := func(cmd string) string {
		return "SdkAppid=1400000001&CallbackCommand=" + url.QueryEscape(cmd) + "&contenttype=json"
	}
	f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hi"), ""))
	f.Add(q(tim.CmdC2CAfterSendMsg), c2cBody(tim.CmdC2CAfterSendMsg, "alice", "support", textBody("hi"), ""))
	f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{imageElem()}, ""))
	f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", "alice", textBody("hi"), ""))
	f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", "alice", tim.MsgBody{fileElem()}, ""))
	f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("你好"), `{"a":1}`))
	f.Add(q(tim.CmdStateChange), stateBody("agent_li", "Login"))
	f.Add(q(tim.CmdGroupAfterSendMsg), `{"GroupId":"g","EventTime":"1670574414123"}`)
	// Issue 15's inputs: non-ASCII, 32- and 33-byte, empty, control-character and invalid UTF-8
	// accounts, MsgTime past 9999, repeated security parameters.
	for _, id := range []string{"客户_王", "ユーザー", "عميل", "😺😺", strings.Repeat("😺", 8), strings.Repeat("a", 33), "", "a\x01b", "a\xffb"} {
		f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, id, "support", textBody("怎么退货？"), ""))
		f.Add(q(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", id, textBody("hello"), ""))
		f.Add(q(tim.CmdStateChange), stateBody(id, "Login"))
	}
	f.Add(q(tim.CmdC2CBeforeSendMsg), `{"From_Account":"alice","To_Account":"support","MsgTime":253402300800,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}`)
	f.Add(q(tim.CmdC2CBeforeSendMsg)+"&SdkAppid=1400000999", c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hi"), ""))
	f.Add(q(tim.CmdC2CBeforeSendMsg), "{\"From_Account\":\"a\xff\",\"To_Account\":\"support\"}")
	f.Add(q("x"), `{`)
	f.Add("SdkAppid=1&CallbackCommand=", "")
	f.Add("Sign=%zz&RequestTime=-1", "null")
	f.Add(q(tim.CmdC2CBeforeSendMsg), `{"From_Account":"a","To_Account":"support","MsgSeq":"12","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":null}]}`)
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		rawQuery = strings.Map(func(r rune) rune {
			if r <= 0x20 || r >= 0x7f || r == '#' {
				return -1
			}
			return r
		}, rawQuery)
		start := time.Now()
		status, resp := serve(handler, http.MethodPost, "/tim/callback?"+rawQuery, body)
		if fault := callbackFault(status, resp); fault != "" {
			t.Fatalf("%s for query %q body %q: %s", fault, rawQuery, body, resp)
		}
		if d := time.Since(start); d > fuzzExecLimit {
			t.Fatalf("answered after %s (limit %s) for query %q body %q", d, fuzzExecLimit, rawQuery, body)
		}
	})
}

// callbackFault says what is wrong with a callback answer, "" when nothing: it must be HTTP 200
// with a JSON body; a refusal (an error object) must carry ErrorCode 1 and a client error code
// (a server fault is answered 200 + ErrorCode 1 too, with a 5xx code: that is what it finds).
func callbackFault(status int, body []byte) string {
	if status != http.StatusOK {
		return fmt.Sprintf("HTTP %d (Tencent delivers the message of a callback not answered 200)", status)
	}
	var ans struct {
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
		ErrorCode int `json:"ErrorCode"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "answer not JSON: " + err.Error()
	}
	switch {
	case ans.Error == nil:
		return ""
	case ans.ErrorCode != 1:
		return fmt.Sprintf("refusal with ErrorCode %d, want 1", ans.ErrorCode)
	case errorStatus[ans.Error.Code] >= 500 || errorStatus[ans.Error.Code] == 0:
		return "server fault " + ans.Error.Code
	}
	return ""
}

// BenchmarkCallback measures one callback through the fuzz target's in-process path with instant
// fakes (make bench); what is left is the API's own cost per callback.
func BenchmarkCallback(b *testing.B) {
	q := "/tim/callback?SdkAppid=1400000001&contenttype=json&CallbackCommand="
	cases := []struct {
		name, target, body string
	}{
		{"customer to service account", q + url.QueryEscape(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("where is my order?"), "")},
		{"customer photo to service account", q + url.QueryEscape(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", tim.MsgBody{imageElem()}, "")},
		{"agent to customer", q + url.QueryEscape(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "agent_li", "alice", textBody("it ships today"), "")},
		{"customer to customer, translated", q + url.QueryEscape(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("你好"), "")},
		{"unsigned junk", "/tim/callback?SdkAppid=1", `{`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			env := newTestEnv(b, func(e *testEnv) {
				e.cfg.CallbackToken = ""
				e.temporal.discard, e.trans.discard = true, true
				e.temporal.signalWithStart = okSignal
				e.temporal.update = func(context.Context, call) (any, error) { return workflows.AgentMessageResult{Owned: true}, nil }
				e.temporal.query = deskWithLanguages(map[string]string{"bob": "en"})
				e.trans.fn = fakeTranslation
			})
			handler := env.app.Handler()
			b.ReportAllocs()
			for b.Loop() {
				if status, body := serve(handler, http.MethodPost, tc.target, tc.body); callbackFault(status, body) != "" {
					b.Fatalf("%s: %s", callbackFault(status, body), body)
				}
			}
		})
	}
}

// TestCallbackServerFaultFailsClosed: a server fault while handling a callback (here a panic) is
// answered HTTP 200 with ErrorCode 1 and the code internal — a 500 would be a failed callback,
// which Tencent delivers by default — logged at error level with the status it has elsewhere,
// and counted as refused_internal; the panic's text reaches neither the answer nor Tencent.
func TestCallbackServerFaultFailsClosed(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.signalWithStart = func(_ context.Context, c call) error {
			if c.ID == workflows.DeskWorkflowID {
				return nil // the background language record: not the callback's own goroutine
			}
			panic("boom: secret internals")
		}
	})
	var logs bytes.Buffer
	d := depsFor(env, slog.New(slog.NewJSONHandler(&logs, nil)))
	env.registry = d.Registry
	app, err := newApp(d)
	if err != nil {
		t.Fatal(err)
	}
	env.app = app
	r := env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hi"), ""))
	if msg := callbackRefusal(t, r, codeInternal); strings.Contains(string(r.Body), "secret internals") {
		t.Errorf("panic text in the answer (message %q): %s", msg, r.Body)
	}
	if got := gatheredValue(t, env.registry, "timdesk_callbacks_total", "decision", decisionRefused+codeInternal); got != 1 {
		t.Errorf("timdesk_callbacks_total{decision=refused_internal} = %v, want 1", got)
	}
	var failed, panicked bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch rec["msg"] {
		case "callback failed":
			failed = rec["level"] == "ERROR" && rec["code"] == codeInternal && rec["refusedStatus"] == float64(http.StatusInternalServerError)
		case "panic in handler":
			panicked = rec["level"] == "ERROR"
		case "request":
			if rec["status"] != float64(http.StatusOK) || rec["refusedStatus"] != float64(http.StatusInternalServerError) {
				t.Errorf("access log status %v refusedStatus %v, want 200 and 500", rec["status"], rec["refusedStatus"])
			}
		}
	}
	if !failed || !panicked {
		t.Errorf("want ERROR lines \"panic in handler\" and \"callback failed\" (code internal, refusedStatus 500):\n%s", logs.String())
	}
}
