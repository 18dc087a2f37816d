package timsim_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

// A test starts the emulator on a loopback port and points a tim.Client at it; simulated
// clients log in and read their messages through the Go API (or the /sim/ HTTP API).
func Example() {
	sim := timsim.New(timsim.Options{SDKAppID: 1400000000, SecretKey: "dev-secret", Accounts: []string{"support"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer func() { _ = sim.Close() }()

	ctx := context.Background()
	_ = sim.Login(ctx, "alice", "")

	cfg := tim.DefaultConfig(1400000000, "dev-secret", "administrator")
	cfg.BaseURL = srv.URL
	client := tim.NewClient(cfg)
	req := tim.SendMsgRequest{FromAccount: "support", ToAccount: "alice", MsgBody: tim.MsgBody{tim.TextElem("Hello from support")}}
	req.MsgSeq, req.MsgRandom = tim.DeriveMsgIDs("example/1")
	if _, err := client.SendMsg(ctx, req); err != nil {
		fmt.Println("send:", err)
		return
	}
	for _, m := range sim.Messages("alice") {
		fmt.Printf("%s → %s: %s\n", m.From, m.To, m.Text)
	}
	// Output: support → alice: Hello from support
}
