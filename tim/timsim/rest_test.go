package timsim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
)

func TestGatewayChecksQueryAndAdminSig(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.ImportAccount("bob"); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	sig := func(signer *tim.Signer, user string, at time.Time, expire time.Duration) string {
		s, err := signer.SignAt(user, at, expire)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherApp := tim.NewSigner(1400000001, testKey)
	otherKey := tim.NewSigner(testAppID, strings.Repeat("0", 64))
	tests := []struct {
		name    string
		command string
		edit    func(q url.Values)
		want    int
	}{
		{"valid", "openim/sendmsg", func(url.Values) {}, 0},
		{"no sdkappid", "openim/sendmsg", func(q url.Values) { q.Del("sdkappid") }, 60012},
		{"other sdkappid", "openim/sendmsg", func(q url.Values) { q.Set("sdkappid", "1400000001") }, 70020},
		{"no identifier", "openim/sendmsg", func(q url.Values) { q.Del("identifier") }, 60004},
		{"no usersig", "openim/sendmsg", func(q url.Values) { q.Del("usersig") }, 70002},
		{"bad random", "openim/sendmsg", func(q url.Values) { q.Set("random", "-1") }, 60002},
		{"random too big", "openim/sendmsg", func(q url.Values) { q.Set("random", "4294967296") }, 60002},
		{"bad contenttype", "openim/sendmsg", func(q url.Values) { q.Set("contenttype", "xml") }, 60002},
		{"malformed usersig", "openim/sendmsg", func(q url.Values) { q.Set("usersig", "not-a-sig") }, 70003},
		{"expired usersig", "openim/sendmsg", func(q url.Values) {
			q.Set("usersig", sig(e.signer, testAdmin, now.Add(-48*time.Hour), 24*time.Hour))
		}, 70001},
		{"usersig of another user", "openim/sendmsg", func(q url.Values) { q.Set("usersig", sig(e.signer, "bob", now, time.Hour)) }, 70013},
		{"usersig of another app", "openim/sendmsg", func(q url.Values) { q.Set("usersig", sig(otherApp, testAdmin, now, time.Hour)) }, 70014},
		{"usersig with another key", "openim/sendmsg", func(q url.Values) { q.Set("usersig", sig(otherKey, testAdmin, now, time.Hour)) }, 70009},
		{"not admin: openim", "openim/sendmsg", func(q url.Values) {
			q.Set("identifier", "bob")
			q.Set("usersig", sig(e.signer, "bob", now, time.Hour))
		}, 90009},
		{"not admin: account", "im_open_login_svc/account_import", func(q url.Values) {
			q.Set("identifier", "bob")
			q.Set("usersig", sig(e.signer, "bob", now, time.Hour))
		}, 70403},
		{"not admin: group", "group_open_http_svc/send_group_msg", func(q url.Values) {
			q.Set("identifier", "bob")
			q.Set("usersig", sig(e.signer, "bob", now, time.Hour))
		}, 60010},
		{"unknown command", "openim/nosuch", func(url.Values) {}, 60009},
		{"unknown service path", "openim", func(url.Values) {}, 60009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := e.adminQuery()
			tt.edit(q)
			var body any = textMsg("", "bob", "hi", 0, 1)
			if strings.HasPrefix(tt.command, "im_open") {
				body = map[string]string{"UserID": "carol"}
			}
			status, out := e.post(tt.command, q, body)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d, want 200 for every API-level outcome", status)
			}
			if got := code(out); got != tt.want {
				t.Fatalf("ErrorCode got %d (%v), want %d", got, out["ErrorInfo"], tt.want)
			}
			wantStatus := "OK"
			if tt.want != 0 {
				wantStatus = "FAIL"
			}
			if out["ActionStatus"] != wantStatus {
				t.Errorf("ActionStatus got %v, want %s", out["ActionStatus"], wantStatus)
			}
			if _, ok := out["ErrorInfo"].(string); !ok {
				t.Errorf("ErrorInfo missing: %v", out)
			}
		})
	}
}

func TestGatewayRejectsGET(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/v4/openim/sendmsg?" + e.adminQuery().Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, want 200", resp.StatusCode)
	}
}

