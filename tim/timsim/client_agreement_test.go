package timsim_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

// These tests drive every tim.Client command against the emulator, so that the client and the
// emulator agree on paths, query, bodies, envelopes and error codes.

func TestClientAccounts(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	c := e.client()
	ctx := t.Context()

	if err := c.ImportAccount(ctx, tim.Account{UserID: "support", Nick: "Support"}); err != nil {
		t.Fatalf("ImportAccount: %v", err)
	}
	if err := c.ImportAccount(ctx, tim.Account{UserID: ""}); !errors.Is(err, tim.ErrInvalidUserID) {
		t.Errorf("ImportAccount(\"\"): got %v, want ErrInvalidUserID before any request", err)
	}
	ids := make([]string, 150) // two multiaccount_import chunks
	for i := range ids {
		ids[i] = fmt.Sprintf("user_%03d", i)
	}
	failed, err := c.ImportAccounts(ctx, append(ids, "bad\x01id"))
	if err != nil || !slices.Equal(failed, []string{"bad\x01id"}) {
		t.Fatalf("ImportAccounts: failed %q, err %v; want the invalid id only", failed, err)
	}
	checked, err := c.CheckAccounts(ctx, append(slices.Clone(ids), "ghost"))
	if err != nil || len(checked) != 151 {
		t.Fatalf("CheckAccounts: %d results, %v", len(checked), err)
	}
	if checked[0].AccountStatus != tim.AccountImported || checked[150].AccountStatus != tim.AccountNotImported {
		t.Errorf("CheckAccounts: got %+v and %+v", checked[0], checked[150])
	}
	deleted, err := c.DeleteAccounts(ctx, []string{"user_000", "ghost"})
	if err != nil || len(deleted) != 2 || deleted[0].ResultCode != 0 || deleted[1].ResultCode != 70107 {
		t.Fatalf("DeleteAccounts: %+v, %v", deleted, err)
	}
	if e.sim.Imported("user_000") {
		t.Error("user_000 still imported after DeleteAccounts")
	}

	e.login("user_001")
	status, err := c.QueryOnlineStatus(ctx, []string{"user_001", "user_002", "ghost"})
	if err != nil || len(status) != 3 {
		t.Fatalf("QueryOnlineStatus: %+v, %v", status, err)
	}
	want := map[string]string{"user_001": tim.StatusOnline, "user_002": tim.StatusOffline, "ghost": ""}
	for _, s := range status {
		if s.Status != want[s.ToAccount] || (s.ToAccount == "ghost") != (s.ErrorCode == 70107) {
			t.Errorf("QueryOnlineStatus %s: got %+v", s.ToAccount, s)
		}
	}
}

