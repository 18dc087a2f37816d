package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

func TestSetLanguage(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		body       string
		signal     func(context.Context, call) error
		wantStatus int
		want       desk.LanguagePreference
	}{
		{"set", "/api/v1/users/alice/language", `{"language":"ja"}`, okSignal, 200, desk.LanguagePreference{UserID: "alice", Language: "ja"}},
		{"region tag", "/api/v1/users/alice/language", `{"language":"zh-CN"}`, okSignal, 200, desk.LanguagePreference{UserID: "alice", Language: "zh-CN"}},
		{"clear", "/api/v1/users/alice/language", `{"language":""}`, okSignal, 200, desk.LanguagePreference{UserID: "alice"}},
		{"bad tag", "/api/v1/users/alice/language", `{"language":"english please"}`, nil, 400, desk.LanguagePreference{}},
		{"bad user", "/api/v1/users/" + strings.Repeat("u", 33) + "/language", `{"language":"en"}`, nil, 400, desk.LanguagePreference{}},
		{"malformed", "/api/v1/users/alice/language", `{"language":1}`, nil, 400, desk.LanguagePreference{}},
		{"Temporal unavailable", "/api/v1/users/alice/language", `{"language":"ja"}`, func(context.Context, call) error {
			return serviceerror.NewUnavailable("down")
		}, 503, desk.LanguagePreference{UserID: "alice", Language: "ja"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = tt.signal })
			r := env.do(t, http.MethodPut, tt.path, tt.body, adminHeader()...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			calls := env.temporal.Calls("SignalWithStart")
			if tt.signal == nil {
				if len(calls) != 0 {
					t.Fatalf("signalled on a bad request: %+v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].ID != workflows.DeskWorkflowID || calls[0].Name != workflows.SignalLanguage || calls[0].Arg != tt.want {
				t.Errorf("calls = %+v, want language %+v", calls, tt.want)
			}
		})
	}
}

// TestSetLanguageDrivesTranslation: a preference set through the API is used by the very next
// customer-to-customer message.
func TestSetLanguageDrivesTranslation(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.signalWithStart = okSignal
		e.temporal.query = deskWithLanguages(nil)
		e.trans.fn = fakeTranslation
	})
	if r := env.do(t, http.MethodPut, "/api/v1/users/bob/language", `{"language":"ja"}`, adminHeader()...); r.Status != 200 {
		t.Fatalf("status = %d", r.Status)
	}
	cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
		c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("Hello, how are you today?"), "")))
	if len(cr.MsgBody) != 1 {
		t.Fatalf("not translated: %+v", cr)
	}
	if got, _ := cr.MsgBody[0].Text(); !strings.HasPrefix(got, "[ja] ") {
		t.Errorf("translated = %q, want ja", got)
	}
}
