package main

import (
	"net/http"
	"testing"
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

func TestAdminAuthFailuresAreRateLimited(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) { e.cfg.UserSigRate, e.cfg.UserSigBurst = 3.0/60, 3 })
	for i, want := range []int{401, 401, 401, 429} {
		if r := env.do(t, http.MethodGet, "/api/v1/roster", "", "Authorization", bearer("guess")); r.Status != want {
			t.Fatalf("attempt %d: status = %d, want %d", i, r.Status, want)
		}
	}
	// The right key still works from the same address.
	if r := env.do(t, http.MethodGet, "/api/v1/roster", "", adminHeader()...); r.Status != 200 {
		t.Fatalf("admin key after failures: status = %d, want 200", r.Status)
	}
}
