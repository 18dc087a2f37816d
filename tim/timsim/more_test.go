package timsim_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

func TestConcurrentDuplicatesDeliverOnce(t *testing.T) {
	e := newEnv(t)
	e.login("alice", "bob")
	e.app.answer(tim.CmdC2CBeforeSendMsg, reply{Delay: 150 * time.Millisecond})
	var wg sync.WaitGroup
	keys := make([]string, 4)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.client().SendMsg(context.Background(), tim.SendMsgRequest{
				FromAccount: "alice", ToAccount: "bob", MsgSeq: 3, MsgRandom: 4, MsgBody: tim.MsgBody{tim.TextElem("once")},
			})
			if err != nil {
				t.Errorf("send %d: %v", i, err)
			}
			keys[i] = resp.MsgKey
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatalf("MsgKeys differ: %v", keys)
		}
	}
	if n := len(e.inbox("bob")); n != 1 {
		t.Fatalf("bob got %d messages, want 1", n)
	}
	if n := len(e.app.received(tim.CmdC2CBeforeSendMsg)); n != 1 {
		t.Errorf("before-send callbacks: %d, want 1", n)
	}
}

func TestSimUserCommandsOverHTTP(t *testing.T) {
	e := newEnv(t)
	var st struct {
		UserID    string `json:"userID"`
		Online    bool   `json:"online"`
		ErrorCode int    `json:"errorCode"`
	}
	e.simPost("/sim/login", map[string]string{"userID": "agent"}, &st)
	if !st.Online || !e.sim.Online("agent") {
		t.Fatalf("login: %+v", st)
	}
	e.simPost("/sim/disconnect", map[string]string{"userID": "agent"}, &st)
	if st.Online || st.ErrorCode != 0 || e.sim.Online("agent") {
		t.Fatalf("disconnect: %+v", st)
	}
	e.simPost("/sim/logout", map[string]string{"userID": "ghost"}, &st)
	if st.ErrorCode != 70107 {
		t.Errorf("logout of an unknown account: %+v, want 70107", st)
	}
	for _, body := range []any{"nope", map[string]string{"userID": ""}, map[string]string{"userID": strings.Repeat("a", 40)}} {
		if status := e.simPost("/sim/login", body, nil); status != 400 {
			t.Errorf("login %v: HTTP %d, want 400", body, status)
		}
	}
	e.sim.Wait()
	var actions []string
	for _, cb := range e.app.received(tim.CmdStateChange) {
		sc, _ := tim.DecodeStateChange(cb.Body)
		actions = append(actions, sc.Info.Action+"/"+sc.Info.Reason)
	}
	if strings.Join(actions, ",") != "Login/Register,Disconnect/LinkClose" {
		t.Errorf("state changes: %v", actions)
	}
}

func TestActivityFeed(t *testing.T) {
	e := newEnv(t)
	e.login("alice", "bob")
	e.app.answer(tim.CmdC2CBeforeSendMsg, reply{Body: `{"ErrorCode":2}`})
	e.send("alice", "bob", "psst")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := readSSE(t, ctx, e.srv.URL+"/sim/activity", nil)
	var texts []string
	for !strings.Contains(strings.Join(texts, "\n"), "dropped by the callback") {
		ev := next(t, ch)
		if ev.Name != "activity" {
			t.Fatalf("event %+v", ev)
		}
		texts = append(texts, ev.Data)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"alice logged in", "C2C.CallbackBeforeSendMsg alice→bob: ErrorCode 2"} {
		if !strings.Contains(joined, want) {
			t.Errorf("activity lacks %q:\n%s", want, joined)
		}
	}
}

func TestAddFaultAppends(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.sim.SetFaults(timsim.Fault{Command: "account_check", ErrorCode: 70500, Times: 1})
	e.sim.AddFault(timsim.Fault{Command: "account_check", ErrorCode: 70169, Times: 1})
	check := map[string]any{"CheckItem": []map[string]string{{"UserID": testAdmin}}}
	var got []int
	for range 3 {
		got = append(got, code(e.rest("im_open_login_svc/account_check", check)))
	}
	if got[0] != 70500 || got[1] != 70169 || got[2] != 0 {
		t.Errorf("codes %v, want [70500 70169 0]", got)
	}
}
