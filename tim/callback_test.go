package tim

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCallbackSignVector(t *testing.T) {
	// TENCENT_IM.md 4.2 (verified vector) and the intl page's typo variant.
	if got := CallbackSign("xxxxyyyy", 1669872112); got != "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061" {
		t.Errorf("got %s", got)
	}
	if got := CallbackSign("xxxyyy", 1669872112); !strings.HasPrefix(got, "e78a8547") {
		t.Errorf("typo token: got %s", got)
	}
}

func TestVerifyCallback(t *testing.T) {
	const token, app = "xxxxyyyy", 1400000000
	now := time.Unix(1669872112, 0)
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	base := []string{"SdkAppid", "1400000000", "CallbackCommand", CmdC2CBeforeSendMsg, "contenttype", "json", "ClientIP", "1.2.3.4", "OptPlatform", "RESTAPI"}
	signed := func(rt int64, extra ...string) url.Values {
		kv := append(append([]string{}, base...), "RequestTime", strconv.FormatInt(rt, 10), "Sign", CallbackSign(token, rt))
		return q(append(kv, extra...)...)
	}
	withSign := func(sign string) url.Values {
		v := signed(now.Unix())
		v.Set("Sign", sign)
		return v
	}
	without := func(v url.Values, key string) url.Values { v.Del(key); return v }
	tests := []struct {
		name  string
		query url.Values
		auth  CallbackAuth
		want  error
	}{
		{"signed", signed(now.Unix()), CallbackAuth{app, token}, nil},
		{"uppercase hex sign", withSign(strings.ToUpper(CallbackSign(token, now.Unix()))), CallbackAuth{app, token}, nil},
		{"contenttype JSON", func() url.Values { v := signed(now.Unix()); v.Set("contenttype", "JSON"); return v }(), CallbackAuth{app, token}, nil},
		{"no contenttype", without(signed(now.Unix()), "contenttype"), CallbackAuth{app, token}, nil},
		{"window -60", signed(now.Unix() - 60), CallbackAuth{app, token}, nil},
		{"window +60", signed(now.Unix() + 60), CallbackAuth{app, token}, nil},
		{"stale -61", signed(now.Unix() - 61), CallbackAuth{app, token}, ErrCallbackStale},
		{"future +61", signed(now.Unix() + 61), CallbackAuth{app, token}, ErrCallbackStale},
		{"wrong sign", withSign(CallbackSign("other", now.Unix())), CallbackAuth{app, token}, ErrCallbackSign},
		{"truncated sign", withSign(CallbackSign(token, now.Unix())[:63]), CallbackAuth{app, token}, ErrCallbackSign},
		{"sign for other time", func() url.Values {
			v := signed(now.Unix())
			v.Set("RequestTime", strconv.FormatInt(now.Unix()+1, 10))
			return v
		}(), CallbackAuth{app, token}, ErrCallbackSign},
		{"no sign with token", without(signed(now.Unix()), "Sign"), CallbackAuth{app, token}, ErrCallbackSign},
		{"no RequestTime with token", without(signed(now.Unix()), "RequestTime"), CallbackAuth{app, token}, ErrCallbackQuery},
		{"RequestTime not a number", func() url.Values { v := signed(now.Unix()); v.Set("RequestTime", "soon"); return v }(), CallbackAuth{app, token}, ErrCallbackQuery},
		{"no token, no sign", q(base...), CallbackAuth{app, ""}, nil},
		{"no token, sign ignored", withSign("garbage"), CallbackAuth{app, ""}, nil},
		{"no SdkAppid", without(signed(now.Unix()), "SdkAppid"), CallbackAuth{app, token}, ErrCallbackQuery},
		{"SdkAppid not a number", func() url.Values { v := signed(now.Unix()); v.Set("SdkAppid", "abc"); return v }(), CallbackAuth{app, token}, ErrCallbackQuery},
		{"other app", signed(now.Unix()), CallbackAuth{app + 1, token}, ErrCallbackAppID},
		{"other app, no token", q(base...), CallbackAuth{app + 1, ""}, ErrCallbackAppID},
		{"no command", without(signed(now.Unix()), "CallbackCommand"), CallbackAuth{app, token}, ErrCallbackQuery},
		{"contenttype xml", func() url.Values { v := signed(now.Unix()); v.Set("contenttype", "xml"); return v }(), CallbackAuth{app, token}, ErrCallbackQuery},
	}
	sentinels := []error{ErrCallbackQuery, ErrCallbackAppID, ErrCallbackSign, ErrCallbackStale}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyCallback(tt.query, now, tt.auth)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, other := range sentinels {
				if err != nil && !errors.Is(other, tt.want) && errors.Is(err, other) {
					t.Errorf("%v also matches %v", err, other)
				}
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Error("error text contains the token")
			}
			if err == nil && (got.SDKAppID != app || got.Command != CmdC2CBeforeSendMsg || got.ClientIP != "1.2.3.4" || got.OptPlatform != "RESTAPI") {
				t.Errorf("parsed %+v", got)
			}
		})
	}
	got, err := VerifyCallback(signed(now.Unix()), now, CallbackAuth{app, token})
	if err != nil || got.RequestTime != now.Unix() || got.Sign != CallbackSign(token, now.Unix()) || got.ContentType != "json" {
		t.Errorf("parsed %+v %v", got, err)
	}
}

