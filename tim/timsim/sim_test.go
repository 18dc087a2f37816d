package timsim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

type messagesAnswer struct {
	Messages []timsim.Message `json:"messages"`
	Next     uint64           `json:"next"`
}

func (e *env) getMessages(query string) (int, messagesAnswer) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/sim/messages?" + query)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out messagesAnswer
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			e.t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

func TestSimSendAndMessages(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	tests := []struct {
		name string
		req  map[string]any
		want int
	}{
		{"text", map[string]any{"from": "alice", "to": "bob", "text": "hi"}, 0},
		{"msgBody", map[string]any{"from": "bob", "to": "alice", "msgBody": []any{map[string]any{"MsgType": "TIMCustomElem", "MsgContent": map[string]any{"Data": "d"}}}, "cloudCustomData": "c"}, 0},
		{"recipient not imported", map[string]any{"from": "alice", "to": "ghost", "text": "hi"}, 20003},
		{"empty", map[string]any{"from": "alice", "to": "bob"}, 90002},
		{"bad element", map[string]any{"from": "alice", "to": "bob", "msgBody": []any{map[string]any{"MsgType": "TIMNope", "MsgContent": map[string]any{}}}}, 90002},
		{"too long", map[string]any{"from": "alice", "to": "bob", "text": strings.Repeat("z", 13000)}, 80002},
		{"bad sender id", map[string]any{"from": "", "to": "bob", "text": "hi"}, 20003},
	}
	for _, tt := range tests {
		var res timsim.SendResult
		if status := e.simPost("/sim/send", tt.req, &res); status != http.StatusOK {
			t.Fatalf("%s: HTTP %d", tt.name, status)
		}
		if res.ErrorCode != tt.want || (tt.want == 0) != (res.MsgKey != "") {
			t.Errorf("%s: got %+v, want code %d", tt.name, res, tt.want)
		}
	}
	if status := e.simPost("/sim/send", "nope", nil); status != http.StatusBadRequest {
		t.Errorf("malformed /sim/send: HTTP %d, want 400", status)
	}
	_, all := e.getMessages("userID=alice&since=0")
	if len(all.Messages) != 2 || all.Messages[0].Direction != "out" || all.Messages[0].Text != "hi" ||
		all.Messages[1].Direction != "in" || all.Messages[1].CloudCustomData != "c" || all.Messages[1].MsgBody[0].MsgType != tim.MsgTypeCustom {
		t.Fatalf("alice's messages: %+v", all.Messages)
	}
	_, in := e.getMessages("userID=alice&since=0&direction=in")
	if len(in.Messages) != 1 || in.Messages[0].From != "bob" {
		t.Errorf("direction=in: %+v", in.Messages)
	}
	_, later := e.getMessages("userID=alice&since=" + itoa(all.Next))
	if len(later.Messages) != 0 || later.Next != all.Next {
		t.Errorf("since=next: got %+v, want nothing new", later)
	}
	for _, q := range []string{"", "userID=alice&since=x", "userID=alice&wait=-1", "userID=alice&direction=up"} {
		if status, _ := e.getMessages(q); status != http.StatusBadRequest {
			t.Errorf("GET /sim/messages?%s: HTTP %d, want 400", q, status)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestSimMessagesLongPoll(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	_, before := e.getMessages("userID=bob")
	go func() {
		time.Sleep(100 * time.Millisecond)
		e.sim.Send(context.Background(), timsim.SendRequest{From: "alice", To: "bob", Text: "wake up"})
	}()
	start := time.Now()
	_, got := e.getMessages("userID=bob&wait=5&since=" + itoa(before.Next))
	if len(got.Messages) != 1 || got.Messages[0].Text != "wake up" {
		t.Fatalf("long-poll got %+v", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("long-poll answered after %s, want right after the message", d)
	}
	start = time.Now()
	_, none := e.getMessages("userID=bob&wait=0.2&since=" + itoa(got.Next))
	if len(none.Messages) != 0 || time.Since(start) < 200*time.Millisecond {
		t.Errorf("empty long-poll: %+v after %s", none, time.Since(start))
	}
}

// sseEvent is one server-sent event.
type sseEvent struct{ ID, Name, Data string }

// readSSE streams events from url into a channel until ctx ends.
func readSSE(t *testing.T, ctx context.Context, url string, header http.Header) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the reader goroutine
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, ct)
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer func() { _ = resp.Body.Close() }()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

func TestSimEventsSSE(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := readSSE(t, ctx, e.srv.URL+"/sim/events?userID=bob", nil)
	if ev := next(t, ch); ev.Name != "state" || !strings.Contains(ev.Data, `"online":true`) {
		t.Fatalf("first event got %+v, want bob's login", ev)
	}
	res := e.sim.Send(ctx, timsim.SendRequest{From: "alice", To: "bob", Text: "live"})
	ev := next(t, ch)
	var m timsim.Message
	if err := json.Unmarshal([]byte(ev.Data), &m); ev.Name != "message" || err != nil || m.Text != "live" || ev.ID != "2" {
		t.Fatalf("message event got %+v", ev)
	}
	e.rest("openim/admin_msgwithdraw", map[string]string{"From_Account": "alice", "To_Account": "bob", "MsgKey": res.MsgKey})
	if ev := next(t, ch); ev.Name != "recall" || !strings.Contains(ev.Data, res.MsgKey) {
		t.Fatalf("recall event got %+v", ev)
	}
	// Resuming with Last-Event-ID replays only what came after.
	ch2 := readSSE(t, ctx, e.srv.URL+"/sim/events?userID=bob", http.Header{"Last-Event-Id": {"2"}})
	if ev := next(t, ch2); ev.Name != "recall" {
		t.Fatalf("resumed stream got %+v, want the recall", ev)
	}
	// Close ends the streams.
	_ = e.sim.Close()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
}

func TestSimStreamForThePage(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := readSSE(t, ctx, e.srv.URL+"/sim/stream?users=alice,bob", nil)
	e.sim.Send(ctx, timsim.SendRequest{From: "alice", To: "bob", Text: "both sides"})
	seen := map[string]bool{}
	for len(seen) < 3 {
		ev := next(t, ch)
		var d struct {
			User    string          `json:"user"`
			Message *timsim.Message `json:"message"`
			Text    string          `json:"text"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.Name == "message" && d.Message != nil && d.Message.Text == "both sides":
			seen[d.User+"/"+d.Message.Direction] = true
		case ev.Name == "activity" && strings.Contains(ev.Data, "delivered"):
			seen["activity"] = true
		}
	}
	if !seen["alice/out"] || !seen["bob/in"] {
		t.Errorf("stream events: %v", seen)
	}
	resp, err := http.Get(e.srv.URL + "/sim/stream?users=" + strings.Repeat("x", 40))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid user in /sim/stream: HTTP %d, want 400", resp.StatusCode)
	}
}

// nextAccounts returns the presence of the next "accounts" event on ch (UserID → online),
// skipping other events.
func nextAccounts(t *testing.T, ch <-chan sseEvent) map[string]bool {
	t.Helper()
	for {
		ev := next(t, ch)
		if ev.Name != "accounts" {
			continue
		}
		var d struct {
			Users []struct {
				UserID string `json:"userID"`
				Online bool   `json:"online"`
			} `json:"users"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatalf("accounts event %q: %v", ev.Data, err)
		}
		out := map[string]bool{}
		for _, u := range d.Users {
			out[u.UserID] = u.Online
		}
		return out
	}
}

func TestSimStreamAccounts(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := readSSE(t, ctx, e.srv.URL+"/sim/stream?users=alice", nil)
	steps := []struct {
		name string
		do   func()
		want map[string]bool
	}{
		{"snapshot on connect", func() {}, map[string]bool{testAdmin: false, "alice": true}},
		{"login", func() { e.login("bob") }, map[string]bool{testAdmin: false, "alice": true, "bob": true}},
		{"logout", func() { e.simPost("/sim/logout", map[string]string{"userID": "alice"}, nil) },
			map[string]bool{testAdmin: false, "alice": false, "bob": true}},
		{"disconnect", func() { e.simPost("/sim/disconnect", map[string]string{"userID": "bob"}, nil) },
			map[string]bool{testAdmin: false, "alice": false, "bob": false}},
		{"import", func() { e.simPost("/sim/import", map[string]string{"userID": "carol"}, nil) },
			map[string]bool{testAdmin: false, "alice": false, "bob": false, "carol": false}},
		{"delete", func() {
			e.rest("im_open_login_svc/account_delete", map[string]any{"DeleteItem": []map[string]string{{"UserID": "carol"}}})
		}, map[string]bool{testAdmin: false, "alice": false, "bob": false}},
	}
	for _, st := range steps {
		st.do()
		if got := nextAccounts(t, ch); !maps.Equal(got, st.want) {
			t.Errorf("%s: accounts event %v, want %v", st.name, got, st.want)
		}
	}
}

func TestPageAndState(t *testing.T) {
	e := newEnv(t, withoutToken())
	e.login("alice")
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	page := string(b)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, "Tencent IM emulator") {
		t.Fatalf("GET /: HTTP %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, external := range []string{`src="http`, `href="http`, "cdn", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("page references an external asset (%s)", external)
		}
	}
	resp, err = http.Get(e.srv.URL + "/sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		SDKAppID uint64          `json:"sdkAppID"`
		Admin    string          `json:"admin"`
		Signed   bool            `json:"signedCallbacks"`
		Service  string          `json:"serviceAccount"`
		Windows  []timsim.Window `json:"windows"`
		Users    []struct {
			UserID string `json:"userID"`
			Online bool   `json:"online"`
		} `json:"users"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	_ = resp.Body.Close()
	if err != nil || st.SDKAppID != testAppID || st.Admin != testAdmin || st.Signed || st.Service != timsim.DefaultServiceAccount || len(st.Windows) != 3 || len(st.Users) != 2 || st.Users[1].UserID != "alice" || !st.Users[1].Online {
		t.Errorf("GET /sim/state: %+v (%v)", st, err)
	}
	resp, err = http.Get(e.srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: HTTP %d, want 404", resp.StatusCode)
	}
	var pol map[string]bool
	if e.simPost("/sim/policy", map[string]bool{"failClosed": true}, &pol); !pol["failClosed"] {
		t.Errorf("POST /sim/policy: %v", pol)
	}
	if status := e.simPost("/sim/policy", map[string]string{}, nil); status != http.StatusBadRequest {
		t.Errorf("POST /sim/policy {}: HTTP %d, want 400", status)
	}
	var imp map[string]any
	if e.simPost("/sim/import", map[string]string{"userID": "newbie"}, &imp); !e.sim.Imported("newbie") {
		t.Errorf("POST /sim/import: %v", imp)
	}
}

// The /sim/ client API answers pages of other origins (timdesk's /chat/ page in development);
// REST does not need to.
func TestSimCORS(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		origin             string
		wantStatus         int
		wantAllow          string
	}{
		{"preflight of a send", http.MethodOptions, "/sim/send", "http://127.0.0.1:8080", http.StatusNoContent, "*"},
		{"event stream state", http.MethodGet, "/sim/state", "http://127.0.0.1:8080", http.StatusOK, "*"},
		{"same origin", http.MethodGet, "/sim/state", "", http.StatusOK, ""},
		{"not REST", http.MethodOptions, "/v4/openim/sendmsg", "http://127.0.0.1:8080", 0, ""}, // any status
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
				req.Header.Set("Access-Control-Request-Method", http.MethodPost)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if tt.wantStatus != 0 && resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantAllow)
			}
			if tt.method == http.MethodOptions && tt.wantAllow != "" && !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
				t.Errorf("preflight allows headers %q, want Content-Type", resp.Header.Get("Access-Control-Allow-Headers"))
			}
		})
	}
}
