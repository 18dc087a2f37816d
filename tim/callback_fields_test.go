package tim

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// c2cBody is a before-send callback body with From_Account, To_Account, MsgKey and MsgTime set
// from the arguments (raw JSON values, so a test can send any bytes).
func c2cBody(from, to, key, msgTime string) string {
	return fmt.Sprintf(`{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":%s,"To_Account":%s,
 "MsgSeq":1,"MsgRandom":2,"MsgTime":%s,"MsgKey":%s,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}`,
		from, to, msgTime, key)
}

// withMsgBody is a valid before-send body with MsgBody replaced by raw JSON.
func withMsgBody(raw string) string {
	return strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1557481126"),
		`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]`, raw, 1)
}

func TestDecodeC2CMsgFields(t *testing.T) {
	long := `"` + strings.Repeat("a", 33) + `"`
	tests := []struct {
		name      string
		body      string
		wantField string // "" = accepted
	}{
		{"ascii", c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1557481126"), ""},
		{"chinese customer", c2cBody(`"客户_王"`, `"support"`, `"1_2_3"`, "1557481126"), ""},
		{"32-byte emoji id", c2cBody(`"`+strings.Repeat("😺", 8)+`"`, `"support"`, `"1_2_3"`, "1557481126"), ""},
		{"empty from", c2cBody(`""`, `"support"`, `"1_2_3"`, "1557481126"), "From_Account"},
		{"missing to", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"To_Account":"support",`, "", 1), "To_Account"},
		{"33-byte from", c2cBody(long, `"support"`, `"1_2_3"`, "1557481126"), "From_Account"},
		{"33-byte to (11 CJK chars)", c2cBody(`"alice"`, `"`+strings.Repeat("王", 11)+`"`, `"1_2_3"`, "1557481126"), "To_Account"},
		{"invalid utf-8 from", c2cBody(`"a\ud800b"`, `"support"`, `"1_2_3"`, "1557481126"), "From_Account"},
		{"control char to", c2cBody(`"alice"`, `"sup\u0007port"`, `"1_2_3"`, "1557481126"), "To_Account"},
		{"newline from", c2cBody(`"ali\nce"`, `"support"`, `"1_2_3"`, "1557481126"), "From_Account"},
		{"msgtime past 9999", c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "253402300800"), "MsgTime"},
		{"msgtime negative", c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "-1"), "MsgTime"},
		{"msgtime as string past 9999", c2cBody(`"alice"`, `"support"`, `"1_2_3"`, `"999999999999"`), "MsgTime"},
		{"msgtime last second of 9999", c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "253402300799"), ""},
		{"msgkey too long", c2cBody(`"alice"`, `"support"`, `"`+strings.Repeat("1", 129)+`"`, "1"), "MsgKey"},
		{"msgkey not ascii", c2cBody(`"alice"`, `"support"`, `"键"`, "1"), "MsgKey"},
		{"eventtime out of range", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"MsgSeq"`, `"EventTime":99999999999999999,"MsgSeq"`, 1), "EventTime"},
		// MsgBody elements Tencent never sends and cannot deliver (an image without content was
		// handed to an agent, whose relay then failed for good).
		{"image with null content", withMsgBody(`[{"MsgType":"TIMImageElem","MsgContent":null}]`), "MsgBody[0].MsgContent"},
		{"image with number content", withMsgBody(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"a"}},{"MsgType":"TIMImageElem","MsgContent":1}]`), "MsgBody[1].MsgContent"},
		{"image without content", withMsgBody(`[{"MsgType":"TIMImageElem"}]`), "MsgBody[0].MsgContent"},
		{"text content a string", withMsgBody(`[{"MsgType":"TIMTextElem","MsgContent":"hi"}]`), "MsgBody[0].MsgContent"},
		{"text without Text", withMsgBody(`[{"MsgType":"TIMTextElem","MsgContent":{}}]`), "MsgBody[0].MsgContent.Text"},
		{"text with number Text", withMsgBody(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":5}}]`), "MsgBody[0].MsgContent.Text"},
		{"empty MsgType", withMsgBody(`[{"MsgType":"","MsgContent":{}}]`), "MsgBody[0].MsgType"},
		{"null element", withMsgBody(`[null]`), "MsgBody[0].MsgType"},
		// A key twice, or in other letter case: encoding/json reads it (the last one wins), a strict
		// reader does not, so the two would act on different accounts.
		{"From_Account twice", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"From_Account"`, `"From_Account":"agent_li","From_Account"`, 1), "From_Account"},
		{"FROM_ACCOUNT after From_Account", strings.Replace(c2cBody(`"agent_li"`, `"support"`, `"1_2_3"`, "1"), `"To_Account"`, `"FROM_ACCOUNT":"alice","To_Account"`, 1), "From_Account"},
		{"from_account only", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"From_Account"`, `"from_account"`, 1), "From_Account"},
		{"MsgKey with a long s", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"MsgKey"`, `"MſgKey"`, 1), "MsgKey"},
		{"MsgTime twice", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"MsgSeq"`, `"MsgTime":2,"MsgSeq"`, 1), "MsgTime"},
		{"Text twice", withMsgBody(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi","text":"bye"}}]`), "MsgBody[0].MsgContent.Text"},
		{"unknown key twice", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"MsgSeq"`, `"Zed":1,"zed":2,"MsgSeq"`, 1), "<other key>"},
		{"other letter case inside MsgContent passes", withMsgBody(`[{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d","type":"x","Url":"u"}}]`), ""},
		{"unknown element type passes", withMsgBody(`[{"MsgType":"TIMFutureElem","MsgContent":{"Z":1}}]`), ""},
		{"empty body passes", withMsgBody(`[]`), ""},
		{"image with content passes", withMsgBody(`[{"MsgType":"TIMImageElem","MsgContent":{"UUID":"u","ImageFormat":1}}]`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeC2CMsg([]byte(tt.body))
			checkFieldError(t, err, tt.wantField)
		})
	}
}

func checkFieldError(t *testing.T, err error, wantField string) {
	t.Helper()
	if wantField == "" {
		if err != nil {
			t.Fatalf("got %v, want accepted", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != wantField || !errors.Is(err, ErrCallbackBody) {
		t.Fatalf("got %v, want a FieldError for %s wrapping ErrCallbackBody", err, wantField)
	}
	if !strings.Contains(err.Error(), wantField) {
		t.Fatalf("error %q does not name %s", err, wantField)
	}
}

func TestDecodeStateChangeFields(t *testing.T) {
	body := func(action, to, eventTime string) string {
		return fmt.Sprintf(`{"CallbackCommand":"State.StateChange","EventTime":%s,"Info":{"Action":%s,"To_Account":%s,"Reason":"Register"}}`, eventTime, action, to)
	}
	tests := []struct {
		name, body, wantField string
	}{
		{"login", body(`"Login"`, `"agent_emma"`, "1669872112000"), ""},
		{"arabic agent", body(`"Login"`, `"عميل"`, "1669872112000"), ""},
		{"no action", body(`""`, `"agent_emma"`, "1"), "Info.Action"},
		{"no account", body(`"Login"`, `""`, "1"), "Info.To_Account"},
		{"long account", body(`"Login"`, `"`+strings.Repeat("x", 40)+`"`, "1"), "Info.To_Account"},
		{"event time past 9999", body(`"Login"`, `"agent_emma"`, "253402300800000"), "EventTime"},
		{"Info twice", strings.Replace(body(`"Login"`, `"agent_emma"`, "1"), `"Info"`, `"Info":{"Action":"Logout","To_Account":"agent_li"},"Info"`, 1), "Info"},
		{"Info.To_Account twice", strings.Replace(body(`"Login"`, `"agent_emma"`, "1"), `"To_Account"`, `"to_account":"agent_li","To_Account"`, 1), "Info.To_Account"},
		{"info in lower case", strings.Replace(body(`"Login"`, `"agent_emma"`, "1"), `"Info"`, `"info"`, 1), "Info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeStateChange([]byte(tt.body))
			checkFieldError(t, err, tt.wantField)
		})
	}
}

func TestDecodeGroupMsgFields(t *testing.T) {
	body := func(group, from, op, msgTime string) string {
		return fmt.Sprintf(`{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":%s,"Type":"Public","From_Account":%s,
 "Operator_Account":%s,"Random":1,"MsgSeq":2,"MsgTime":%s,"MsgBody":[]}`, group, from, op, msgTime)
	}
	withAt := func(mentions string) string {
		return strings.Replace(body(`"g"`, `"alice"`, `""`, "1"), `"MsgBody"`, `"GroupAtInfo":[`+mentions+`],"MsgBody"`, 1)
	}
	tests := []struct {
		name, body, wantField string
	}{
		{"ok", body(`"@TGS#1"`, `"alice"`, `"alice"`, "1557481126"), ""},
		{"no operator", body(`"@TGS#1"`, `"alice"`, `""`, "1557481126"), ""},
		{"no group", body(`""`, `"alice"`, `"alice"`, "1"), "GroupId"},
		{"group id too long", body(`"`+strings.Repeat("g", 49)+`"`, `"alice"`, `"alice"`, "1"), "GroupId"},
		{"bad from", body(`"g"`, `"a\u0000"`, `""`, "1"), "From_Account"},
		{"bad operator", body(`"g"`, `"alice"`, `"`+strings.Repeat("o", 33)+`"`, "1"), "Operator_Account"},
		{"msgtime past 9999", body(`"g"`, `"alice"`, `""`, "253402300800"), "MsgTime"},
		{"mentions", withAt(`{"GroupAtAllFlag":1},{"GroupAtAllFlag":0,"GroupAt_Account":"客户_王"}`), ""},
		{"mention too long", withAt(`{"GroupAtAllFlag":0,"GroupAt_Account":"bob"},{"GroupAtAllFlag":0,"GroupAt_Account":"` + strings.Repeat("王", 11) + `"}`), "GroupAtInfo[1].GroupAt_Account"},
		{"mention with a control character", withAt(`{"GroupAtAllFlag":0,"GroupAt_Account":"b\nob"}`), "GroupAtInfo[0].GroupAt_Account"},
		{"GroupId in lower case", strings.Replace(body(`"g"`, `"alice"`, `""`, "1"), `"GroupId"`, `"groupid"`, 1), "GroupId"},
		{"mention account twice", withAt(`{"GroupAtAllFlag":0,"GroupAt_Account":"bob","GroupAt_Account":"carol"}`), "GroupAtInfo[0].GroupAt_Account"},
		{"mention not UTF-8", withAt(`{"GroupAtAllFlag":0,"GroupAt_Account":"b\udc00"}`), "GroupAtInfo[0].GroupAt_Account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeGroupMsg([]byte(tt.body))
			checkFieldError(t, err, tt.wantField)
		})
	}
}

func TestVerifyCallbackRepeatedParams(t *testing.T) {
	const token, app = "xxxxyyyy", 1400000000
	now := time.Unix(1669872112, 0)
	base := func() url.Values {
		return url.Values{
			"SdkAppid": {"1400000000"}, "CallbackCommand": {CmdC2CBeforeSendMsg}, "contenttype": {"json"},
			"RequestTime": {fmt.Sprint(now.Unix())}, "Sign": {CallbackSign(token, now.Unix())},
		}
	}
	if _, err := VerifyCallback(base(), now, CallbackAuth{app, token}); err != nil {
		t.Fatalf("base query refused: %v", err)
	}
	for _, name := range []string{"SdkAppid", "CallbackCommand", "contenttype", "Sign", "RequestTime"} {
		q := base()
		q.Add(name, q.Get(name)) // even the same value twice is refused
		_, err := VerifyCallback(q, now, CallbackAuth{app, token})
		if !errors.Is(err, ErrCallbackQuery) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s twice: got %v, want ErrCallbackQuery naming %s", name, err, name)
		}
	}
	// Another letter case of a security parameter (a case-folding proxy reads it as the real one),
	// and non-canonical numbers that parse to the signed time or our app.
	rt := fmt.Sprint(now.Unix())
	for _, tt := range []struct{ name, add, set, value, want string }{
		{name: "sdkappid", add: "sdkappid", value: "1400000999", want: "SdkAppid also given"},
		{name: "SIGN", add: "SIGN", value: "00", want: "Sign also given"},
		{name: "callbackcommand", add: "callbackcommand", value: CmdStateChange, want: "CallbackCommand also given"},
		{name: "requesttime", add: "requesttime", value: "1", want: "RequestTime also given"},
		{name: "ContentType", add: "ContentType", value: "xml", want: "contenttype also given"},
		{name: "RequestTime with plus", set: "RequestTime", value: "+" + rt, want: "RequestTime not a decimal"},
		{name: "RequestTime with leading zero", set: "RequestTime", value: "0" + rt, want: "RequestTime not a decimal"},
		{name: "SdkAppid with leading zero", set: "SdkAppid", value: "01400000000", want: "SdkAppid not a decimal"},
	} {
		q := base()
		if tt.add != "" {
			q.Add(tt.add, tt.value)
		} else {
			q.Set(tt.set, tt.value)
		}
		_, err := VerifyCallback(q, now, CallbackAuth{app, token})
		if !errors.Is(err, ErrCallbackQuery) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want ErrCallbackQuery saying %q", tt.name, err, tt.want)
		}
	}
	q := base()
	q.Add("ClientIP", "1.2.3.4")
	q.Add("ClientIP", "5.6.7.8")
	if _, err := VerifyCallback(q, now, CallbackAuth{app, token}); err != nil {
		t.Errorf("ClientIP twice (informational) refused: %v", err)
	}
}

func TestDecodeRefusesInvalidUTF8Body(t *testing.T) {
	body := c2cBody("\"a\xffb\"", `"support"`, `"1_2_3"`, "1")
	if _, err := DecodeC2CMsg([]byte(body)); !errors.Is(err, ErrCallbackBody) || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("raw invalid UTF-8: got %v, want ErrCallbackBody naming UTF-8", err)
	}
	if _, err := DecodeStateChange([]byte("{\"Info\":{\"Action\":\"Login\",\"To_Account\":\"\xfe\"}}")); !errors.Is(err, ErrCallbackBody) {
		t.Errorf("state change: got %v, want ErrCallbackBody", err)
	}
	if _, err := DecodeGroupMsg([]byte("{\"GroupId\":\"\xc0\"}")); !errors.Is(err, ErrCallbackBody) {
		t.Errorf("group: got %v, want ErrCallbackBody", err)
	}
}

func TestStateChangeCheckNotAhead(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		at      int64
		refused bool
	}{
		{"no EventTime", 0, false},
		{"an hour ago", now.Add(-time.Hour).UnixMilli(), false},
		{"exactly the allowed skew ahead", now.Add(MaxEventTimeSkew).UnixMilli(), false},
		{"a millisecond beyond the skew", now.Add(MaxEventTimeSkew).UnixMilli() + 1, true},
		{"year 9999", maxUnixMillis, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := StateChangeCallback{EventTime: tt.at}.CheckNotAhead(now)
			var fe *FieldError
			switch {
			case !tt.refused && err != nil:
				t.Errorf("refused: %v", err)
			case tt.refused && (!errors.As(err, &fe) || fe.Field != "EventTime" || !errors.Is(err, ErrCallbackBody)):
				t.Errorf("err = %v, want a FieldError naming EventTime", err)
			}
		})
	}
}

