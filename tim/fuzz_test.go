package tim

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary user ids, tokens and times to Verify: it must never panic, and
// every failure must wrap one of the sentinel errors.
func FuzzVerify(f *testing.F) {
	s := NewSigner(testAppID, testKey)
	for _, v := range fullTokenVectors {
		f.Add(v.identifier, v.token, v.time+60)
	}
	good, _ := s.SignAt("alice", time.Unix(1700000000, 0), time.Hour)
	f.Add("alice", good, int64(1700000000))
	f.Add("alice", good[:len(good)/2], int64(1700000000))
	f.Add("", "", int64(0))
	f.Add("a", "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwjDB", int64(-1))
	f.Add("a", "eAEBAAD__wAAAAE_", int64(1))
	f.Add("alice", `{"TLS.ver":"2.0","TLS.identifier":"alice","TLS.sdkappid":1400000000,"TLS.expire":3600,"TLS.time":1700000000,"TLS.sig":"`+docSig("alice", 1700000000, 3600)+`"}`, int64(1700000000))
	sentinels := []error{ErrExpired, ErrWrongApp, ErrWrongIdentifier, ErrBadSignature, ErrMalformed, ErrInvalidUserID}
	check := func(t *testing.T, userID, token string, now int64) {
		err := s.Verify(userID, token, time.Unix(now, 0))
		if err == nil {
			return
		}
		for _, sentinel := range sentinels {
			if errors.Is(err, sentinel) {
				return
			}
		}
		t.Fatalf("Verify(%q, %q): error %v wraps no sentinel", userID, token, err)
	}
	f.Fuzz(func(t *testing.T, userID, token string, now int64) {
		check(t, userID, token, now)
		// The same bytes as an inflated token document, so the fuzzer also reaches the JSON
		// parsing and field checks behind base64 and zlib.
		check(t, userID, tokenEncoding.EncodeToString(zlibStored(nil, []byte(token))), now)
	})
}

// FuzzDecodeCallback feeds arbitrary bodies to every callback decoder and arbitrary query
// strings to VerifyCallback: no panics, and errors wrap the package's sentinels.
func FuzzDecodeCallback(f *testing.F) {
	f.Add([]byte(`{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"u_1","To_Account":"u_2","MsgSeq":48374,"MsgRandom":2837546,"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126","OnlineOnlyFlag":0,"SendMsgResult":0,"ErrorInfo":"send msg succeed","UnreadMsgNum":7,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],"CloudCustomData":""}`),
		"SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&contenttype=json&ClientIP=1.2.3.4&OptPlatform=Web&RequestTime=1669872112&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061")
	f.Add([]byte(`{"CallbackCommand":"State.StateChange","EventTime":"1629883332497","Info":{"Action":"Login","To_Account":"u_1","Reason":"Register"},"KickedDevice":[{"Platform":"Android"}]}`),
		"SdkAppid=1400000000&CallbackCommand=State.StateChange")
	f.Add([]byte(`{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g","Random":"1","MsgSeq":"2","EventTime":"1670574414123","GroupAtInfo":[{"GroupAtAllFlag":"1"}]}`),
		"SdkAppid=x&RequestTime=1e3")
	f.Add([]byte(`{"MsgSeq":1e99,"MsgTime":-1e400}`), "%zz")
	f.Add([]byte(`null`), "")
	// Issue 15's inputs: non-ASCII, over-long, control-character and invalid UTF-8 accounts, times
	// past year 9999, security parameters given twice.
	for _, from := range []string{`"客户_王"`, `"ユーザー"`, `"عميل"`, `"😺😺😺😺😺😺😺😺"`, `"` + strings.Repeat("a", 33) + `"`, `""`, `"a\u0001"`, `"a\ud800"`, "\"a\xff\""} {
		f.Add([]byte(`{"From_Account":`+from+`,"To_Account":"support","MsgTime":1557481126,"MsgKey":"1_2_3"}`), "SdkAppid=1400000000&SdkAppid=1400000001")
		f.Add([]byte(`{"EventTime":1629883332497,"Info":{"Action":"Login","To_Account":`+from+`}}`), "Sign=a&Sign=b")
	}
	f.Add([]byte(`{"From_Account":"a","To_Account":"b","MsgTime":253402300800}`), "RequestTime=1&RequestTime=2")
	f.Add([]byte(`{"GroupId":"g","From_Account":"a","EventTime":253402300800000}`), "CallbackCommand=a&CallbackCommand=b")
	now := time.Unix(1669872112, 0)
	f.Fuzz(func(t *testing.T, body []byte, rawQuery string) {
		for name, decode := range map[string]func([]byte) error{
			"c2c": func(b []byte) error {
				m, err := DecodeC2CMsg(b)
				if err == nil && (ValidateUserID(m.FromAccount) != nil || ValidateUserID(m.ToAccount) != nil ||
					m.MsgTime < 0 || m.MsgTime > maxUnixSeconds) {
					t.Fatalf("accepted a callback with a bad account or time: %+v", m)
				}
				return err
			},
			"state": func(b []byte) error { _, err := DecodeStateChange(b); return err },
			"group": func(b []byte) error { _, err := DecodeGroupMsg(b); return err },
		} {
			if err := decode(body); err != nil && !errors.Is(err, ErrCallbackBody) {
				t.Fatalf("%s: %v does not wrap ErrCallbackBody", name, err)
			}
		}
		query, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		for _, token := range []string{"", "xxxxyyyy"} {
			_, err := VerifyCallback(query, now, CallbackAuth{SDKAppID: 1400000000, Token: token})
			if err != nil && !errors.Is(err, ErrCallbackQuery) && !errors.Is(err, ErrCallbackAppID) &&
				!errors.Is(err, ErrCallbackSign) && !errors.Is(err, ErrCallbackStale) {
				t.Fatalf("VerifyCallback(%q): %v wraps no sentinel", rawQuery, err)
			}
		}
	})
}
