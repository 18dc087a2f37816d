package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// adminRoutes lists every admin route with a body that would succeed.
var adminRoutes = []struct{ method, path, body string }{
	{http.MethodPost, "/api/v1/accounts", `{"userID":"alice"}`},
	{http.MethodPost, "/api/v1/accounts/batch", `{"userIDs":["alice"]}`},
	{http.MethodPost, "/api/v1/accounts/check", `{"userIDs":["alice"]}`},
	{http.MethodGet, "/api/v1/consultations/alice", ""},
	{http.MethodPost, "/api/v1/consultations/alice/close", ""},
	{http.MethodGet, "/api/v1/roster", ""},
	{http.MethodPut, "/api/v1/roster", testRoster},
	{http.MethodDelete, "/api/v1/roster", ""},
	{http.MethodGet, "/api/v1/agents", ""},
	{http.MethodPut, "/api/v1/users/alice/language", `{"language":"ja"}`},
}

func TestAdminAuth(t *testing.T) {
	jwtToken := signJWT(t, userClaims("alice"), testJWTSecret)
	auths := []struct {
		name   string
		header []string
	}{
		{"missing admin key", nil},
		{"wrong admin key", []string{"Authorization", bearer("wrong-key")}},
		{"admin key with a suffix", []string{"Authorization", bearer(testAdminKey + "0")}},
		{"admin key prefix", []string{"Authorization", bearer(testAdminKey[:10])}},
		{"user JWT", []string{"Authorization", bearer(jwtToken)}},
		{"Basic scheme", []string{"Authorization", "Basic " + testAdminKey}},
		{"key in another header", []string{"X-API-Key", testAdminKey}},
	}
	for _, rt := range adminRoutes {
		for _, a := range auths {
			t.Run(rt.method+" "+rt.path+"/"+a.name, func(t *testing.T) {
				env := newTestEnv(t)
				r := env.do(t, rt.method, rt.path, rt.body, a.header...)
				if r.Status != http.StatusUnauthorized || r.ErrorCode(t) != codeUnauthorized {
					t.Fatalf("status = %d, want 401; body %s", r.Status, r.Body)
				}
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
				if calls := env.temporal.Calls(); len(calls) != 0 {
					t.Errorf("Temporal called: %+v", calls)
				}
				if env.accounts.touched() {
					t.Errorf("Tencent IM called")
				}
			})
		}
	}
}

func adminHeader() []string { return []string{"Authorization", bearer(testAdminKey)} }

func TestImportAccount(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		importErr  error
		wantStatus int
		wantCode   string
		want       *tim.Account
	}{
		{"with nick and avatar", `{"userID":"alice","nick":"Alice","avatar":"https://img.example.com/a.png"}`, nil, 200, "",
			&tim.Account{UserID: "alice", Nick: "Alice", FaceURL: "https://img.example.com/a.png"}},
		{"faceURL spelling", `{"userID":"alice","faceURL":"http://img.example.com/a.png"}`, nil, 200, "",
			&tim.Account{UserID: "alice", FaceURL: "http://img.example.com/a.png"}},
		{"id only", `{"userID":"alice"}`, nil, 200, "", &tim.Account{UserID: "alice"}},
		{"missing userID", `{"nick":"x"}`, nil, 400, codeInvalid, nil},
		{"overlong userID", `{"userID":"` + strings.Repeat("x", 33) + `"}`, nil, 400, codeInvalid, nil},
		{"bad avatar", `{"userID":"alice","avatar":"javascript:alert(1)"}`, nil, 400, codeInvalid, nil},
		{"overlong nick", `{"userID":"alice","nick":"` + strings.Repeat("n", 501) + `"}`, nil, 400, codeInvalid, nil},
		{"malformed JSON", `{"userID":`, nil, 400, codeInvalid, nil},
		{"unknown field", `{"userID":"alice","password":"x"}`, nil, 400, codeInvalid, nil},
		{"Tencent error", `{"userID":"alice"}`, &tim.APIError{HTTPStatus: 200, Code: 70169, Info: "internal", Command: "account_import"}, 502, codeUpstream,
			&tim.Account{UserID: "alice"}},
		{"unexpected error", `{"userID":"alice"}`, errors.New("dial tcp: secret stuff"), 500, codeInternal, &tim.Account{UserID: "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.accounts.importOne = func(tim.Account) error { return tt.importErr }
			})
			r := env.do(t, http.MethodPost, "/api/v1/accounts", tt.body, adminHeader()...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantCode != "" && r.ErrorCode(t) != tt.wantCode {
				t.Errorf("error code = %q, want %q", r.ErrorCode(t), tt.wantCode)
			}
			if strings.Contains(string(r.Body), "secret stuff") {
				t.Errorf("internal error text leaked: %s", r.Body)
			}
			switch {
			case tt.want == nil && len(env.accounts.imported) != 0:
				t.Errorf("imported %+v, want nothing", env.accounts.imported)
			case tt.want != nil && (len(env.accounts.imported) != 1 || env.accounts.imported[0] != *tt.want):
				t.Errorf("imported %+v, want %+v", env.accounts.imported, *tt.want)
			}
		})
	}
}

