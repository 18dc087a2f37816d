package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/timdesk/timdesk/tim"
)

// TestGroupMessagesAreNotHandled: timdesk does not handle group chats (a group has no single
// recipient language). A group message callback — before or after send, text included — is
// answered at once with the message unchanged, touches neither Temporal nor the translator, is
// counted as group_ignored, and the operator is told once to switch group callbacks off.
func TestGroupMessagesAreNotHandled(t *testing.T) {
	env := newTestEnv(t)
	var logs bytes.Buffer
	app, err := newApp(depsFor(env, slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	env.app = app
	body := func(cmd string) string {
		b, _ := json.Marshal(map[string]any{
			"CallbackCommand": cmd, "GroupId": "@TGS#g1", "Type": "Public", "From_Account": "alice",
			"MsgSeq": 12, "MsgTime": testNow.Unix(), "MsgBody": textBody("你好，大家"),
		})
		return string(b)
	}
	for _, cmd := range []string{tim.CmdGroupBeforeSendMsg, tim.CmdGroupAfterSendMsg, tim.CmdGroupBeforeSendMsg} {
		r := env.do(t, http.MethodPost, goodURL(cmd), body(cmd))
		if r.Status != 200 {
			t.Fatalf("%s: status %d %s", cmd, r.Status, r.Body)
		}
		got := r.JSON(t)
		if got["ErrorCode"] != float64(0) || got["MsgBody"] != nil {
			t.Errorf("%s: answer %s, want ErrorCode 0 and the message unchanged", cmd, r.Body)
		}
	}
	if calls := env.temporal.Calls(); len(calls) != 0 {
		t.Errorf("group callbacks reached Temporal: %+v", calls)
	}
	if calls := env.trans.Calls(); len(calls) != 0 {
		t.Errorf("group callbacks were translated: %+v", calls)
	}
	if n := strings.Count(logs.String(), "group message callbacks are not used"); n != 1 {
		t.Errorf("warning logged %d times, want once:\n%s", n, logs.String())
	}
	page := string(env.do(t, http.MethodGet, "/metrics", "").Body)
	if !strings.Contains(page, `timdesk_callbacks_total{command="Group.CallbackBeforeSendMsg",decision="group_ignored",error_code="0"} 2`) {
		t.Errorf("group callbacks not counted:\n%s", page)
	}
}

// TestREADMEDoesNotAskForGroupCallbacks: the operator's manual matches the code — it does not tell
// operators to enable group message callbacks, and says group chats are not translated.
func TestREADMEDoesNotAskForGroupCallbacks(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if deploy, err := os.ReadFile("../deploy/README.md"); err == nil { // the operator's part, when split out
		raw = append(raw, deploy...)
	}
	readme := strings.ToLower(string(raw))
	for _, bad := range []string{"after a group message is sent", "before a group message is sent", "for group chat *"} {
		if strings.Contains(readme, bad) {
			t.Errorf("README still asks for group callbacks (%q)", bad)
		}
	}
	if !strings.Contains(readme, "group chats are not translated") {
		t.Error("README does not say that group chats are not translated")
	}
}
