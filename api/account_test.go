package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/timdesk/timdesk/tim"
)

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
