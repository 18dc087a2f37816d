package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawPayloadJWT signs payload (raw JSON, so a test can send what a JSON encoder would not) with HS256.
func rawPayloadJWT(payload, key string) string {
	enc := base64.RawURLEncoding
	unsigned := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestUserIDsNotAsSent: a user ID that would not be the one sent — raw invalid UTF-8 (the JSON
// decoder replaces it with U+FFFD) or a lone surrogate escape (likewise) — is refused with 400 on
// every route taking one, and nothing is signed, imported or checked: a UserSig for "a\uFFFDb"
// was issued for the body "a\xffb", and the account "adv\uFFFD" imported.
func TestUserIDsNotAsSent(t *testing.T) {
	admin := []string{"Authorization", bearer(testAdminKey)}
	tests := []struct {
		name, method, target, body string
		headers                    []string
		wantInMessage              string
	}{
		{"usersig, raw invalid UTF-8", http.MethodPost, "/api/v1/usersig", "{\"userID\":\"a\xffb\"}", admin, "not valid UTF-8"},
		{"usersig, lone surrogate", http.MethodPost, "/api/v1/usersig", `{"userID":"a\ud800b"}`, admin, "invalid userID"},
		{"usersig, JWT sub with a lone surrogate", http.MethodPost, "/api/v1/usersig", "", []string{"Authorization", bearer(rawPayloadJWT(`{"sub":"a\ud800b","exp":`+itoa(testNow.Add(time.Hour).Unix())+`}`, testJWTSecret))}, "invalid or expired token"},
		{"account, raw invalid UTF-8", http.MethodPost, "/api/v1/accounts", "{\"userID\":\"adv\xff\"}", admin, "not valid UTF-8"},
		{"account, lone surrogate", http.MethodPost, "/api/v1/accounts", `{"userID":"adv\udc00"}`, admin, "invalid userID"},
		{"account, nick not UTF-8", http.MethodPost, "/api/v1/accounts", "{\"userID\":\"carol\",\"nick\":\"C\xe9line\"}", admin, "not valid UTF-8"},
		{"check, lone surrogate", http.MethodPost, "/api/v1/accounts/check", `{"userIDs":["ok","b\ud800"]}`, admin, "invalid userID"},
		{"consultation, U+FFFD in the path", http.MethodGet, "/api/v1/consultations/a%EF%BF%BDb", "", admin, "invalid userID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			r := env.do(t, tt.method, tt.target, tt.body, tt.headers...)
			wantStatus := http.StatusBadRequest
			if strings.Contains(tt.name, "JWT") {
				wantStatus = http.StatusUnauthorized
			}
			if r.Status != wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, wantStatus, r.Body)
			}
			msg, _ := r.JSON(t)["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, tt.wantInMessage) {
				t.Errorf("message %q does not say %q", msg, tt.wantInMessage)
			}
			if env.accounts.touched() || len(env.temporal.Calls()) != 0 {
				t.Errorf("accounts touched %v, Temporal calls %v", env.accounts.touched(), env.temporal.Calls())
			}
		})
	}
	// In a batch import the bad ID is reported and the good one imported.
	env := newTestEnv(t)
	r := env.do(t, http.MethodPost, "/api/v1/accounts/batch", `{"userIDs":["dora","e\ud800"]}`, admin...)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"error":"invalid_user_id"`) {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	if len(env.accounts.batches) != 1 || strings.Join(env.accounts.batches[0], ",") != "dora" {
		t.Errorf("imported %v, want only dora", env.accounts.batches)
	}
}
