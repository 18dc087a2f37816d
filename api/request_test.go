package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestJSONBodyProblemNamed: an admin API body that does not decode is refused with a message that
// says what is wrong — empty, not JSON, not an object, which field has the wrong type, which field
// is unknown — instead of a bare "malformed JSON body", without quoting a value.
func TestJSONBodyProblemNamed(t *testing.T) {
	admin := []string{"Authorization", bearer(testAdminKey)}
	tests := []struct {
		name, method, target, body, want string
	}{
		{"unknown field", http.MethodPost, "/api/v1/usersig", `{"user":"alice"}`, `malformed JSON body: unknown field "user"`},
		{"long unknown field", http.MethodPost, "/api/v1/usersig", `{"` + strings.Repeat("k", 60) + `":1}`, `unknown field "` + strings.Repeat("k", 40) + `…"`},
		{"userID a number", http.MethodPost, "/api/v1/usersig", `{"userID":12345}`, "malformed JSON body: userID must be a string"},
		{"userIDs a string", http.MethodPost, "/api/v1/accounts/batch", `{"userIDs":"d1"}`, "malformed JSON body: userIDs must be an array"},
		{"body an array", http.MethodPost, "/api/v1/accounts", `[]`, "malformed JSON body: not a JSON object"},
		{"body not JSON", http.MethodPost, "/api/v1/accounts", `{"userID":`, "malformed JSON body: not valid JSON"},
		{"no body", http.MethodPut, "/api/v1/users/bob/language", ``, "malformed JSON body: empty"},
		{"close with an unknown field", http.MethodPost, "/api/v1/consultations/alice/close", `{"why":"x"}`, `malformed JSON body: unknown field "why"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			r := env.do(t, tt.method, tt.target, tt.body, admin...)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", r.Status, r.Body)
			}
			msg, _ := r.JSON(t)["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not say %q", msg, tt.want)
			}
			if strings.Contains(msg, "12345") {
				t.Errorf("message %q quotes the value", msg)
			}
			if env.accounts.touched() || len(env.temporal.Calls()) != 0 {
				t.Error("a refused body reached Tencent or Temporal")
			}
		})
	}
}
