package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/timdesk/timdesk/desk"
)

// signJWT signs claims with HS256 and key.
func signJWT(tb testing.TB, claims jwt.MapClaims, key string) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
	if err != nil {
		tb.Fatalf("sign jwt: %v", err)
	}
	return s
}

// userClaims are valid claims for sub at testNow.
func userClaims(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(time.Hour).Unix()}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// rawJWT builds a token from a header and claims with an HMAC-SHA256 signature over them,
// whatever the header says (algorithm-confusion attempts).
func rawJWT(header, claims map[string]any, key string) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

func TestUserSigAuth(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, userClaims("alice")).SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es256, err := jwt.NewWithClaims(jwt.SigningMethodES256, userClaims("alice")).SignedString(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, userClaims("alice")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, userClaims("alice")).SignedString([]byte(testJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any(userClaims("alice"))
	good := signJWT(t, userClaims("alice"), testJWTSecret)

	tests := []struct {
		name       string
		auth       string // Authorization header; "" = none
		body       string
		wantStatus int
		wantCode   string
		wantUser   string
	}{
		{"JWT for self", bearer(good), "", 200, "", "alice"},
		{"JWT for self, body names self", bearer(good), `{"userID":"alice"}`, 200, "", "alice"},
		{"JWT with lowercase scheme", "bearer " + good, "", 200, "", "alice"},
		{"JWT within leeway of exp", bearer(signJWT(t, with(userClaims("alice"), "exp", testNow.Add(-10*time.Second).Unix()), testJWTSecret)), "", 200, "", "alice"},
		{"admin key for anyone", bearer(testAdminKey), `{"userID":"bob"}`, 200, "", "bob"},
		{"admin key, unicode userID", bearer(testAdminKey), `{"userID":"客户_01"}`, 200, "", "客户_01"},

		{"missing Authorization", "", `{"userID":"alice"}`, 401, codeUnauthorized, ""},
		{"Basic scheme", "Basic YWxpY2U6cHc=", "", 401, codeUnauthorized, ""},
		{"empty bearer", "Bearer ", "", 401, codeUnauthorized, ""},
		{"malformed JWT", bearer("not.a.jwt"), "", 401, codeUnauthorized, ""},
		{"garbage token", bearer("garbage"), "", 401, codeUnauthorized, ""},
		{"expired JWT", bearer(signJWT(t, with(userClaims("alice"), "exp", testNow.Add(-time.Hour).Unix()), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"JWT without exp", bearer(signJWT(t, with(userClaims("alice"), "exp", nil), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"not-yet-valid JWT (nbf)", bearer(signJWT(t, with(userClaims("alice"), "nbf", testNow.Add(time.Hour).Unix()), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"JWT issued in the future (iat)", bearer(signJWT(t, with(userClaims("alice"), "iat", testNow.Add(time.Hour).Unix()), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"wrong secret", bearer(signJWT(t, userClaims("alice"), "another-secret-another-secret-xx")), "", 401, codeUnauthorized, ""},
		{"alg none", bearer(none), "", 401, codeUnauthorized, ""},
		{"alg none, empty signature", bearer(strings.TrimSuffix(none, ".") + "."), "", 401, codeUnauthorized, ""},
		{"RS256 token", bearer(rs256), "", 401, codeUnauthorized, ""},
		{"ES256 token", bearer(es256), "", 401, codeUnauthorized, ""},
		{"HS512 token with the right secret", bearer(hs512), "", 401, codeUnauthorized, ""},
		{"RS256 header, HMAC signature (alg confusion)", bearer(rawJWT(map[string]any{"alg": "RS256", "typ": "JWT"}, claims, testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"NONE header, HMAC signature", bearer(rawJWT(map[string]any{"alg": "none", "typ": "JWT"}, claims, testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"JWT without sub", bearer(signJWT(t, with(userClaims("alice"), "sub", nil), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"JWT with overlong sub", bearer(signJWT(t, userClaims(strings.Repeat("a", 33)), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"JWT with control char in sub", bearer(signJWT(t, userClaims("al\nice"), testJWTSecret)), "", 401, codeUnauthorized, ""},
		{"JWT for A asking for B", bearer(good), `{"userID":"bob"}`, 403, codeForbidden, ""},
		{"JWT whose sub is the app admin", bearer(signJWT(t, userClaims(testConfig().Admin), testJWTSecret)), "", 403, codeForbidden, ""},
		{"JWT whose sub is the service account", bearer(signJWT(t, userClaims(testConfig().ServiceAccount), testJWTSecret)), "", 403, codeForbidden, ""},
		{"admin key for the service account", bearer(testAdminKey), `{"userID":"support"}`, 200, "", "support"},
		{"JWT, malformed body", bearer(good), `{"userID":`, 400, codeInvalid, ""},
		{"JWT, unknown body field", bearer(good), `{"user":"bob"}`, 400, codeInvalid, ""},
		{"wrong admin key", bearer(testAdminKey + "x"), `{"userID":"bob"}`, 401, codeUnauthorized, ""},
		{"admin key without userID", bearer(testAdminKey), `{}`, 400, codeInvalid, ""},
		{"admin key, overlong userID", bearer(testAdminKey), `{"userID":"` + strings.Repeat("b", 33) + `"}`, 400, codeInvalid, ""},
		{"admin key, control char userID", bearer(testAdminKey), `{"userID":"b\u0000b"}`, 400, codeInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, withDesk(desk.State{}))
			var headers []string
			if tt.auth != "" {
				headers = []string{"Authorization", tt.auth}
			}
			r := env.do(t, http.MethodPost, "/api/v1/usersig", tt.body, headers...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantCode != "" {
				if got := r.ErrorCode(t); got != tt.wantCode {
					t.Errorf("error code = %q, want %q", got, tt.wantCode)
				}
				if strings.Contains(string(r.Body), "userSig") {
					t.Errorf("error response carries a sig: %s", r.Body)
				}
				return
			}
			var got userSigResponse
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("body: %v: %s", err, r.Body)
			}
			if got.SDKAppID != testSDKAppID || got.UserID != tt.wantUser || got.ExpireAt != testNow.Add(24*time.Hour).Unix() {
				t.Errorf("response = %+v", got)
			}
			if err := env.signer.Verify(tt.wantUser, got.UserSig, testNow.Add(time.Hour)); err != nil {
				t.Errorf("returned UserSig does not verify with tim.Signer.Verify: %v", err)
			}
			if err := env.signer.Verify("mallory", got.UserSig, testNow); err == nil {
				t.Errorf("UserSig verifies for another user")
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
			}
		})
	}
}

func TestUserSigIssuerAudience(t *testing.T) {
	env := newTestEnv(t, withDesk(desk.State{}), func(e *testEnv) {
		e.cfg.JWTIssuer = "https://login.example.com"
		e.cfg.JWTAudience = "timdesk"
	})
	base := with(userClaims("alice"), "iss", "https://login.example.com", "aud", []string{"timdesk", "other"})
	tests := []struct {
		name       string
		claims     jwt.MapClaims
		wantStatus int
	}{
		{"matching iss and aud", base, 200},
		{"aud as a string", with(base, "aud", "timdesk"), 200},
		{"wrong iss", with(base, "iss", "https://evil.example.com"), 401},
		{"missing iss", with(base, "iss", nil), 401},
		{"wrong aud", with(base, "aud", "billing"), 401},
		{"missing aud", with(base, "aud", nil), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.do(t, http.MethodPost, "/api/v1/usersig", "", "Authorization", bearer(signJWT(t, tt.claims, testJWTSecret)))
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
		})
	}
}

func TestUserSigTTL(t *testing.T) {
	env := newTestEnv(t, func(e *testEnv) { e.cfg.UserSigTTL = time.Hour })
	r := env.do(t, http.MethodPost, "/api/v1/usersig", `{"userID":"bob"}`, "Authorization", bearer(testAdminKey))
	var got userSigResponse
	if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != 200 {
		t.Fatalf("status %d body %s", r.Status, r.Body)
	}
	if got.ExpireAt != testNow.Add(time.Hour).Unix() {
		t.Errorf("expireAt = %d, want now+1h", got.ExpireAt)
	}
	if err := env.signer.Verify("bob", got.UserSig, testNow.Add(2*time.Hour)); err == nil {
		t.Errorf("UserSig still valid after its TTL")
	}
}

func TestUserSigRateLimit(t *testing.T) {
	env := newTestEnv(t, withDesk(desk.State{}), func(e *testEnv) { e.cfg.UserSigRate, e.cfg.UserSigBurst = 2.0/60, 2 })
	jwtHeader := []string{"Authorization", bearer(signJWT(t, userClaims("alice"), testJWTSecret))}
	for i, want := range []int{200, 200, 429, 429} {
		r := env.do(t, http.MethodPost, "/api/v1/usersig", "", jwtHeader...)
		if r.Status != want {
			t.Fatalf("request %d: status = %d, want %d; body %s", i, r.Status, want, r.Body)
		}
		if want == 429 {
			if r.ErrorCode(t) != codeRateLimited || r.Header.Get("Retry-After") == "" {
				t.Errorf("429 without code or Retry-After: %v %s", r.Header, r.Body)
			}
		}
	}
	// Unauthenticated attempts count too.
	if r := env.do(t, http.MethodPost, "/api/v1/usersig", ""); r.Status != 429 {
		t.Errorf("unauthenticated status = %d, want 429", r.Status)
	}
	// Server-to-server calls with the admin key are not limited.
	if r := env.do(t, http.MethodPost, "/api/v1/usersig", `{"userID":"bob"}`, "Authorization", bearer(testAdminKey)); r.Status != 200 {
		t.Errorf("admin status = %d, want 200", r.Status)
	}
}

func TestIPLimiterRefills(t *testing.T) {
	now := testNow
	l := newIPLimiter(1, 2, func() time.Time { return now })
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow(netip.MustParseAddr("1.2.3.4")); ok != want {
			t.Fatalf("request %d: allow = %v, want %v", i, ok, want)
		}
	}
	if ok, _ := l.allow(netip.MustParseAddr("5.6.7.8")); !ok {
		t.Fatalf("another IP is limited")
	}
	now = now.Add(1500 * time.Millisecond)
	if ok, _ := l.allow(netip.MustParseAddr("1.2.3.4")); !ok {
		t.Fatalf("no refill after 1.5 s at 1/s")
	}
	if ok, wait := l.allow(netip.MustParseAddr("1.2.3.4")); ok || wait <= 0 || wait > time.Second {
		t.Fatalf("allow = %v wait %s, want false with a wait ≤ 1 s", ok, wait)
	}
}
