package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// TestCallbackRefusalsNameTheProblem: every bad account field, out-of-range time and repeated
// security parameter is refused (HTTP 200, ErrorCode 1, error code invalid) with an error message
// and a Tencent-style ErrorInfo naming what was wrong (never the value), and nothing reaches
// Temporal or the translator.
func TestCallbackRefusalsNameTheProblem(t *testing.T) {
	before := tim.CmdC2CBeforeSendMsg
	withMsgTime := func(body, v string) string {
		return strings.Replace(body, `"MsgTime":`+itoa(testNow.Unix()), `"MsgTime":`+v, 1)
	}
	secret := "Sign=" + tim.CallbackSign(testCBToken, testNow.Unix())
	tests := []struct {
		name, target, body string
		wantInMessage      string
	}{
		{"empty From_Account", goodURL(before), c2cBody(before, "", "support", textBody("hi"), ""), "From_Account"},
		{"empty To_Account", goodURL(before), c2cBody(before, "alice", "", textBody("hi"), ""), "To_Account"},
		{"33-byte From_Account", goodURL(before), c2cBody(before, strings.Repeat("a", 33), "support", textBody("hi"), ""), "From_Account: 33 bytes"},
		{"33-byte To_Account (agent to 11 CJK chars)", goodURL(before), c2cBody(before, "agent_li", strings.Repeat("王", 11), textBody("hi"), ""), "To_Account"},
		{"control character in From_Account", goodURL(before), c2cBody(before, "ali\x01ce", "support", textBody("hi"), ""), "From_Account: control character"},
		{"lone surrogate in From_Account", goodURL(before), strings.Replace(c2cBody(before, "alice", "support", textBody("hi"), ""), `"alice"`, `"a\ud800"`, 1), "From_Account: not valid UTF-8"},
		{"raw invalid UTF-8", goodURL(before), strings.Replace(c2cBody(before, "alice", "support", textBody("hi"), ""), `"alice"`, "\"a\xff\"", 1), "not valid UTF-8"},
		{"MsgTime past year 9999", goodURL(before), withMsgTime(c2cBody(before, "alice", "support", textBody("hi"), ""), "253402300800"), "MsgTime"},
		{"MsgTime negative", goodURL(before), withMsgTime(c2cBody(before, "alice", "support", textBody("hi"), ""), "-5"), "MsgTime"},
		{"MsgTime next year", goodURL(before), withMsgTime(c2cBody(before, "alice", "support", textBody("hi"), ""), itoa(testNow.AddDate(1, 0, 0).Unix())), "MsgTime: more than 10m0s ahead"},
		{"MsgTime 11 minutes ahead", goodURL(before), withMsgTime(c2cBody(before, "alice", "support", textBody("hi"), ""), itoa(testNow.Add(11*time.Minute).Unix())), "MsgTime: more than 10m0s ahead"},
		{"agent's MsgTime next year", goodURL(before), withMsgTime(c2cBody(before, "agent_li", "alice", textBody("hi"), ""), itoa(testNow.AddDate(1, 0, 0).Unix())), "MsgTime: more than 10m0s ahead"},
		{"state change without account", goodURL(tim.CmdStateChange), stateBody("", "Login"), "Info.To_Account"},
		{"state change dated next year", goodURL(tim.CmdStateChange), withEventTime(stateBody("agent_emma", "Login"), testNow.AddDate(1, 0, 0)), "EventTime: more than 10m0s ahead"},
		{"state change 11 minutes ahead", goodURL(tim.CmdStateChange), withEventTime(stateBody("agent_emma", "Logout"), testNow.Add(11*time.Minute)), "EventTime: more than 10m0s ahead"},
		{"group message with a bad operator", goodURL(tim.CmdGroupAfterSendMsg), `{"GroupId":"g1","From_Account":"alice","Operator_Account":"` + strings.Repeat("o", 40) + `","MsgBody":[]}`, "Operator_Account"},
		{"SdkAppid twice", goodURL(before) + "&SdkAppid=1400000999", c2cBody(before, "alice", "support", textBody("hi"), ""), "SdkAppid given 2 times"},
		{"Sign twice", goodURL(before) + "&" + secret, c2cBody(before, "alice", "support", textBody("hi"), ""), "Sign given 2 times"},
		{"contenttype not json", strings.Replace(goodURL(before), "contenttype=json", "contenttype=xml", 1), c2cBody(before, "alice", "support", textBody("hi"), ""), "contenttype must be json"},
		{"sdkappid in lower case too", goodURL(before) + "&sdkappid=1400000999", c2cBody(before, "alice", "support", textBody("hi"), ""), "SdkAppid also given with other letter case"},
		{"SIGN in upper case too", goodURL(before) + "&SIGN=00", c2cBody(before, "alice", "support", textBody("hi"), ""), "Sign also given with other letter case"},
		{"RequestTime with a plus", strings.Replace(goodURL(before), "RequestTime=", "RequestTime=%2B", 1), c2cBody(before, "alice", "support", textBody("hi"), ""), "RequestTime not a decimal number"},
		{"RequestTime with a leading zero", strings.Replace(goodURL(before), "RequestTime=", "RequestTime=0", 1), c2cBody(before, "alice", "support", textBody("hi"), ""), "RequestTime not a decimal number"},
		{"From_Account twice (agent, then a customer)", goodURL(before), strings.Replace(c2cBody(before, "agent_li", "support", textBody("hi"), ""), `"To_Account"`, `"From_Account":"alice","To_Account"`, 1), "From_Account: given twice"},
		{"FROM_ACCOUNT after From_Account", goodURL(before), strings.Replace(c2cBody(before, "agent_li", "support", textBody("hi"), ""), `"To_Account"`, `"FROM_ACCOUNT":"alice","To_Account"`, 1), "From_Account: given twice"},
		{"to_account in lower case", goodURL(before), strings.Replace(c2cBody(before, "alice", "support", textBody("hi"), ""), `"To_Account"`, `"to_account"`, 1), "To_Account: spelt in other letter case"},
		{"presence for two agents", goodURL(tim.CmdStateChange), strings.Replace(stateBody("agent_emma", "Login"), `"Info"`, `"Info":{"Action":"Logout","To_Account":"agent_li"},"Info"`, 1), "Info: given twice"},
		{"From_Account a number", goodURL(before), strings.Replace(c2cBody(before, "alice", "support", textBody("hi"), ""), `"alice"`, "12345", 1), "invalid callback field From_Account: not a string (got number)"},
		{"MsgSeq negative", goodURL(before), strings.Replace(c2cBody(before, "alice", "support", textBody("hi"), ""), `"MsgSeq":`, `"MsgSeq":-1,"x":`, 1), "invalid callback field MsgSeq: not an integer 0-4294967295"},
		{"Info.Action a number", goodURL(tim.CmdStateChange), strings.Replace(stateBody("agent_emma", "Login"), `"Login"`, "1", 1), "invalid callback field Info.Action: not a string (got number)"},
		{"body of another command", goodURL(tim.CmdStateChange), c2cBody(before, "alice", "support", textBody("hi"), ""), "invalid callback field CallbackCommand: another command than the query's"},
		{"array body", goodURL(before), `[]`, "invalid callback body: not a JSON object (got array)"},
		{"empty body", goodURL(before), ``, "invalid callback body: empty"},
		{"path with a trailing slash", strings.Replace(goodURL(before), "/tim/callback?", "/tim/callback/?", 1), c2cBody(before, "", "support", textBody("hi"), ""), "From_Account"},
		{"path in other letter case", strings.Replace(goodURL(before), "/tim/callback?", "/TIM/Callback?", 1), c2cBody(before, "", "support", textBody("hi"), ""), "From_Account"},
		{"image without content", goodURL(before), c2cBody(before, "alice", "support", tim.MsgBody{{MsgType: tim.MsgTypeImage, MsgContent: json.RawMessage(`null`)}}, ""), "MsgBody[0].MsgContent: not an object"},
		{"agent's image without content", goodURL(before), c2cBody(before, "agent_li", "alice", tim.MsgBody{{MsgType: tim.MsgTypeImage, MsgContent: json.RawMessage(`1`)}}, ""), "MsgBody[0].MsgContent: not an object"},
		{"text element with a number", goodURL(before), c2cBody(before, "alice", "support", tim.MsgBody{{MsgType: tim.MsgTypeText, MsgContent: json.RawMessage(`{"Text":5}`)}}, ""), "MsgBody[0].MsgContent.Text: not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			r := env.do(t, http.MethodPost, tt.target, tt.body)
			msg := callbackRefusal(t, r, codeInvalid)
			if !strings.Contains(msg, tt.wantInMessage) {
				t.Errorf("error message %q does not say %q", msg, tt.wantInMessage)
			}
			if strings.Contains(string(r.Body), testCBToken) || strings.Contains(msg, "alice") || strings.Contains(msg, "王") {
				t.Errorf("refusal echoes input or a secret: %s", r.Body)
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

// TestCallbackNonASCIICustomers: a customer whose UserID is not ASCII is signalled under the
// encoded workflow ID (ASCII only, so gRPC carries it), with the raw ID as the customer.
func TestCallbackNonASCIICustomers(t *testing.T) {
	for _, id := range []string{"客户_王", "ユーザー", "عميل", "😺😺", strings.Repeat("😺", 8)} {
		t.Run(id, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			r := env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg), c2cBody(tim.CmdC2CBeforeSendMsg, id, "support", textBody("怎么退货？"), ""))
			if cr := callbackAnswer(t, r); cr.ErrorCode != 0 {
				t.Fatalf("ErrorCode = %d, want 0", cr.ErrorCode)
			}
			calls := env.temporal.ConsultationCalls("SignalWithStart")
			if len(calls) != 1 {
				t.Fatalf("SignalWithStart calls = %d, want 1", len(calls))
			}
			wid := calls[0].ID
			for i := 0; i < len(wid); i++ {
				if wid[i] < 0x21 || wid[i] > 0x7e {
					t.Fatalf("workflow ID %q has a non-ASCII byte at %d", wid, i)
				}
			}
			if !strings.HasPrefix(wid, "consultation/%") {
				t.Errorf("workflow ID = %q, want the encoded form", wid)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// withEventTime dates a stateBody at.
func withEventTime(body string, at time.Time) string {
	return strings.Replace(body, `"EventTime":`+itoa(testNow.UnixMilli()), `"EventTime":`+itoa(at.UnixMilli()), 1)
}

// TestCallbackPresenceClockSkew: a State.StateChange dated up to MaxEventTimeSkew ahead of the
// API's clock (Tencent's clock a little fast) is recorded with its own time; one dated further
// ahead is refused (TestCallbackRefusalsNameTheProblem), so it cannot hide the agent's later
// logins and logouts behind a time nobody reaches.
func TestCallbackPresenceClockSkew(t *testing.T) {
	var got []desk.PresenceEvent
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.signalWithStart = func(_ context.Context, c call) error {
			if ev, ok := c.Arg.(desk.PresenceEvent); ok {
				got = append(got, ev)
			}
			return nil
		}
	})
	at := testNow.Add(tim.MaxEventTimeSkew - time.Second)
	cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdStateChange), withEventTime(stateBody("agent_emma", tim.StateLogin), at)))
	if cr.ErrorCode != 0 || len(got) != 1 || !got[0].At.Equal(at) || !got[0].Online {
		t.Fatalf("answer %+v, presence signals %+v; want one login at %s", cr, got, at)
	}
}

// TestCallbackPresenceRequestID: a State.StateChange signals the desk with a request ID derived
// from user, action and EventTime — or, when Tencent sent no EventTime, the signed RequestTime,
// which a replay repeats, also used as the event's time — so a replay is one signal in the desk's
// history; another event of the same user gets another ID. An unsigned callback without either
// time gets the SDK's own request ID (nothing tells its replay from a new event).
func TestCallbackPresenceRequestID(t *testing.T) {
	noTime := func(body string) string {
		return strings.Replace(body, `"EventTime":`+itoa(testNow.UnixMilli())+`,`, "", 1)
	}
	later := testNow.Add(-30 * time.Second).Unix()
	type post struct{ target, body string }
	tests := []struct {
		name   string
		posts  []post
		same   [][2]int // pairs of posts that must share a request ID
		differ [][2]int // pairs that must not
		at     []time.Time
	}{
		{"EventTime", []post{
			{goodURL(tim.CmdStateChange), stateBody("agent_emma", tim.StateLogin)},
			{callbackURL(tim.CmdStateChange, testSDKAppID, testCBToken, later), stateBody("agent_emma", tim.StateLogin)},
			{goodURL(tim.CmdStateChange), stateBody("agent_emma", tim.StateLogout)},
		}, [][2]int{{0, 1}}, [][2]int{{1, 2}}, []time.Time{testNow, testNow, testNow}},
		{"no EventTime: RequestTime", []post{
			{goodURL(tim.CmdStateChange), noTime(stateBody("agent_emma", tim.StateLogin))},
			{goodURL(tim.CmdStateChange), noTime(stateBody("agent_emma", tim.StateLogin))},
			{goodURL(tim.CmdStateChange), noTime(stateBody("agent_emma", tim.StateLogout))},
			{callbackURL(tim.CmdStateChange, testSDKAppID, testCBToken, later), noTime(stateBody("agent_emma", tim.StateLogin))},
		}, [][2]int{{0, 1}}, [][2]int{{1, 2}, {1, 3}}, []time.Time{testNow, testNow, testNow, time.Unix(later, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			var ats []time.Time
			env := newTestEnv(t, func(e *testEnv) {
				e.temporal.signalWithStart = func(ctx context.Context, c call) error {
					id, _ := ctx.Value(signalRequestIDKey{}).(string)
					ids = append(ids, id)
					ats = append(ats, c.Arg.(desk.PresenceEvent).At)
					return nil
				}
			})
			for _, p := range tt.posts {
				if cr := callbackAnswer(t, env.do(t, http.MethodPost, p.target, p.body)); cr.ErrorCode != 0 {
					t.Fatalf("ErrorCode = %d, want 0", cr.ErrorCode)
				}
			}
			if len(ids) != len(tt.posts) || slices.Contains(ids, "") {
				t.Fatalf("request IDs = %q, want one derived ID per post", ids)
			}
			for _, p := range tt.same {
				if ids[p[0]] != ids[p[1]] {
					t.Errorf("posts %d and %d (a replay) got request IDs %q and %q", p[0], p[1], ids[p[0]], ids[p[1]])
				}
			}
			for _, p := range tt.differ {
				if ids[p[0]] == ids[p[1]] {
					t.Errorf("posts %d and %d (different events) share request ID %q", p[0], p[1], ids[p[0]])
				}
			}
			for i, at := range tt.at {
				if !ats[i].Equal(at) {
					t.Errorf("post %d recorded at %s, want %s", i, ats[i], at)
				}
			}
		})
	}
	t.Run("unsigned, no time", func(t *testing.T) {
		var ids []string
		env := newTestEnv(t, func(e *testEnv) {
			e.cfg.CallbackToken = ""
			e.temporal.signalWithStart = func(ctx context.Context, _ call) error {
				id, _ := ctx.Value(signalRequestIDKey{}).(string)
				ids = append(ids, id)
				return nil
			}
		})
		target := "/tim/callback?SdkAppid=" + strconv.FormatUint(testSDKAppID, 10) + "&CallbackCommand=" + tim.CmdStateChange
		if cr := callbackAnswer(t, env.do(t, http.MethodPost, target, noTime(stateBody("agent_emma", tim.StateLogin)))); cr.ErrorCode != 0 {
			t.Fatalf("ErrorCode = %d", cr.ErrorCode)
		}
		if len(ids) != 1 || ids[0] != "" {
			t.Errorf("request IDs = %q, want the SDK's own", ids)
		}
	})
}

// TestCallbackRefusalLoggedAsClientError: a refused callback is one "callback refused" warning
// whose reason names the broken field or parameter — not an error-level line, not a failed
// Temporal call (the outage a refusal used to look like) — and the log carries neither the
// refused value nor the callback token.
func TestCallbackRefusalLoggedAsClientError(t *testing.T) {
	before := tim.CmdC2CBeforeSendMsg
	tests := []struct {
		name, target, body string
		field              string // what the reason must name
		value              string // the refused input, never logged
	}{
		{"control character in From_Account", goodURL(before), c2cBody(before, "mallory\x07", "support", textBody("hi"), ""), "From_Account", "mallory"},
		{"To_Account over 32 bytes", goodURL(before), c2cBody(before, "agent_emma", strings.Repeat("长", 11), textBody("hi"), ""), "To_Account", "长长长"},
		{"EventTime next year", goodURL(tim.CmdStateChange), withEventTime(stateBody("agent_emma", tim.StateLogin), testNow.AddDate(1, 0, 0)), "EventTime", itoa(testNow.AddDate(1, 0, 0).UnixMilli())},
		{"mention over 32 bytes", goodURL(tim.CmdGroupAfterSendMsg), `{"GroupId":"g1","From_Account":"alice","GroupAtInfo":[{"GroupAtAllFlag":0,"GroupAt_Account":"` + strings.Repeat("m", 40) + `"}],"MsgBody":[]}`, "GroupAtInfo[0].GroupAt_Account", strings.Repeat("m", 40)},
		{"SdkAppid given twice", goodURL(before) + "&SdkAppid=1400000999", c2cBody(before, "alice", "support", textBody("hi"), ""), "SdkAppid", "1400000999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			var logs bytes.Buffer
			app, err := newApp(depsFor(env, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			if err != nil {
				t.Fatal(err)
			}
			env.app = app
			callbackRefusal(t, env.do(t, http.MethodPost, tt.target, tt.body), codeInvalid)
			refusals := 0
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				msg, _ := rec["msg"].(string)
				switch {
				case msg == "callback refused":
					refusals++
					reason, _ := rec["reason"].(string)
					if rec["level"] != "WARN" || !strings.Contains(reason, tt.field) {
						t.Errorf("refusal logged as %v with reason %q, want WARN naming %s", rec["level"], reason, tt.field)
					}
					// Answered 200 + ErrorCode 1, the line keeps the class and the status it has elsewhere.
					if rec["code"] != codeInvalid || rec["refusedStatus"] != float64(http.StatusBadRequest) || rec["errorCode"] != float64(1) {
						t.Errorf("refusal logged with code %v, refusedStatus %v, errorCode %v; want %s, 400, 1", rec["code"], rec["refusedStatus"], rec["errorCode"], codeInvalid)
					}
				case msg == "request":
					if rec["status"] != float64(http.StatusOK) || rec["refusedStatus"] != float64(http.StatusBadRequest) {
						t.Errorf("access log status %v refusedStatus %v, want 200 and 400", rec["status"], rec["refusedStatus"])
					}
				case rec["level"] == "ERROR", strings.Contains(msg, "failed"), strings.Contains(msg, "shed"):
					t.Errorf("refusal logged like an outage: %s", line)
				}
			}
			if refusals != 1 {
				t.Errorf("%d \"callback refused\" lines, want 1:\n%s", refusals, logs.String())
			}
			if strings.Contains(logs.String(), tt.value) || strings.Contains(logs.String(), testCBToken) {
				t.Errorf("log echoes the refused value or the token:\n%s", logs.String())
			}
			if calls := env.temporal.Calls(); len(calls) != 0 {
				t.Errorf("a refused callback reached Temporal: %+v", calls)
			}
		})
	}
}

// TestCallbackSelfAndStaffMessagesIgnored: the service account writing to itself, any user
// writing to themselves, and the service account's or admin's own sends are passed through
// unchanged (counted as ignored): nothing is started, signalled, updated or translated.
func TestCallbackSelfAndStaffMessagesIgnored(t *testing.T) {
	sa, admin := defaultServiceAccount, defaultAdmin
	tests := []struct{ name, from, to string }{
		{"service account to itself", sa, sa},
		{"admin to itself", admin, admin},
		{"customer to themselves", "alice", "alice"},
		{"agent to themselves", "agent_emma", "agent_emma"},
		{"service account to a customer", sa, "alice"},
		{"admin to the service account", admin, sa},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			for _, cmd := range []string{tim.CmdC2CBeforeSendMsg, tim.CmdC2CAfterSendMsg} {
				cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(cmd), c2cBody(cmd, tt.from, tt.to, textBody("怎么退货？"), "")))
				if cr.ErrorCode != 0 || cr.MsgBody != nil {
					t.Errorf("%s: answer %+v, want the message unchanged", cmd, cr)
				}
			}
			if calls := env.temporal.Calls(); len(calls) != 0 {
				t.Errorf("reached Temporal: %+v", calls)
			}
			if calls := env.trans.Calls(); len(calls) != 0 {
				t.Errorf("translated: %+v", calls)
			}
			page := string(env.do(t, http.MethodGet, "/metrics", "").Body)
			if !strings.Contains(page, `timdesk_callbacks_total{command="C2C.CallbackBeforeSendMsg",decision="ignored",error_code="0"} 1`) {
				t.Errorf("not counted as ignored:\n%s", page)
			}
		})
	}
}

