package tim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// Example mints and verifies a user's UserSig, then sends one C2C message as a service account
// through the REST client (here against a local fake of the IM server).
func Example() {
	const sdkAppID = 1400000000
	const secret = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	now := time.Unix(1700000000, 0)

	// UserSig for a frontend login, valid 24 h.
	signer := tim.NewSigner(sdkAppID, secret)
	userSig, err := signer.SignAt("u_42", now, 24*time.Hour)
	if err != nil {
		fmt.Println("sign:", err)
		return
	}
	fmt.Println("verify now:", signer.Verify("u_42", userSig, now.Add(time.Hour)))
	fmt.Println("verify in 2 days:", signer.Verify("u_42", userSig, now.Add(48*time.Hour)))

	// A stand-in for https://console.tim.qq.com.
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req tim.SendMsgRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		_ = json.NewEncoder(w).Encode(tim.SendMsgResponse{
			Envelope: tim.OKEnvelope(),
			MsgTime:  now.Unix(),
			MsgKey:   fmt.Sprintf("%d_%d_%d", req.MsgSeq, req.MsgRandom, now.Unix()),
		})
	}))
	defer fake.Close()

	cfg := tim.DefaultConfig(sdkAppID, secret, "administrator")
	fmt.Println(cfg) // the secret never shows
	cfg.BaseURL = fake.URL
	client := tim.NewClient(cfg)

	seq, random := tim.DeriveMsgIDs("consultation/u_42/step-1") // same key → same ids on a resend
	resp, err := client.SendMsg(context.Background(), tim.SendMsgRequest{
		FromAccount: "support",
		ToAccount:   "u_42",
		MsgSeq:      seq,
		MsgRandom:   random,
		MsgBody:     tim.MsgBody{tim.TextElem("Hello! How can we help?")},
	})
	if err != nil {
		fmt.Println("sendmsg:", err, "retryable:", tim.IsRetryable(err))
		return
	}
	fmt.Println("sent, MsgKey has", len(resp.MsgKey) > 0, "at", resp.MsgTime)
	// Output:
	// verify now: <nil>
	// verify in 2 days: verify usersig: usersig expired
	// tim.Config{BaseURL:"https://console.tim.qq.com" SDKAppID:1400000000 Admin:"administrator" SecretKey:[redacted]}
	// sent, MsgKey has true at 1700000000
}

// ExampleVerifyCallback authenticates a webhook query, decodes the body and answers it.
func ExampleVerifyCallback() {
	const token = "xxxxyyyy"
	now := time.Unix(1669872112, 0)
	query, _ := url.ParseQuery("SdkAppid=1400000000&CallbackCommand=C2C.CallbackBeforeSendMsg&contenttype=json" +
		"&ClientIP=1.2.3.4&OptPlatform=Web&RequestTime=1669872112&Sign=" + tim.CallbackSign(token, 1669872112))
	body := []byte(`{"CallbackCommand":"C2C.CallbackBeforeSendMsg","From_Account":"u_1","To_Account":"support",
		"MsgSeq":"48374","MsgRandom":2837546,"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126",
		"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}`)

	q, err := tim.VerifyCallback(query, now, tim.CallbackAuth{SDKAppID: 1400000000, Token: token})
	if err != nil {
		fmt.Println("reject request:", err)
		return
	}
	msg, err := tim.DecodeC2CMsg(body)
	if err != nil {
		fmt.Println("bad body:", err)
		return
	}
	fmt.Println(q.Command, msg.FromAccount, "→", msg.ToAccount, msg.MsgSeq, msg.MsgBody.Text())
	answer, _ := json.Marshal(tim.Allow())
	fmt.Println(string(answer))

	_, err = tim.VerifyCallback(query, now.Add(2*time.Minute), tim.CallbackAuth{SDKAppID: 1400000000, Token: token})
	fmt.Println(errors.Is(err, tim.ErrCallbackStale))
	// Output:
	// C2C.CallbackBeforeSendMsg u_1 → support 48374 hi
	// {"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}
	// true
}