func TestImportAccountsBatch(t *testing.T) {
	ids := []string{"dup", "dup", strings.Repeat("z", 40)}
	for i := range 250 {
		ids = append(ids, fmt.Sprintf("user%03d", i))
	}
	body, _ := json.Marshal(map[string]any{"userIDs": ids})
	env := newTestEnv(t, func(e *testEnv) {
		chunk := 0
		e.accounts.importMany = func(ids []string) ([]string, error) {
			chunk++
			switch chunk {
			case 2:
				return nil, &tim.APIError{Code: 70107, Command: "multiaccount_import"}
			case 3:
				return []string{ids[0]}, nil
			}
			return nil, nil
		}
	})
	r := env.do(t, http.MethodPost, "/api/v1/accounts/batch", string(body), adminHeader()...)
	if r.Status != 200 {
		t.Fatalf("status = %d; body %s", r.Status, r.Body)
	}
	var got struct {
		Imported, Failed int
		Results          []accountResult
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(env.accounts.batches) != 3 {
		t.Fatalf("chunks = %d, want 3", len(env.accounts.batches))
	}
	for i, b := range env.accounts.batches {
		if len(b) > 100 {
			t.Errorf("chunk %d has %d ids, want ≤ 100", i, len(b))
		}
	}
	// 251 valid unique ids: chunk 1 (100) ok, chunk 2 (100) failed, chunk 3 (51) one rejected.
	if got.Imported != 150 || got.Failed != 102 || len(got.Results) != 252 {
		t.Fatalf("imported %d failed %d results %d, want 150/102/252", got.Imported, got.Failed, len(got.Results))
	}
	if got.Results[0].Error != "invalid_user_id" {
		t.Errorf("first result = %+v, want the invalid id", got.Results[0])
	}
	if got.Results[150].Error != "tencent_error_70107" {
		t.Errorf("chunk 2 result = %+v", got.Results[150])
	}

	for _, bad := range []string{`{}`, `{"userIDs":[]}`, `{"userIDs":"alice"}`} {
		if r := env.do(t, http.MethodPost, "/api/v1/accounts/batch", bad, adminHeader()...); r.Status != 400 {
			t.Errorf("body %s: status = %d, want 400", bad, r.Status)
		}
	}
	tooMany, _ := json.Marshal(map[string]any{"userIDs": make([]string, maxBatchAccount+1)})
	if r := env.do(t, http.MethodPost, "/api/v1/accounts/batch", string(tooMany), adminHeader()...); r.Status != 400 {
		t.Errorf("too many ids: status = %d, want 400", r.Status)
	}
}

func TestCheckAccounts(t *testing.T) {
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprintf("u%d", i))
	}
	body, _ := json.Marshal(map[string]any{"userIDs": ids})
	env := newTestEnv(t)
	r := env.do(t, http.MethodPost, "/api/v1/accounts/check", string(body), adminHeader()...)
	if r.Status != 200 {
		t.Fatalf("status = %d; body %s", r.Status, r.Body)
	}
	var got struct{ Results []tim.AccountCheckResult }
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 150 || len(env.accounts.checks) != 2 {
		t.Fatalf("results %d in %d calls, want 150 in 2", len(got.Results), len(env.accounts.checks))
	}
	if r := env.do(t, http.MethodPost, "/api/v1/accounts/check", `{"userIDs":["ok","bad\u0001"]}`, adminHeader()...); r.Status != 400 {
		t.Errorf("invalid id: status = %d, want 400", r.Status)
	}
}