func TestClientMessages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ctx := t.Context()
	e.login("support", "alice", "agent")

	// SendMsg, and a resend with the same derived ids is deduplicated.
	req := tim.SendMsgRequest{FromAccount: "support", ToAccount: "alice", MsgBody: tim.MsgBody{tim.TextElem("hello")}, CloudCustomData: "ccd"}
	req.MsgSeq, req.MsgRandom = tim.DeriveMsgIDs("consultation/alice/1")
	first, err := c.SendMsg(ctx, req)
	if err != nil || first.MsgKey == "" || first.MsgTime != e.clock.Now().Unix() || first.MsgId == "" {
		t.Fatalf("SendMsg: %+v, %v", first, err)
	}
	again, err := c.SendMsg(ctx, req)
	if err != nil || again.MsgKey != first.MsgKey {
		t.Fatalf("resend: %+v, %v; want the first MsgKey", again, err)
	}
	if n := len(e.inbox("alice")); n != 1 {
		t.Fatalf("alice got %d messages, want 1", n)
	}
	e.sim.Wait()
	before := e.app.received(tim.CmdC2CBeforeSendMsg)
	if len(before) != 1 {
		t.Fatalf("before-send callbacks: %d, want 1", len(before))
	}
	cb, err := tim.DecodeC2CMsg(before[0].Body)
	if err != nil || cb.MsgSeq != req.MsgSeq || cb.MsgRandom != req.MsgRandom || cb.MsgKey != first.MsgKey || cb.CloudCustomData != "ccd" {
		t.Errorf("callback of the client's send: %+v, %v", cb, err)
	}

	// A relay that the customer must not see, with callbacks suppressed.
	relay := tim.SendMsgRequest{SyncOtherMachine: 2, FromAccount: "alice", ToAccount: "agent", MsgBody: tim.MsgBody{tim.TextElem("relayed")},
		ForbidCallbackControl: []string{tim.ForbidBeforeSendMsgCallback, tim.ForbidAfterSendMsgCallback}}
	relay.MsgSeq, relay.MsgRandom = tim.DeriveMsgIDs("consultation/alice/relay")
	if _, err := c.SendMsg(ctx, relay); err != nil {
		t.Fatal(err)
	}
	e.sim.Wait()
	if n := len(e.app.received(tim.CmdC2CBeforeSendMsg)); n != 1 {
		t.Errorf("ForbidCallbackControl: before-send callbacks %d, want still 1", n)
	}

	// Errors come back typed and classified.
	_, err = c.SendMsg(ctx, tim.SendMsgRequest{ToAccount: "ghost", MsgRandom: 1, MsgBody: tim.MsgBody{tim.TextElem("x")}})
	var apiErr *tim.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 90012 || !tim.IsNotImported(err) || apiErr.Command != tim.CommandSendMsg {
		t.Errorf("SendMsg to ghost: %v", err)
	}
	e.app.answer(tim.CmdC2CBeforeSendMsg, reply{Body: `{"ErrorCode":1}`})
	_, err = c.SendMsg(ctx, tim.SendMsgRequest{FromAccount: "alice", ToAccount: "support", MsgRandom: 5, MsgBody: tim.MsgBody{tim.TextElem("x")}})
	if !errors.As(err, &apiErr) || apiErr.Code != 20006 || !tim.IsPermanent(err) {
		t.Errorf("rejected by the callback: %v, want permanent 20006", err)
	}
	e.app.answer(tim.CmdC2CBeforeSendMsg, reply{})

	// BatchSendMsg: partial success.
	batch, err := c.BatchSendMsg(ctx, tim.BatchSendMsgRequest{FromAccount: "support", ToAccount: []string{"alice", "ghost"}, MsgRandom: 9, MsgBody: tim.MsgBody{tim.TextElem("notice")}})
	if err != nil || batch.MsgKey == "" || len(batch.ErrorList) != 1 || batch.ErrorList[0].ToAccount != "ghost" || batch.ErrorList[0].ErrorCode != 70107 {
		t.Fatalf("BatchSendMsg: %+v, %v", batch, err)
	}
	if _, err := c.BatchSendMsg(ctx, tim.BatchSendMsgRequest{ToAccount: []string{"ghost"}, MsgRandom: 9, MsgBody: tim.MsgBody{tim.TextElem("x")}}); !tim.IsNotImported(err) {
		t.Errorf("BatchSendMsg to nobody imported: %v", err)
	}

	// History, paged by AdminGetRoamMsgAll.
	for i := range 5 {
		e.clock.Advance(time.Second)
		r := tim.SendMsgRequest{FromAccount: "alice", ToAccount: "support", MsgRandom: uint32(100 + i), MsgBody: tim.MsgBody{tim.TextElem(fmt.Sprint("q", i))}}
		if _, err := c.SendMsg(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.AdminGetRoamMsg(ctx, tim.AdminGetRoamMsgRequest{OperatorAccount: "support", PeerAccount: "alice", MaxCnt: 2, MaxTime: e.clock.Now().Unix()})
	if err != nil || page.Complete != 0 || page.MsgCnt != 2 || page.MsgList[1].MsgBody.Text() != "q4" || page.LastMsgKey != page.MsgList[0].MsgKey {
		t.Fatalf("AdminGetRoamMsg first page: %+v, %v", page, err)
	}
	all, err := c.AdminGetRoamMsgAll(ctx, tim.AdminGetRoamMsgRequest{OperatorAccount: "support", PeerAccount: "alice", MaxCnt: 2, MaxTime: e.clock.Now().Unix()})
	if err != nil || len(all) != 7 { // hello, batch notice, q0..q4
		t.Fatalf("AdminGetRoamMsgAll: %d messages, %v", len(all), err)
	}
	// Pages come newest first, each page oldest first (as Tencent's doc example shows).
	var texts []string
	for _, m := range all {
		texts = append(texts, m.MsgBody.Text())
	}
	if got := fmt.Sprint(texts); got != "[q3 q4 q1 q2 notice q0 hello]" {
		t.Errorf("history in server order: %s", got)
	}
	agentView, err := c.AdminGetRoamMsgAll(ctx, tim.AdminGetRoamMsgRequest{OperatorAccount: "alice", PeerAccount: "agent", MaxTime: e.clock.Now().Unix()})
	if err != nil || len(agentView) != 0 {
		t.Errorf("alice's view of the SyncOtherMachine 2 relay: %+v, %v; want nothing", agentView, err)
	}

	// Recall.
	if err := c.AdminMsgWithdraw(ctx, tim.AdminMsgWithdrawRequest{FromAccount: "support", ToAccount: "alice", MsgKey: first.MsgKey}); err != nil {
		t.Fatalf("AdminMsgWithdraw: %v", err)
	}
	err = c.AdminMsgWithdraw(ctx, tim.AdminMsgWithdrawRequest{FromAccount: "support", ToAccount: "alice", MsgKey: first.MsgKey})
	if !errors.As(err, &apiErr) || apiErr.Code != 20023 {
		t.Errorf("second recall: %v, want 20023", err)
	}
	err = c.AdminMsgWithdraw(ctx, tim.AdminMsgWithdrawRequest{FromAccount: "support", ToAccount: "alice", MsgKey: "1_1_1"})
	if !errors.As(err, &apiErr) || apiErr.Code != 20022 {
		t.Errorf("recall of an unknown key: %v, want 20022", err)
	}
}

func TestClientGroupMsg(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.login("alice", "bob")
	if err := e.sim.CreateGroup("room", "Work", "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	req := tim.SendGroupMsgRequest{GroupId: "room", Random: 77, FromAccount: "alice", MsgBody: tim.MsgBody{tim.TextElem("standup")}}
	resp, err := c.SendGroupMsg(t.Context(), req)
	if err != nil || resp.MsgSeq != 1 || resp.MsgTime != e.clock.Now().Unix() {
		t.Fatalf("SendGroupMsg: %+v, %v", resp, err)
	}
	if in := e.inbox("bob"); len(in) != 1 || in[0].GroupID != "room" || in[0].Text != "standup" {
		t.Errorf("bob's group message: %+v", in)
	}
	req.GroupId = "nope"
	_, err = c.SendGroupMsg(t.Context(), req)
	var apiErr *tim.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 10010 || !tim.IsPermanent(err) {
		t.Errorf("unknown group: %v, want permanent 10010", err)
	}
}

func TestClientReSignsOnceOnAuthErrors(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	c := e.client()
	// The first answer says "UserSig expired": the client mints a new admin sig and resends once.
	e.sim.SetFaults(timsim.Fault{Command: "account_check", ErrorCode: 70001, Times: 1})
	if _, err := c.CheckAccounts(t.Context(), []string{testAdmin}); err != nil {
		t.Fatalf("after one 70001: %v, want success on the re-signed resend", err)
	}
	// Twice in a row: the client gives up with the auth error.
	e.sim.SetFaults(timsim.Fault{Command: "account_check", ErrorCode: 70001, Times: 2})
	if _, err := c.CheckAccounts(t.Context(), []string{testAdmin}); !tim.IsResign(err) {
		t.Errorf("after two 70001: got %v, want a re-sign error", err)
	}
	// A client with the wrong key is refused by the real check, not by a fault.
	cfg := tim.DefaultConfig(testAppID, "wrong-key", testAdmin)
	cfg.BaseURL, cfg.Now = e.srv.URL, e.clock.Now
	var apiErr *tim.APIError
	if _, err := tim.NewClient(cfg).CheckAccounts(t.Context(), []string{testAdmin}); !errors.As(err, &apiErr) || apiErr.Code != 70009 {
		t.Errorf("wrong key: got %v, want 70009", err)
	}
	cfg = tim.DefaultConfig(testAppID, testKey, "bob")
	cfg.BaseURL, cfg.Now = e.srv.URL, e.clock.Now
	if _, err := tim.NewClient(cfg).CheckAccounts(t.Context(), []string{testAdmin}); !errors.As(err, &apiErr) || apiErr.Code != 70403 || !tim.IsPermanent(err) {
		t.Errorf("non-admin identifier: got %v, want permanent 70403", err)
	}
}