func TestDecodeC2CMsg(t *testing.T) {
	after := `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"u_1","To_Account":"u_2",
 "MsgSeq":48374,"MsgRandom":2837546,"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126",
 "OnlineOnlyFlag":0,"SendMsgResult":0,"ErrorInfo":"send msg succeed","UnreadMsgNum":7,
 "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],"CloudCustomData":""}`
	want := C2CMsgCallback{
		CallbackCommand: CmdC2CAfterSendMsg, FromAccount: "u_1", ToAccount: "u_2", MsgSeq: 48374, MsgRandom: 2837546,
		MsgTime: 1557481126, MsgKey: "48374_2837546_1557481126", ErrorInfo: "send msg succeed", UnreadMsgNum: 7,
		MsgBody: MsgBody{{MsgType: MsgTypeText, MsgContent: json.RawMessage(`{"Text":"hi"}`)}},
	}
	got, err := DecodeC2CMsg([]byte(after))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got.MsgBody.Text() != "hi" {
		t.Errorf("text %q", got.MsgBody.Text())
	}

	tests := []struct {
		name  string
		body  string
		check func(C2CMsgCallback) bool
		bad   bool
	}{
		{name: "numbers as strings", body: `{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":"a","To_Account":"b","MsgSeq":"4294967295","MsgRandom":" 12 ","MsgTime":"1557481126","EventTime":"1670574414123","OnlineOnlyFlag":"1","UnreadMsgNum":"-1","SendMsgResult":"20006"}`,
			check: func(c C2CMsgCallback) bool {
				return c.MsgSeq == 4294967295 && c.MsgRandom == 12 && c.MsgTime == 1557481126 && c.EventTime == 1670574414123 && c.OnlineOnlyFlag == 1 && c.UnreadMsgNum == -1 && c.SendMsgResult == 20006
			}},
		{name: "float number", body: `{"From_Account":"a","To_Account":"b","MsgTime":1.557481126e9}`, check: func(c C2CMsgCallback) bool { return c.MsgTime == 1557481126 }},
		{name: "null and empty numbers", body: `{"From_Account":"a","To_Account":"b","MsgSeq":null,"MsgRandom":"","MsgId":"x-1-2"}`, check: func(c C2CMsgCallback) bool { return c.MsgSeq == 0 && c.MsgRandom == 0 && c.MsgId == "x-1-2" }},
		{name: "unknown fields and elements", body: `{"From_Account":"a","To_Account":"b","NewField":{"x":[1]},"MsgBody":[{"MsgType":"TIMFutureElem","MsgContent":{"Z":1}},{"MsgType":"TIMTextElem","MsgContent":{"Text":"t"}}]}`,
			check: func(c C2CMsgCallback) bool {
				return len(c.MsgBody) == 2 && string(c.MsgBody[0].MsgContent) == `{"Z":1}` && c.MsgBody.Text() == "t"
			}},
		{name: "no command", body: `{"From_Account":"a","To_Account":"b"}`, check: func(c C2CMsgCallback) bool { return c.FromAccount == "a" }},
		{name: "MsgSeq overflow", body: `{"From_Account":"a","To_Account":"b","MsgSeq":4294967296}`, bad: true},
		{name: "MsgRandom negative", body: `{"From_Account":"a","To_Account":"b","MsgRandom":-1}`, bad: true},
		{name: "fractional", body: `{"From_Account":"a","To_Account":"b","MsgTime":1.5}`, bad: true},
		{name: "word as number", body: `{"From_Account":"a","To_Account":"b","MsgTime":"soon"}`, bad: true},
		{name: "bool as number", body: `{"From_Account":"a","To_Account":"b","MsgTime":true}`, bad: true},
		{name: "missing From_Account", body: `{"To_Account":"b"}`, bad: true},
		{name: "missing To_Account", body: `{"From_Account":"a"}`, bad: true},
		{name: "other command", body: `{"CallbackCommand":"State.StateChange","From_Account":"a","To_Account":"b"}`, bad: true},
		{name: "not json", body: `From_Account=a`, bad: true},
		{name: "array", body: `[]`, bad: true},
		{name: "null", body: `null`, bad: true},
		{name: "empty", body: ``, bad: true},
		{name: "MsgBody not array", body: `{"From_Account":"a","To_Account":"b","MsgBody":{}}`, bad: true},
		{name: "truncated", body: after[:100], bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeC2CMsg([]byte(tt.body))
			if tt.bad {
				if !errors.Is(err, ErrCallbackBody) {
					t.Fatalf("got %v, want ErrCallbackBody", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("decoded %+v", got)
			}
		})
	}
}

func TestDecodeStateChange(t *testing.T) {
	tests := []struct {
		name string
		body string
		want StateChangeCallback
		bad  bool
	}{
		{name: "login kicked", body: `{"CallbackCommand":"State.StateChange","EventTime":1629883332497,"Info":{"Action":"Login","To_Account":"u_1","Reason":"Register"},"KickedDevice":[{"Platform":"Android"}]}`,
			want: StateChangeCallback{CallbackCommand: CmdStateChange, EventTime: 1629883332497, Info: StateInfo{Action: StateLogin, ToAccount: "u_1", Reason: ReasonRegister}, KickedDevice: []KickedDevice{{Platform: "Android"}}}},
		{name: "string EventTime", body: `{"CallbackCommand":"State.StateChange","EventTime":"1629883332497","Info":{"Action":"Disconnect","To_Account":"u_1","Reason":"TimeOut"},"Extra":1}`,
			want: StateChangeCallback{CallbackCommand: CmdStateChange, EventTime: 1629883332497, Info: StateInfo{Action: StateDisconnect, ToAccount: "u_1", Reason: ReasonTimeOut}}},
		{name: "no info", body: `{"CallbackCommand":"State.StateChange","EventTime":1}`, bad: true},
		{name: "no account", body: `{"Info":{"Action":"Login"}}`, bad: true},
		{name: "wrong command", body: `{"CallbackCommand":"C2C.CallbackAfterSendMsg","Info":{"Action":"Login","To_Account":"u"}}`, bad: true},
		{name: "bad EventTime", body: `{"EventTime":"x","Info":{"Action":"Login","To_Account":"u"}}`, bad: true},
		{name: "bad json", body: `{"Info":`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeStateChange([]byte(tt.body))
			if tt.bad {
				if !errors.Is(err, ErrCallbackBody) {
					t.Fatalf("got %v, want ErrCallbackBody", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestDecodeGroupMsg(t *testing.T) {
	body := `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Public","From_Account":"jared",
"Operator_Account":"admin","Random":2010324946,"MsgSeq":"123","MsgTime":1567652707,"OnlineOnlyFlag":0,
"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"CloudCustomData":"x","EventTime":"1670574414123",
"MsgId":"m-1","TopicId":"t","GroupAtInfo":[{"GroupAtAllFlag":"1","GroupAt_Account":"@all"}],"Unknown":true}`
	got, err := DecodeGroupMsg([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := GroupMsgCallback{
		CallbackCommand: CmdGroupAfterSendMsg, GroupId: "@TGS#2J4SZEAEL", Type: "Public", FromAccount: "jared", OperatorAccount: "admin",
		Random: 2010324946, MsgSeq: 123, MsgTime: 1567652707, MsgBody: MsgBody{{MsgType: MsgTypeText, MsgContent: json.RawMessage(`{"Text":"red packet"}`)}},
		CloudCustomData: "x", EventTime: 1670574414123, MsgId: "m-1", TopicId: "t", GroupAtInfo: []GroupAtInfo{{GroupAtAllFlag: 1, GroupAtAccount: "@all"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{`{}`, `{"GroupId":""}`, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","GroupId":"g"}`, `{"GroupId":"g","Random":"-1"}`, `{"GroupId":"g","MsgSeq":-5}`, `[`} {
		if _, err := DecodeGroupMsg([]byte(bad)); !errors.Is(err, ErrCallbackBody) {
			t.Errorf("%s: got %v", bad, err)
		}
	}
}

func TestCallbackRoundTrip(t *testing.T) {
	// What the emulator marshals, the decoders read back.
	c2c := C2CMsgCallback{CallbackCommand: CmdC2CBeforeSendMsg, FromAccount: "a", ToAccount: "b", MsgSeq: 1, MsgRandom: 2, MsgTime: 3, MsgKey: "1_2_3", MsgBody: MsgBody{TextElem("x")}}
	b, _ := json.Marshal(c2c)
	if got, err := DecodeC2CMsg(b); err != nil || !reflect.DeepEqual(got, c2c) {
		t.Errorf("c2c: %+v %v", got, err)
	}
	st := StateChangeCallback{CallbackCommand: CmdStateChange, EventTime: 5, Info: StateInfo{Action: StateLogout, ToAccount: "u", Reason: ReasonUnregister}}
	b, _ = json.Marshal(st)
	if got, err := DecodeStateChange(b); err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("state: %+v %v", got, err)
	}
}

func TestCallbackResponses(t *testing.T) {
	custom, err := RejectWithCode(120001, "blocked word")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		resp CallbackResponse
		want string
	}{
		{"allow", Allow(), `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`},
		{"allow modified", AllowModified(MsgBody{TextElem("hello (edited)")}, `{"level":3}`),
			`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hello (edited)"}}],"CloudCustomData":"{\"level\":3}"}`},
		{"allow modified body only", AllowModified(MsgBody{TextElem("x")}, ""), `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`},
		{"reject", Reject(), `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}`},
		{"drop", Drop(), `{"ActionStatus":"OK","ErrorCode":2,"ErrorInfo":""}`},
		{"custom", custom, `{"ActionStatus":"OK","ErrorCode":120001,"ErrorInfo":"blocked word"}`},
		{"fail", Fail(), `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"callback handling failed"}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.resp)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	for _, code := range []int{120001, 125000, 130000} {
		if _, err := RejectWithCode(code, ""); err != nil {
			t.Errorf("%d: %v", code, err)
		}
	}
	for _, code := range []int{0, 1, 2, 120000, 130001, -120001} {
		if _, err := RejectWithCode(code, ""); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%d: got %v", code, err)
		}
	}
}