func TestConsultationState(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		query      func(context.Context, call) (any, error)
		wantStatus int
		wantCode   string
	}{
		{"open consultation", "/api/v1/consultations/alice", func(_ context.Context, c call) (any, error) {
			if c.ID != "consultation/alice" || c.Name != workflows.QueryState {
				return nil, errNoFake
			}
			return workflows.ConsultationState{Customer: "alice", Owner: "agent", Status: "human", Agent: "agent_li"}, nil
		}, 200, ""},
		{"escaped customer", "/api/v1/consultations/%E5%AE%A2%E6%88%B7", func(_ context.Context, c call) (any, error) {
			if c.ID != "consultation/客户" {
				return nil, errNoFake
			}
			return workflows.ConsultationState{Customer: "客户"}, nil
		}, 200, ""},
		{"no consultation", "/api/v1/consultations/alice", func(context.Context, call) (any, error) {
			return nil, serviceerror.NewNotFound("workflow not found")
		}, 404, codeNotFound},
		{"worker down", "/api/v1/consultations/alice", func(ctx context.Context, _ call) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			return nil, blockUntilDone(ctx)
		}, 504, codeTimeout},
		{"Temporal unavailable", "/api/v1/consultations/alice", func(context.Context, call) (any, error) {
			return nil, serviceerror.NewUnavailable("down")
		}, 503, codeUnavailable},
		{"invalid customer", "/api/v1/consultations/" + strings.Repeat("a", 40), nil, 400, codeInvalid},
		{"control char customer", "/api/v1/consultations/a%00b", nil, 400, codeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.query = tt.query })
			r := env.do(t, http.MethodGet, tt.path, "", adminHeader()...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantCode != "" {
				if r.ErrorCode(t) != tt.wantCode {
					t.Errorf("error code = %q, want %q", r.ErrorCode(t), tt.wantCode)
				}
				return
			}
			var got struct {
				WorkflowID string
				State      workflows.ConsultationState
			}
			if err := json.Unmarshal(r.Body, &got); err != nil || !strings.HasPrefix(got.WorkflowID, "consultation/") || got.State.Customer == "" {
				t.Errorf("body %s (%v)", r.Body, err)
			}
		})
	}
}

func TestCloseConsultation(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		signal     func(context.Context, call) error
		wantStatus int
		want       workflows.CloseRequest
	}{
		{"default reason", "", func(context.Context, call) error { return nil }, 202, workflows.CloseRequest{Reason: "closed by admin", By: "admin"}},
		{"given reason", `{"reason":"spam","by":"ops"}`, func(context.Context, call) error { return nil }, 202, workflows.CloseRequest{Reason: "spam", By: "ops"}},
		{"none open", "", func(context.Context, call) error {
			return serviceerror.NewNotFound("workflow execution already completed")
		}, 404, workflows.CloseRequest{Reason: "closed by admin", By: "admin"}},
		{"malformed body", `{"reason":`, nil, 400, workflows.CloseRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signal = tt.signal })
			r := env.do(t, http.MethodPost, "/api/v1/consultations/alice/close", tt.body, adminHeader()...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			calls := env.temporal.Calls("Signal")
			if tt.signal == nil {
				if len(calls) != 0 {
					t.Fatalf("signalled on a bad request: %+v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].ID != "consultation/alice" || calls[0].Name != workflows.SignalClose || calls[0].Arg != tt.want {
				t.Errorf("calls = %+v, want close %+v", calls, tt.want)
			}
		})
	}
}

