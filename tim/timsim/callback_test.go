package timsim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// sendVia sends alice→bob "hello" through the simulated client or REST sendmsg and returns the
// error code the sender sees.
type sendVia func(e *env) int

var senders = map[string]sendVia{
	"client": func(e *env) int { return e.send("alice", "bob", "hello").ErrorCode },
	"rest":   func(e *env) int { return code(e.rest("openim/sendmsg", textMsg("alice", "bob", "hello", 0, 42))) },
}

func TestBeforeSendAnswers(t *testing.T) {
	tests := []struct {
		name      string
		answer    reply
		failClose bool
		wantCode  int
		wantText  string // "" → not delivered
		wantCCD   string
		wantAfter bool
		timeout   time.Duration // the emulator's callback timeout; 0: the env's default
	}{
		{"allow", reply{Body: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`}, false, 0, "hello", "", true, 0},
		{"allow with a new MsgBody", reply{Body: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"bonjour"}}]}`}, false, 0, "bonjour", "", true, 0},
		{"allow with CloudCustomData", reply{Body: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","CloudCustomData":"{\"orig\":\"hello\"}"}`}, false, 0, "hello", `{"orig":"hello"}`, true, 0},
		{"reject 1", reply{Body: `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"no"}`}, false, 20006, "", "", false, 0},
		{"drop 2", reply{Body: `{"ActionStatus":"OK","ErrorCode":2,"ErrorInfo":""}`}, false, 0, "", "", false, 0},
		{"custom 120001", reply{Body: `{"ActionStatus":"OK","ErrorCode":120001,"ErrorInfo":"custom"}`}, false, 120001, "", "", false, 0},
		{"custom 130000", reply{Body: `{"ActionStatus":"OK","ErrorCode":130000,"ErrorInfo":"custom"}`}, false, 130000, "", "", false, 0},
		{"unknown code fails open", reply{Body: `{"ActionStatus":"OK","ErrorCode":7,"ErrorInfo":""}`}, false, 0, "hello", "", true, 0},
		{"HTTP 500 fails open", reply{Status: http.StatusInternalServerError}, false, 0, "hello", "", true, 0},
		// Any status but 200 is a failed callback, whatever the body says (TENCENT_IM.md §4.3): a
		// refusal answered 401 is delivered under the default policy; the same body with 200 refuses.
		{"HTTP 401 refusing fails open", reply{Status: http.StatusUnauthorized, Body: `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"callback signature missing, wrong or stale"}`}, false, 0, "hello", "", true, 0},
		{"HTTP 400 refusing fails open", reply{Status: http.StatusBadRequest, Body: `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"invalid callback field MsgTime"}`}, false, 0, "hello", "", true, 0},
		{"HTTP 401 refusing fails closed", reply{Status: http.StatusUnauthorized, Body: `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"callback signature missing, wrong or stale"}`}, true, 80003, "", "", false, 0},
		{"HTTP 200 FAIL refuses", reply{Body: `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"callback signature missing, wrong or stale","error":{"code":"unauthorized"}}`}, false, 20006, "", "", false, 0},
		{"not JSON fails open", reply{Body: `ok`}, false, 0, "hello", "", true, 0},
		{"timeout fails open", reply{Delay: time.Second, Body: `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"too late"}`}, false, 0, "hello", "", true, 300 * time.Millisecond},
		{"timeout fails closed", reply{Delay: time.Second}, true, 80003, "", "", false, 300 * time.Millisecond},
		{"HTTP 500 fails closed", reply{Status: http.StatusBadGateway}, true, 80003, "", "", false, 0},
		{"answered allow under fail-closed", reply{}, true, 0, "hello", "", true, 0},
	}
	for _, tt := range tests {
		for via, send := range senders {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				var opts []envOption
				if tt.failClose {
					opts = append(opts, failClosed())
				}
				if tt.timeout > 0 {
					opts = append(opts, withCallbackTimeout(tt.timeout))
				}
				e := newEnv(t, opts...)
				e.login("alice", "bob")
				e.app.answer(tim.CmdC2CBeforeSendMsg, tt.answer)
				if got := send(e); got != tt.wantCode {
					t.Fatalf("sender got %d, want %d", got, tt.wantCode)
				}
				in := e.inbox("bob")
				if tt.wantText == "" {
					if len(in) != 0 {
						t.Fatalf("bob got %+v, want nothing", in)
					}
				} else if len(in) != 1 || in[0].Text != tt.wantText || in[0].CloudCustomData != tt.wantCCD {
					t.Fatalf("bob got %+v, want %q with CloudCustomData %q", in, tt.wantText, tt.wantCCD)
				}
				if via == "client" {
					// The sending device shows what it sent: also when modified or silently dropped.
					own := e.sim.Messages("alice")
					var out []string
					for _, m := range own {
						if m.Direction == "out" {
							out = append(out, fmt.Sprintf("%s dropped=%v", m.Text, m.Dropped))
						}
					}
					want := []string{}
					switch {
					case tt.wantText != "":
						want = []string{"hello dropped=false"}
					case tt.wantCode == 0:
						want = []string{"hello dropped=true"}
					}
					if fmt.Sprint(out) != fmt.Sprint(want) {
						t.Errorf("alice's own device got %v, want %v", out, want)
					}
				}
				e.sim.Wait()
				after := e.app.received(tim.CmdC2CAfterSendMsg)
				if got := len(after) == 1; got != tt.wantAfter {
					t.Fatalf("after-send callbacks: %d, want fired=%v", len(after), tt.wantAfter)
				}
				if tt.wantAfter {
					cb, err := tim.DecodeC2CMsg(after[0].Body)
					if err != nil {
						t.Fatal(err)
					}
					if cb.MsgBody.Text() != tt.wantText || cb.CloudCustomData != tt.wantCCD || cb.SendMsgResult != 0 || cb.UnreadMsgNum != 1 {
						t.Errorf("after-send body got %+v, want the delivered message", cb)
					}
				}
			})
		}
	}
}

func TestCallbackQueryAndSign(t *testing.T) {
	for _, signed := range []bool{true, false} {
		name := "signed"
		var opts []envOption
		if !signed {
			name = "unsigned"
			opts = append(opts, withoutToken())
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts...)
			e.login("alice", "bob")
			e.send("alice", "bob", "via client")
			e.rest("openim/sendmsg", textMsg("alice", "bob", "via rest", 0, 1))
			if err := e.sim.CreateGroup("g", "Public", "alice", "bob"); err != nil {
				t.Fatal(err)
			}
			e.rest("group_open_http_svc/send_group_msg", map[string]any{"GroupId": "g", "From_Account": "alice", "Random": 1, "MsgBody": textMsg("", "", "x", 0, 1)["MsgBody"]})
			if err := e.sim.Disconnect(context.Background(), "bob"); err != nil {
				t.Fatal(err)
			}
			e.sim.Wait()
			auth := tim.CallbackAuth{SDKAppID: testAppID}
			if signed {
				auth.Token = testToken
			}
			want := map[string]int{tim.CmdC2CBeforeSendMsg: 2, tim.CmdC2CAfterSendMsg: 2, tim.CmdStateChange: 3, tim.CmdGroupAfterSendMsg: 1}
			got := map[string]int{}
			for _, cb := range e.app.received("") {
				q, err := tim.VerifyCallback(cb.Query, e.clock.Now(), auth)
				if err != nil {
					t.Fatalf("%s: VerifyCallback: %v (query %v)", cb.Command, err, cb.Query)
				}
				got[q.Command]++
				if q.ContentType != "json" || q.ClientIP != "127.0.0.1" || q.OptPlatform == "" {
					t.Errorf("%s: query got %+v", q.Command, q)
				}
				if signed != (q.Sign != "" && q.RequestTime == e.clock.Now().Unix()) {
					t.Errorf("%s: Sign %q RequestTime %d with signed=%v", q.Command, q.Sign, q.RequestTime, signed)
				}
				switch q.Command {
				case tim.CmdC2CBeforeSendMsg, tim.CmdC2CAfterSendMsg:
					body, err := tim.DecodeC2CMsg(cb.Body)
					if err != nil || body.CallbackCommand != q.Command || body.FromAccount != "alice" || body.MsgKey == "" || body.MsgTime != e.clock.Now().Unix() {
						t.Errorf("%s body got %+v (%v)", q.Command, body, err)
					}
					wantPlatform := "Web"
					if body.MsgBody.Text() == "via rest" {
						wantPlatform = "RESTAPI"
					}
					if q.OptPlatform != wantPlatform {
						t.Errorf("%s %q: OptPlatform got %s, want %s", q.Command, body.MsgBody.Text(), q.OptPlatform, wantPlatform)
					}
				case tim.CmdStateChange:
					if _, err := tim.DecodeStateChange(cb.Body); err != nil {
						t.Errorf("state change body: %v", err)
					}
				case tim.CmdGroupAfterSendMsg:
					if _, err := tim.DecodeGroupMsg(cb.Body); err != nil {
						t.Errorf("group body: %v", err)
					}
				}
			}
			for cmd, n := range want {
				if got[cmd] != n {
					t.Errorf("%s callbacks: got %d, want %d", cmd, got[cmd], n)
				}
			}
			// A verifier with another token or a later clock rejects the same callbacks.
			cb := e.app.received(tim.CmdStateChange)[0]
			if signed {
				if _, err := tim.VerifyCallback(cb.Query, e.clock.Now(), tim.CallbackAuth{SDKAppID: testAppID, Token: "other"}); !errors.Is(err, tim.ErrCallbackSign) {
					t.Errorf("other token: got %v, want ErrCallbackSign", err)
				}
				if _, err := tim.VerifyCallback(cb.Query, e.clock.Now().Add(2*time.Minute), auth); !errors.Is(err, tim.ErrCallbackStale) {
					t.Errorf("2 min later: got %v, want ErrCallbackStale", err)
				}
			}
		})
	}
}

func TestForbidCallbackControl(t *testing.T) {
	tests := []struct {
		name       string
		forbid     []string
		wantBefore int
		wantAfter  int
	}{
		{"none", nil, 1, 1},
		{"before", []string{tim.ForbidBeforeSendMsgCallback}, 0, 1},
		{"after", []string{tim.ForbidAfterSendMsgCallback}, 1, 0},
		{"both", []string{tim.ForbidBeforeSendMsgCallback, tim.ForbidAfterSendMsgCallback}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.login("alice", "bob")
			e.app.answer(tim.CmdC2CBeforeSendMsg, reply{Body: `{"ErrorCode":1}`}) // would reject
			m := textMsg("alice", "bob", "x", 0, 1)
			if tt.forbid != nil {
				m["ForbidCallbackControl"] = tt.forbid
			}
			out := e.rest("openim/sendmsg", m)
			e.sim.Wait()
			if got := len(e.app.received(tim.CmdC2CBeforeSendMsg)); got != tt.wantBefore {
				t.Errorf("before-send: got %d, want %d", got, tt.wantBefore)
			}
			if tt.wantBefore == 0 && code(out) != 0 {
				t.Errorf("without the before-send callback the send must succeed: %v", out)
			}
			if got := len(e.app.received(tim.CmdC2CAfterSendMsg)); tt.wantBefore == 0 && got != tt.wantAfter {
				t.Errorf("after-send: got %d, want %d", got, tt.wantAfter)
			}
		})
	}
}

func TestStateChangeCallbacks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.sim.Login(ctx, "agent", ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if err := e.sim.Disconnect(ctx, "agent"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Disconnect(ctx, "agent"); err != nil { // already offline: no callback
		t.Fatal(err)
	}
	var st struct {
		ErrorCode int  `json:"errorCode"`
		Online    bool `json:"online"`
	}
	if e.simPost("/sim/login", map[string]string{"userID": "agent", "platform": "Android"}, &st); !st.Online {
		t.Fatalf("login: %+v", st)
	}
	e.simPost("/sim/logout", map[string]string{"userID": "agent"}, &st)
	if err := e.sim.Logout(ctx, "ghost"); err == nil {
		t.Error("logout of an unknown account: want an error")
	}
	e.sim.Wait()
	want := []struct{ action, reason, platform string }{
		{"Login", "Register", "Web"}, {"Disconnect", "LinkClose", "Web"}, {"Login", "Register", "Android"}, {"Logout", "Unregister", "Android"},
	}
	got := e.app.received(tim.CmdStateChange)
	if len(got) != len(want) {
		t.Fatalf("got %d state changes, want %d", len(got), len(want))
	}
	for i, w := range want {
		cb, err := tim.DecodeStateChange(got[i].Body)
		if err != nil {
			t.Fatal(err)
		}
		if cb.Info.Action != w.action || cb.Info.Reason != w.reason || cb.Info.ToAccount != "agent" || got[i].Query.Get("OptPlatform") != w.platform {
			t.Errorf("#%d got %+v on %s, want %v", i, cb.Info, got[i].Query.Get("OptPlatform"), w)
		}
		if cb.EventTime < e.clock.Now().Add(-2*time.Second).UnixMilli() || cb.EventTime > e.clock.Now().UnixMilli() {
			t.Errorf("#%d EventTime %d is not the emulator clock in ms", i, cb.EventTime)
		}
	}
}

func TestSimLoginVerifiesUserSig(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	good, _ := e.signer.SignAt("alice", e.clock.Now(), time.Hour)
	expired, _ := e.signer.SignAt("alice", e.clock.Now().Add(-3*time.Hour), time.Hour)
	tests := []struct {
		name string
		sig  string
		want int
	}{
		{"none", "", 0},
		{"valid", good, 0},
		{"expired", expired, 70001},
		{"other user", good, 70013},
		{"garbage", "zzz", 70003},
	}
	for _, tt := range tests {
		user := "alice"
		if tt.name == "other user" {
			user = "bob"
		}
		var st struct {
			ErrorCode int  `json:"errorCode"`
			Online    bool `json:"online"`
		}
		e.simPost("/sim/login", map[string]string{"userID": user, "userSig": tt.sig}, &st)
		if st.ErrorCode != tt.want || st.Online != (tt.want == 0) {
			t.Errorf("%s: got %+v, want code %d", tt.name, st, tt.want)
		}
	}
}