func TestC2CCheckNotAhead(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		at      int64
		refused bool
	}{
		{"no MsgTime", 0, false},
		{"a week ago", now.AddDate(0, 0, -7).Unix(), false},
		{"exactly the allowed skew ahead", now.Add(MaxEventTimeSkew).Unix(), false},
		{"a second beyond the skew", now.Add(MaxEventTimeSkew).Unix() + 1, true},
		{"next year", now.AddDate(1, 0, 0).Unix(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := C2CMsgCallback{MsgTime: tt.at}.CheckNotAhead(now)
			var fe *FieldError
			switch {
			case !tt.refused && err != nil:
				t.Errorf("refused: %v", err)
			case tt.refused && (!errors.As(err, &fe) || fe.Field != "MsgTime" || !errors.Is(err, ErrCallbackBody)):
				t.Errorf("err = %v, want a FieldError naming MsgTime", err)
			}
		})
	}
}

// TestDecodeNamesTheProblem: a body that does not decode names its field and the kind of value it
// got, or says what is wrong with the body (empty, not JSON, not an object), never quoting a value.
func TestDecodeNamesTheProblem(t *testing.T) {
	c2c := func(key, raw string) string {
		return strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1557481126"), `"MsgSeq":1`, `"MsgSeq":1,"`+key+`":`+raw, 1)
	}
	set := func(key, raw string) string { // replaces an existing field's value
		b := c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1557481126")
		i := strings.Index(b, `"`+key+`":`) + len(key) + 3
		j := i + strings.IndexAny(b[i:], ",}")
		return b[:i] + raw + b[j:]
	}
	state := `{"CallbackCommand":"State.StateChange","EventTime":1,"Info":{"Action":"Login","To_Account":"agent_emma"}}`
	tests := []struct {
		name, decoder, body, wantField, wantProblem string
	}{
		{"From_Account a number", "c2c", set("From_Account", "12345"), "From_Account", "not a string (got number)"},
		{"To_Account an object", "c2c", set("To_Account", `{"a":1}`), "To_Account", "not a string (got object)"},
		{"MsgSeq negative", "c2c", set("MsgSeq", "-1"), "MsgSeq", "not an integer 0-4294967295"},
		{"MsgSeq 2^32", "c2c", set("MsgSeq", "4294967296"), "MsgSeq", "not an integer 0-4294967295 (number or numeric string) (got number)"},
		{"MsgSeq 1e400", "c2c", set("MsgSeq", "1e400"), "MsgSeq", "(got number)"},
		{"MsgRandom a bool", "c2c", set("MsgRandom", "false"), "MsgRandom", "(got bool)"},
		{"MsgTime a word", "c2c", set("MsgTime", `"soon"`), "MsgTime", "not an integer (number or numeric string) (got string)"},
		{"MsgTime 2^63", "c2c", set("MsgTime", "9223372036854775808"), "MsgTime", "not an integer"},
		{"OnlineOnlyFlag a word", "c2c", c2c("OnlineOnlyFlag", `"x"`), "OnlineOnlyFlag", "(got string)"},
		{"MsgKey a number", "c2c", set("MsgKey", "12"), "MsgKey", "not a string (got number)"},
		{"CloudCustomData an object", "c2c", c2c("CloudCustomData", `{"a":1}`), "CloudCustomData", "not a string (got object)"},
		{"MsgBody an object", "c2c", withMsgBody(`{"MsgType":"TIMTextElem"}`), "MsgBody", "not an array (got object)"},
		{"MsgBody element a number", "c2c", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"MsgBody":[`, `"MsgBody":[1,`, 1), "MsgBody", "not an object (got number)"},
		{"MsgType a number", "c2c", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), `"MsgType":"TIMTextElem"`, `"MsgType":1`, 1), "MsgBody.MsgType", "not a string (got number)"},
		{"command of another callback", "c2c", strings.Replace(c2cBody(`"alice"`, `"support"`, `"1_2_3"`, "1"), "C2C.CallbackBeforeSendMsg", "State.StateChange", 1), "CallbackCommand", "another command"},
		{"empty body", "c2c", " \n", "body", "empty"},
		{"array body", "c2c", "[]", "body", "not a JSON object (got array)"},
		{"string body", "c2c", `"x"`, "body", "not a JSON object (got string)"},
		{"byte order mark", "c2c", "\ufeff{}", "body", "not valid JSON (at byte 1)"},
		{"truncated", "c2c", `{"From_Account":"a"`, "body", "not valid JSON"},
		{"Info an array", "state", `{"Info":[]}`, "Info", "not an object (got array)"},
		{"Action a number", "state", strings.Replace(state, `"Login"`, "1", 1), "Info.Action", "not a string (got number)"},
		{"EventTime 1e30", "state", strings.Replace(state, `"EventTime":1`, `"EventTime":1e30`, 1), "EventTime", "not an integer"},
		{"KickedDevice a string", "state", strings.Replace(state, `"EventTime"`, `"KickedDevice":"x","EventTime"`, 1), "KickedDevice", "not an array (got string)"},
		{"group MsgSeq 2^64", "group", `{"GroupId":"g","MsgSeq":18446744073709551616}`, "MsgSeq", "not a non-negative integer"},
		{"GroupAtInfo an object", "group", `{"GroupId":"g","GroupAtInfo":{}}`, "GroupAtInfo", "not an array (got object)"},
	}
	decoders := map[string]func([]byte) error{
		"c2c":   func(b []byte) error { _, err := DecodeC2CMsg(b); return err },
		"state": func(b []byte) error { _, err := DecodeStateChange(b); return err },
		"group": func(b []byte) error { _, err := DecodeGroupMsg(b); return err },
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decoders[tt.decoder]([]byte(tt.body))
			checkFieldError(t, err, tt.wantField)
			if !strings.Contains(err.Error(), tt.wantProblem) {
				t.Errorf("error %q does not say %q", err, tt.wantProblem)
			}
			for _, v := range []string{"12345", "4294967296", "1e400", "soon", "1e30", "18446744073709551616", "State.StateChange"} {
				if strings.Contains(tt.body, v) && strings.Contains(err.Error(), v) {
					t.Errorf("error %q quotes the value %s", err, v)
				}
			}
		})
	}
}