// TestCallbackSentAt: a customer's message reaches the consultation dated by its MsgTime, but never
// earlier than MaxEventTimeSkew before the callback (SentAt bounds how far back a send it causes
// looks in the chat history: a MsgTime of 1970 made every send search since 1970), and a MsgTime
// up to the skew ahead is passed as it is (the workflow takes its own clock for it).
func TestCallbackSentAt(t *testing.T) {
	before := tim.CmdC2CBeforeSendMsg
	tests := []struct {
		name    string
		msgTime int64
		want    time.Time
	}{
		{"now", testNow.Unix(), testNow},
		{"30 s ago", testNow.Add(-30 * time.Second).Unix(), testNow.Add(-30 * time.Second)},
		{"exactly the skew ago", testNow.Add(-tim.MaxEventTimeSkew).Unix(), testNow.Add(-tim.MaxEventTimeSkew)},
		{"an hour ago", testNow.Add(-time.Hour).Unix(), testNow.Add(-tim.MaxEventTimeSkew)},
		{"1970", 1, testNow.Add(-tim.MaxEventTimeSkew)},
		{"no MsgTime", 0, testNow},
		{"5 minutes ahead", testNow.Add(5 * time.Minute).Unix(), testNow.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			body := strings.Replace(c2cBody(before, "alice", "support", textBody("hi"), ""), `"MsgTime":`+itoa(testNow.Unix()), `"MsgTime":`+itoa(tt.msgTime), 1)
			if r := env.do(t, http.MethodPost, goodURL(before), body); r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			calls := env.temporal.ConsultationCalls("SignalWithStart")
			if len(calls) != 1 {
				t.Fatalf("%d signals, want 1", len(calls))
			}
			in, _ := calls[0].Arg.(workflows.InboundMessage)
			if !in.SentAt.Equal(tt.want) {
				t.Errorf("SentAt = %s, want %s", in.SentAt, tt.want)
			}
		})
	}
}
