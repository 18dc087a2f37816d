package tim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