func TestGetRoster(t *testing.T) {
	t.Run("from the roster file", func(t *testing.T) {
		env := newTestEnv(t)
		r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...)
		if r.Status != 200 || string(r.Body) != testRoster || r.Header.Get("X-Roster-Source") != rosterFromFile {
			t.Fatalf("status %d source %q body %s", r.Status, r.Header.Get("X-Roster-Source"), r.Body)
		}
	})
	t.Run("from the desk", func(t *testing.T) {
		desk := strings.Replace(testRoster, "Emma", "Emma B.", 1)
		env := newTestEnv(t, func(e *testEnv) {
			e.temporal.query = func(context.Context, call) (any, error) {
				return workflows.DeskState{RosterYAML: desk, RosterVersion: 7}, nil
			}
		})
		r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...)
		if r.Status != 200 || string(r.Body) != desk || r.Header.Get("X-Roster-Source") != rosterFromDesk || r.Header.Get("X-Roster-Version") != "7" {
			t.Fatalf("status %d headers %v body %s", r.Status, r.Header, r.Body)
		}
	})
	t.Run("none", func(t *testing.T) {
		env := newTestEnv(t)
		app, err := newApp(deps{
			Config: testConfig(), Now: func() time.Time { return testNow },
			Starter: env.temporal, Updater: env.temporal, UpdateStarter: env.temporal, Querier: env.temporal,
			Signaler: env.temporal, Counter: env.temporal, Health: env.temporal, Signer: env.signer,
			Accounts: env.accounts, Translator: env.trans, DetectLanguage: func(string) string { return "" },
			ParseRoster: func([]byte) (*activities.Roster, error) { return nil, errors.New("x") },
		})
		if err != nil {
			t.Fatal(err)
		}
		env.app = app
		if r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...); r.Status != 404 {
			t.Fatalf("status = %d, want 404", r.Status)
		}
		if r := env.do(t, http.MethodGet, "/api/v1/agents", "", adminHeader()...); r.Status != 404 {
			t.Fatalf("agents status = %d, want 404", r.Status)
		}
	})
}

func TestPutRoster(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		update     func(context.Context, call) (any, error)
		wantStatus int
		wantCode   string
	}{
		{"valid roster", testRoster, func(context.Context, call) (any, error) { return workflows.RosterResult{Version: 3}, nil }, 200, ""},
		{"invalid YAML", "agents: [", nil, 400, codeInvalid},
		{"unknown time zone", strings.Replace(testRoster, "Asia/Shanghai", "Mars/Olympus", 1), nil, 400, codeInvalid},
		{"bad shift", strings.Replace(testRoster, "sat 10:00-16:00", "someday", 1), nil, 400, codeInvalid},
		{"empty body", "", nil, 400, codeInvalid},
		{"desk rejects", testRoster, func(context.Context, call) (any, error) {
			return nil, temporal.NewApplicationError("roster has no agents", "BadInput")
		}, 400, codeInvalid},
		{"worker down", testRoster, func(ctx context.Context, _ call) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			return nil, blockUntilDone(ctx)
		}, 504, codeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.updateWithStart = tt.update })
			r := env.do(t, http.MethodPut, "/api/v1/roster", tt.body, append(adminHeader(), "Content-Type", "application/yaml")...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			calls := env.temporal.Calls("UpdateWithStart")
			if tt.update == nil {
				if len(env.temporal.Mutations()) != 0 {
					t.Fatalf("desk updated with an invalid roster: %+v", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("UpdateWithStart calls = %d, want 1", len(calls))
			}
			c := calls[0]
			if c.ID != workflows.DeskWorkflowID || c.Name != workflows.UpdateRoster || c.Update.WaitForStage != client.WorkflowUpdateStageCompleted ||
				c.Arg != (workflows.RosterUpdate{YAML: testRoster}) {
				t.Errorf("update = %+v", c)
			}
			if c.Start.ID != workflows.DeskWorkflowID || c.Start.WorkflowIDConflictPolicy != enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING || c.Start.TaskQueue != "tq-test" {
				t.Errorf("start options = %+v", c.Start)
			}
			if tt.wantStatus == 200 {
				var got rosterUpdateResponse
				if err := json.Unmarshal(r.Body, &got); err != nil || got.Version != 3 || got.Agents != 2 {
					t.Errorf("body %s", r.Body)
				}
			}
		})
	}
}