func TestSendMsgEnvelopes(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	if err := e.sim.ImportAccount("alice", "bob"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 12*1024)
	tests := []struct {
		name string
		body any
		want int
	}{
		{"ok as admin", textMsg("", "bob", "hi", 0, 1), 0},
		{"ok as alice", textMsg("alice", "bob", "hi", 7, 2), 0},
		{"bad JSON", `{"To_Account":`, 90001},
		{"empty body", ``, 90001},
		{"JSON array", `[]`, 90001},
		{"no To_Account", map[string]any{"MsgRandom": 1, "MsgBody": []any{}}, 90003},
		{"To_Account not a string", map[string]any{"To_Account": 5, "MsgRandom": 1}, 90003},
		{"no MsgRandom", map[string]any{"To_Account": "bob", "MsgBody": textMsg("", "bob", "x", 0, 1)["MsgBody"]}, 90005},
		{"MsgRandom a string", `{"To_Account":"bob","MsgRandom":"1","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 90005},
		{"MsgRandom negative", `{"To_Account":"bob","MsgRandom":-1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 90005},
		{"MsgSeq too big", `{"To_Account":"bob","MsgRandom":1,"MsgSeq":4294967296,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 90004},
		{"no MsgBody", `{"To_Account":"bob","MsgRandom":1}`, 90007},
		{"MsgBody not an array", `{"To_Account":"bob","MsgRandom":1,"MsgBody":{}}`, 90007},
		{"MsgBody empty", `{"To_Account":"bob","MsgRandom":1,"MsgBody":[]}`, 90002},
		{"unknown MsgType", `{"To_Account":"bob","MsgRandom":1,"MsgBody":[{"MsgType":"TIMNopeElem","MsgContent":{}}]}`, 90002},
		{"text without Text", `{"To_Account":"bob","MsgRandom":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{}}]}`, 90002},
		{"two custom elems", `{"To_Account":"bob","MsgRandom":1,"MsgBody":[{"MsgType":"TIMCustomElem","MsgContent":{"Data":"a"}},{"MsgType":"TIMCustomElem","MsgContent":{"Data":"b"}}]}`, 90002},
		{"SyncOtherMachine 3", `{"To_Account":"bob","MsgRandom":1,"SyncOtherMachine":3,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 90031},
		{"MsgLifeTime a string", `{"To_Account":"bob","MsgRandom":1,"MsgLifeTime":"7","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 90044},
		{"MsgLifeTime over 7 days", `{"To_Account":"bob","MsgRandom":1,"MsgLifeTime":604801,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 90026},
		{"over 12 KB", textMsg("", "bob", big, 0, 1), 93000},
		{"To_Account not imported", textMsg("", "nobody", "hi", 0, 1), 90012},
		{"From_Account not imported", textMsg("nobody", "bob", "hi", 0, 1), 20003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.rest("openim/sendmsg", tt.body)
			if got := code(out); got != tt.want {
				t.Fatalf("ErrorCode got %d (%v), want %d", got, out["ErrorInfo"], tt.want)
			}
			if tt.want == 0 {
				key, _ := out["MsgKey"].(string)
				if key == "" || out["MsgTime"] == nil || out["MsgId"] == nil {
					t.Fatalf("success answer lacks MsgKey/MsgTime/MsgId: %v", out)
				}
			}
		})
	}
}

func TestSendMsgDedupeWindow(t *testing.T) {
	e := newEnv(t)
	e.login("alice", "bob")
	first := e.rest("openim/sendmsg", textMsg("alice", "bob", "hello", 11, 22))
	if code(first) != 0 {
		t.Fatalf("first send: %v", first)
	}
	e.clock.Advance(119 * time.Second)
	again := e.rest("openim/sendmsg", textMsg("alice", "bob", "hello", 11, 22))
	if code(again) != 0 || again["MsgKey"] != first["MsgKey"] {
		t.Fatalf("duplicate within 120 s: got %v, want success with the first MsgKey %v", again, first["MsgKey"])
	}
	if n := len(e.inbox("bob")); n != 1 {
		t.Fatalf("bob got %d messages after a duplicate, want 1", n)
	}
	e.sim.Wait()
	if n := len(e.app.received(tim.CmdC2CBeforeSendMsg)); n != 1 {
		t.Errorf("before-send callbacks: got %d, want 1 (duplicates run no callback)", n)
	}
	// A different body, or another MsgRandom, is a new message.
	e.rest("openim/sendmsg", textMsg("alice", "bob", "hello!", 11, 22))
	e.rest("openim/sendmsg", textMsg("alice", "bob", "hello", 11, 23))
	if n := len(e.inbox("bob")); n != 3 {
		t.Fatalf("bob got %d messages, want 3", n)
	}
	// After the window the same message is delivered again.
	e.clock.Advance(2 * time.Second)
	late := e.rest("openim/sendmsg", textMsg("alice", "bob", "hello", 11, 22))
	if code(late) != 0 || late["MsgKey"] == first["MsgKey"] {
		t.Fatalf("resend after 121 s: got %v, want a new message", late)
	}
	if n := len(e.inbox("bob")); n != 4 {
		t.Fatalf("bob got %d messages, want 4", n)
	}
}

func TestSendMsgDedupeForgetsFailures(t *testing.T) {
	e := newEnv(t)
	e.login("alice", "bob")
	e.app.answer(tim.CmdC2CBeforeSendMsg, reply{Body: `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"no"}`})
	if got := code(e.rest("openim/sendmsg", textMsg("alice", "bob", "x", 1, 1))); got != 20006 {
		t.Fatalf("rejected send: got %d, want 20006", got)
	}
	e.app.answer(tim.CmdC2CBeforeSendMsg, reply{})
	if got := code(e.rest("openim/sendmsg", textMsg("alice", "bob", "x", 1, 1))); got != 0 {
		t.Fatalf("retry after a rejection: got %d, want 0 (failures are not remembered)", got)
	}
	if n := len(e.inbox("bob")); n != 1 {
		t.Fatalf("bob got %d messages, want 1", n)
	}
}

func TestBatchSendMsg(t *testing.T) {
	e := newEnv(t)
	e.login("bob", "carol")
	tooMany := make([]string, 501)
	for i := range tooMany {
		tooMany[i] = "u"
	}
	body := func(to []string) map[string]any {
		m := textMsg("", "", "notice", 5, 6)
		m["To_Account"] = to
		return m
	}
	out := e.rest("openim/batchsendmsg", body([]string{"bob", "ghost", "carol"}))
	if code(out) != 0 || out["MsgKey"] == "" {
		t.Fatalf("partial success: got %v, want ErrorCode 0 with MsgKey", out)
	}
	list, _ := out["ErrorList"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["To_Account"] != "ghost" || list[0].(map[string]any)["ErrorCode"] != float64(70107) {
		t.Fatalf("ErrorList got %v, want ghost/70107", out["ErrorList"])
	}
	if len(e.inbox("bob")) != 1 || len(e.inbox("carol")) != 1 {
		t.Fatalf("bob/carol inboxes: %d/%d, want 1/1", len(e.inbox("bob")), len(e.inbox("carol")))
	}
	e.sim.Wait()
	if n := len(e.app.received(tim.CmdC2CBeforeSendMsg)) + len(e.app.received(tim.CmdC2CAfterSendMsg)); n != 0 {
		t.Errorf("batchsendmsg fired %d message callbacks, want none", n)
	}
	if got := code(e.rest("openim/batchsendmsg", body(tooMany))); got != 90011 {
		t.Errorf("501 recipients: got %d, want 90011", got)
	}
	allBad := e.rest("openim/batchsendmsg", body([]string{"ghost"}))
	if code(allBad) != 90012 || allBad["ErrorList"] == nil {
		t.Errorf("no imported recipient: got %v, want 90012 with ErrorList", allBad)
	}
	if got := code(e.rest("openim/batchsendmsg", body(nil))); got != 90003 {
		t.Errorf("no recipients: got %d, want 90003", got)
	}
	bad := body([]string{"bob"})
	bad["From_Account"] = "ghost"
	if got := code(e.rest("openim/batchsendmsg", bad)); got != 90008 {
		t.Errorf("unknown sender: got %d, want 90008", got)
	}
}

func TestAccountCommands(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	tests := []struct {
		name    string
		command string
		body    any
		want    int
		check   func(t *testing.T, out map[string]any)
	}{
		{"import", "im_open_login_svc/account_import", map[string]string{"UserID": "alice", "Nick": "Alice"}, 0, nil},
		{"import again (idempotent)", "im_open_login_svc/account_import", map[string]string{"UserID": "alice"}, 0, nil},
		{"import legacy Identifier", "im_open_login_svc/account_import", map[string]string{"Identifier": "legacy"}, 0, nil},
		{"import without UserID", "im_open_login_svc/account_import", map[string]string{"Nick": "x"}, 70402, nil},
		{"import too long", "im_open_login_svc/account_import", map[string]string{"UserID": strings.Repeat("a", 33)}, 70402, nil},
		{"import bad JSON", "im_open_login_svc/account_import", `{"UserID":`, 70402, nil},
		{"multi import", "im_open_login_svc/multiaccount_import", map[string][]string{"Accounts": {"bob", "", "carol"}}, 0, func(t *testing.T, out map[string]any) {
			if fails, _ := out["FailAccounts"].([]any); len(fails) != 1 || fails[0] != "" {
				t.Errorf("FailAccounts got %v, want [\"\"]", out["FailAccounts"])
			}
		}},
		{"multi import over 100", "im_open_login_svc/multiaccount_import", map[string][]string{"Accounts": make([]string, 101)}, 70402, nil},
		{"check", "im_open_login_svc/account_check", map[string]any{"CheckItem": []map[string]string{{"UserID": "alice"}, {"UserID": "ghost"}}}, 0, func(t *testing.T, out map[string]any) {
			items, _ := out["ResultItem"].([]any)
			if len(items) != 2 || items[0].(map[string]any)["AccountStatus"] != "Imported" || items[1].(map[string]any)["AccountStatus"] != "NotImported" {
				t.Errorf("ResultItem got %v", out["ResultItem"])
			}
		}},
		{"check empty", "im_open_login_svc/account_check", map[string]any{"CheckItem": []any{}}, 70402, nil},
		{"delete", "im_open_login_svc/account_delete", map[string]any{"DeleteItem": []map[string]string{{"UserID": "carol"}, {"UserID": "ghost"}, {"UserID": testAdmin}}}, 0, func(t *testing.T, out map[string]any) {
			items, _ := out["ResultItem"].([]any)
			codes := []float64{}
			for _, it := range items {
				codes = append(codes, it.(map[string]any)["ResultCode"].(float64))
			}
			if len(codes) != 3 || codes[0] != 0 || codes[1] != 70107 || codes[2] != 71000 {
				t.Errorf("ResultCodes got %v, want [0 70107 71000]", codes)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.rest(tt.command, tt.body)
			if got := code(out); got != tt.want {
				t.Fatalf("ErrorCode got %d (%v), want %d", got, out["ErrorInfo"], tt.want)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
	for id, want := range map[string]bool{"alice": true, "legacy": true, "bob": true, "carol": false} {
		if got := e.sim.Imported(id); got != want {
			t.Errorf("Imported(%s) got %v, want %v", id, got, want)
		}
	}
}

func TestQueryOnlineStatus(t *testing.T) {
	e := newEnv(t)
	e.login("alice")
	if err := e.sim.ImportAccount("bob"); err != nil {
		t.Fatal(err)
	}
	out := e.rest("openim/query_online_status", map[string]any{"To_Account": []string{"alice", "bob", "ghost"}, "IsNeedDetail": 1})
	if code(out) != 0 {
		t.Fatalf("got %v", out)
	}
	res, _ := out["QueryResult"].([]any)
	if len(res) != 2 {
		t.Fatalf("QueryResult got %v, want alice and bob", out["QueryResult"])
	}
	alice, bob := res[0].(map[string]any), res[1].(map[string]any)
	if alice["Status"] != "Online" || bob["Status"] != "Offline" {
		t.Errorf("statuses got %v/%v, want Online/Offline", alice["Status"], bob["Status"])
	}
	if d, _ := alice["Detail"].([]any); len(d) != 1 || d[0].(map[string]any)["Platform"] != "Web" {
		t.Errorf("alice Detail got %v", alice["Detail"])
	}
	if el, _ := out["ErrorList"].([]any); len(el) != 1 || el[0].(map[string]any)["ErrorCode"] != float64(70107) {
		t.Errorf("ErrorList got %v, want ghost/70107", out["ErrorList"])
	}
	if err := e.sim.Logout(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	out = e.rest("openim/query_online_status", map[string]any{"To_Account": []string{"alice"}})
	if res, _ := out["QueryResult"].([]any); len(res) != 1 || res[0].(map[string]any)["Status"] != "Offline" {
		t.Errorf("after logout got %v, want Offline", out)
	}
	if got := code(e.rest("openim/query_online_status", map[string]any{"To_Account": []string{}})); got != 90001 {
		t.Errorf("empty list: got %d, want 90001", got)
	}
	if got := code(e.rest("openim/query_online_status", map[string]any{"To_Account": make([]string, 501)})); got != 90011 {
		t.Errorf("501 ids: got %d, want 90011", got)
	}
}

func TestGetRoamMsgPaging(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	start := e.clock.Now().Unix()
	var keys []string
	for i := range 7 {
		from, to := "alice", "bob"
		if i%2 == 1 {
			from, to = "bob", "alice"
		}
		out := e.rest("openim/sendmsg", textMsg(from, to, "m"+string(rune('0'+i)), uint32(i+1), 100))
		keys = append(keys, out["MsgKey"].(string))
		if i%3 != 2 { // several messages share a second
			e.clock.Advance(time.Second)
		}
	}
	var got []string
	req := map[string]any{"Operator_Account": "alice", "Peer_Account": "bob", "MaxCnt": 3, "MinTime": start, "MaxTime": e.clock.Now().Unix()}
	for page := 0; ; page++ {
		out := e.rest("openim/admin_getroammsg", req)
		if code(out) != 0 {
			t.Fatalf("page %d: %v", page, out)
		}
		list, _ := out["MsgList"].([]any)
		var pageKeys []string
		for _, m := range list {
			pageKeys = append(pageKeys, m.(map[string]any)["MsgKey"].(string))
		}
		got = append(pageKeys, got...) // pages go back in time; each page is oldest first
		if out["Complete"] == float64(1) {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
		req["MaxTime"], req["LastMsgKey"] = out["LastMsgTime"], out["LastMsgKey"]
	}
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Fatalf("history got %v, want %v", got, keys)
	}
	errs := []struct {
		body any
		want int
	}{
		{map[string]any{"Peer_Account": "bob"}, 90003},
		{map[string]any{"Operator_Account": "alice", "Peer_Account": "ghost"}, 90008},
		{`{"Operator_Account":`, 90001},
	}
	for _, tt := range errs {
		if got := code(e.rest("openim/admin_getroammsg", tt.body)); got != tt.want {
			t.Errorf("body %v: got %d, want %d", tt.body, got, tt.want)
		}
	}
}

func TestSyncOtherMachineAndRoaming(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("support", "alice", "agent")
	send := func(from, to, text string, sync int) {
		m := textMsg(from, to, text, 0, 1)
		if sync != 0 {
			m["SyncOtherMachine"] = sync
		}
		if got := code(e.rest("openim/sendmsg", m)); got != 0 {
			t.Fatalf("send %s: %d", text, got)
		}
	}
	send("alice", "agent", "relayed", 2)
	send("support", "alice", "answer", 1)
	send("support", "alice", "plain", 0)
	roam := func(op, peer string) []string {
		out := e.rest("openim/admin_getroammsg", map[string]any{"Operator_Account": op, "Peer_Account": peer, "MaxCnt": 100})
		var texts []string
		for _, m := range out["MsgList"].([]any) {
			body := m.(map[string]any)["MsgBody"].([]any)
			texts = append(texts, body[0].(map[string]any)["MsgContent"].(map[string]any)["Text"].(string))
		}
		return texts
	}
	if got := roam("alice", "agent"); len(got) != 0 {
		t.Errorf("SyncOtherMachine 2: sender's roaming got %v, want nothing", got)
	}
	if got := roam("agent", "alice"); len(got) != 1 {
		t.Errorf("SyncOtherMachine 2: recipient's roaming got %v, want the message", got)
	}
	if got := roam("support", "alice"); len(got) != 2 {
		t.Errorf("sender roaming with 0/1: got %v, want both", got)
	}
	var out []string
	for _, m := range e.sim.Messages("support") {
		out = append(out, m.Direction+":"+m.Text)
	}
	if strings.Join(out, ",") != "out:answer" {
		t.Errorf("support's devices got %v, want only the SyncOtherMachine 1 message", out)
	}
	for _, m := range e.sim.Messages("alice") {
		if m.Text == "relayed" {
			t.Errorf("alice's devices show the relayed message sent with SyncOtherMachine 2")
		}
	}
}

func TestMsgWithdraw(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	key := e.rest("openim/sendmsg", textMsg("alice", "bob", "oops", 1, 2))["MsgKey"].(string)
	body := map[string]string{"From_Account": "alice", "To_Account": "bob", "MsgKey": key}
	if got := code(e.rest("openim/admin_msgwithdraw", body)); got != 0 {
		t.Fatalf("withdraw: got %d", got)
	}
	if m := e.inbox("bob"); len(m) != 1 || !m[0].Recalled {
		t.Errorf("bob's message not marked recalled: %+v", m)
	}
	out := e.rest("openim/admin_getroammsg", map[string]any{"Operator_Account": "bob", "Peer_Account": "alice"})
	if list := out["MsgList"].([]any); len(list) != 1 || list[0].(map[string]any)["MsgFlagBits"] != float64(8) {
		t.Errorf("roaming after recall got %v, want MsgFlagBits 8", out["MsgList"])
	}
	tests := []struct {
		name string
		body map[string]string
		want int
	}{
		{"again", body, 20023},
		{"unknown key", map[string]string{"From_Account": "alice", "To_Account": "bob", "MsgKey": "1_2_3"}, 20022},
		{"malformed key", map[string]string{"From_Account": "alice", "To_Account": "bob", "MsgKey": "nope"}, 90054},
		{"no To_Account", map[string]string{"From_Account": "alice", "MsgKey": key}, 90003},
		{"unknown account", map[string]string{"From_Account": "alice", "To_Account": "ghost", "MsgKey": key}, 90008},
	}
	for _, tt := range tests {
		if got := code(e.rest("openim/admin_msgwithdraw", tt.body)); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSendGroupMsg(t *testing.T) {
	e := newEnv(t)
	e.login("alice", "bob", "carol")
	created := e.rest("group_open_http_svc/create_group", map[string]any{
		"Owner_Account": "alice", "Type": "Public", "Name": "team", "GroupId": "g1",
		"MemberList": []map[string]string{{"Member_Account": "bob"}},
	})
	if code(created) != 0 || created["GroupId"] != "g1" {
		t.Fatalf("create_group: %v", created)
	}
	if got := code(e.rest("group_open_http_svc/create_group", map[string]any{"Type": "Public", "Name": "x", "GroupId": "g1"})); got != 10021 {
		t.Errorf("duplicate group: got %d, want 10021", got)
	}
	msg := func(from string, random uint32, text string) map[string]any {
		m := map[string]any{"GroupId": "g1", "Random": random, "MsgBody": textMsg("", "", text, 0, 1)["MsgBody"]}
		if from != "" {
			m["From_Account"] = from
		}
		return m
	}
	first := e.rest("group_open_http_svc/send_group_msg", msg("alice", 9, "hi team"))
	if code(first) != 0 || first["MsgSeq"] != float64(1) {
		t.Fatalf("send_group_msg: %v", first)
	}
	dup := e.rest("group_open_http_svc/send_group_msg", msg("alice", 9, "hi team"))
	if dup["MsgSeq"] != float64(1) {
		t.Errorf("duplicate Random within 5 min: got MsgSeq %v, want 1", dup["MsgSeq"])
	}
	second := e.rest("group_open_http_svc/send_group_msg", msg("", 10, "from the admin"))
	if second["MsgSeq"] != float64(2) {
		t.Errorf("second message MsgSeq got %v, want 2", second["MsgSeq"])
	}
	if got := len(e.inbox("bob")); got != 2 {
		t.Errorf("bob got %d group messages, want 2", got)
	}
	if got := len(e.inbox("carol")); got != 0 {
		t.Errorf("carol (not a member) got %d messages", got)
	}
	e.sim.Wait()
	cbs := e.app.received(tim.CmdGroupAfterSendMsg)
	if len(cbs) != 2 {
		t.Fatalf("group callbacks: got %d, want 2", len(cbs))
	}
	cb, err := tim.DecodeGroupMsg(cbs[0].Body)
	if err != nil || cb.GroupId != "g1" || cb.MsgSeq != 1 || cb.FromAccount != "alice" || cb.OperatorAccount != testAdmin || cb.MsgBody.Text() != "hi team" {
		t.Errorf("group callback got %+v (%v)", cb, err)
	}
	tests := []struct {
		name string
		body any
		want int
	}{
		{"unknown group", map[string]any{"GroupId": "nope", "Random": 1, "MsgBody": textMsg("", "", "x", 0, 1)["MsgBody"]}, 10010},
		{"not a member", msg("carol", 3, "let me in"), 10007},
		{"no Random", map[string]any{"GroupId": "g1", "MsgBody": textMsg("", "", "x", 0, 1)["MsgBody"]}, 10004},
		{"too long", msg("alice", 4, strings.Repeat("y", 13000)), 80002},
	}
	for _, tt := range tests {
		if got := code(e.rest("group_open_http_svc/send_group_msg", tt.body)); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}