func TestDeleteRoster(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.updateWithStart = func(context.Context, call) (any, error) { return workflows.RosterResult{Version: 9}, nil }
	})
	r := env.do(t, http.MethodDelete, "/api/v1/roster", "", adminHeader()...)
	if r.Status != 200 {
		t.Fatalf("status = %d; body %s", r.Status, r.Body)
	}
	if calls := env.temporal.Calls("UpdateWithStart"); len(calls) != 1 || calls[0].Arg != (workflows.RosterUpdate{}) {
		t.Fatalf("calls = %+v, want one update with an empty roster", calls)
	}
}

func TestListAgents(t *testing.T) {
	at := testNow.Add(-time.Minute)
	env := newTestEnv(t, func(e *testEnv) {
		e.temporal.query = func(context.Context, call) (any, error) {
			return workflows.DeskState{Presence: map[string]workflows.Presence{"agent_li": {Online: true, At: at}}}, nil
		}
		e.temporal.count = func(_ context.Context, c call) (int64, error) {
			switch {
			case strings.Contains(c.Query, `"agent_li"`):
				return 2, nil
			case strings.Contains(c.Query, `"agent_zhang"`):
				return 0, errors.New("visibility down")
			}
			return 0, nil
		}
	})
	r := env.do(t, http.MethodGet, "/api/v1/agents", "", adminHeader()...)
	if r.Status != 200 {
		t.Fatalf("status = %d; body %s", r.Status, r.Body)
	}
	var got agentsResponse
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Agents) != 3 || got.RosterSource != rosterFromFile || !got.PresenceKnown {
		t.Fatalf("response = %s", r.Body)
	}
	byID := map[string]agentView{}
	for _, a := range got.Agents {
		byID[a.ID] = a
	}
	li, emma, zhang := byID["agent_li"], byID["agent_emma"], byID["agent_zhang"]
	if li.Online == nil || !*li.Online || li.PresenceAt == nil || !li.PresenceAt.Equal(at) || li.Load == nil || *li.Load != 2 ||
		!li.OnDuty || li.Capacity != 5 || li.Language != "zh" {
		t.Errorf("agent_li = %s", mustJSON(li))
	}
	if emma.Online == nil || *emma.Online || emma.Load == nil || *emma.Load != 0 || emma.OnDuty {
		t.Errorf("agent_emma = %s", mustJSON(emma))
	}
	if !zhang.Supervisor || zhang.Load != nil || zhang.Capacity != activities.DefaultCapacity {
		t.Errorf("agent_zhang = %s", mustJSON(zhang))
	}
	for _, c := range env.temporal.Calls("Count") {
		if c.ID != "default" || !strings.HasPrefix(c.Query, `TimdeskStatus = "human" AND TimdeskAgent = "`) {
			t.Errorf("count query %q in namespace %q", c.Query, c.ID)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSetLanguage(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		body       string
		signal     func(context.Context, call) error
		wantStatus int
		want       workflows.LanguagePreference
	}{
		{"set", "/api/v1/users/alice/language", `{"language":"ja"}`, okSignal, 200, workflows.LanguagePreference{UserID: "alice", Language: "ja"}},
		{"region tag", "/api/v1/users/alice/language", `{"language":"zh-CN"}`, okSignal, 200, workflows.LanguagePreference{UserID: "alice", Language: "zh-CN"}},
		{"clear", "/api/v1/users/alice/language", `{"language":""}`, okSignal, 200, workflows.LanguagePreference{UserID: "alice"}},
		{"bad tag", "/api/v1/users/alice/language", `{"language":"english please"}`, nil, 400, workflows.LanguagePreference{}},
		{"bad user", "/api/v1/users/" + strings.Repeat("u", 33) + "/language", `{"language":"en"}`, nil, 400, workflows.LanguagePreference{}},
		{"malformed", "/api/v1/users/alice/language", `{"language":1}`, nil, 400, workflows.LanguagePreference{}},
		{"Temporal unavailable", "/api/v1/users/alice/language", `{"language":"ja"}`, func(context.Context, call) error {
			return serviceerror.NewUnavailable("down")
		}, 503, workflows.LanguagePreference{UserID: "alice", Language: "ja"}},
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
