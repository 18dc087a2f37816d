package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"testing"
	"time"
)

// envMap is a getenv over a map.
func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func requiredEnv() map[string]string {
	return map[string]string{
		"TIMDESK_SDKAPPID":        "1400000001",
		"TIMDESK_SECRET_KEY":      testSecretKey,
		"TIMDESK_ADMIN_API_KEY":   testAdminKey,
		"TIMDESK_AUTH_JWT_SECRET": testJWTSecret,
		"TIMDESK_CALLBACK_TOKEN":  testCBToken,
		// Hermetic: no Temporal CLI profile from the developer's home directory.
		"TEMPORAL_CONFIG_FILE": os.DevNull,
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(envMap(requiredEnv()))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"SDKAppID", cfg.SDKAppID, uint64(1400000001)},
		{"Admin", cfg.Admin, "administrator"},
		{"TIMBaseURL", cfg.TIMBaseURL, "https://console.tim.qq.com"},
		{"ServiceAccount", cfg.ServiceAccount, "support"},
		{"Listen", cfg.Listen, ":8080"},
		{"TemporalAddress", cfg.TemporalAddress, "localhost:7233"},
		{"TemporalNamespace", cfg.TemporalNamespace, "default"},
		{"TaskQueue", cfg.TaskQueue, "timdesk"},
		{"LogFormat", cfg.LogFormat, "json"},
		{"UserSigTTL", cfg.UserSigTTL, 24 * time.Hour},
		{"CallbackBudget", cfg.CallbackBudget, 1200 * time.Millisecond},
		{"TranslateBudget", cfg.TranslateBudget, 1200 * time.Millisecond},
		{"RequestTimeout", cfg.RequestTimeout, 30 * time.Second},
		{"UserSigBurst", cfg.UserSigBurst, 60},
		{"UserSigRate", cfg.UserSigRate, 1.0},
		{"LLMConfigured", cfg.LLMConfigured, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigReportsEverythingAtOnce(t *testing.T) {
	_, err := loadConfig(envMap(map[string]string{
		"TIMDESK_USERSIG_TTL":     "forever",
		"TIMDESK_CALLBACK_BUDGET": "3s",
		"TIMDESK_LOG_FORMAT":      "xml",
		"TIMDESK_USERSIG_RATE":    "10/fortnight",
	}))
	if !errors.Is(err, errInvalidConfig) {
		t.Fatalf("err = %v, want errInvalidConfig", err)
	}
	for _, want := range []string{"TIMDESK_SDKAPPID", "TIMDESK_SECRET_KEY", "TIMDESK_ADMIN_API_KEY", "TIMDESK_AUTH_JWT_SECRET", "TIMDESK_CALLBACK_TOKEN",
		"TIMDESK_USERSIG_TTL", "TIMDESK_CALLBACK_BUDGET", "TIMDESK_LOG_FORMAT", "TIMDESK_USERSIG_RATE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}

func TestLoadConfigValues(t *testing.T) {
	env := requiredEnv()
	env["TIMDESK_USERSIG_TTL"] = "2h"
	env["TIMDESK_CALLBACK_BUDGET"] = "800ms"
	env["TIMDESK_TRANSLATE_BUDGET"] = "500ms"
	env["TIMDESK_USERSIG_RATE"] = "5/s"
	env["TIMDESK_TRUSTED_PROXIES"] = "10.0.0.0/8, 127.0.0.1"
	env["OPENAI_BASE_URL"] = "http://127.0.0.1:9999/v1"
	env["TIMDESK_AUTH_JWT_ISSUER"] = "iss"
	env["TIMDESK_AUTH_JWT_AUDIENCE"] = "aud"
	cfg, err := loadConfig(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UserSigTTL != 2*time.Hour || cfg.CallbackBudget != 800*time.Millisecond || cfg.TranslateBudget != 500*time.Millisecond ||
		cfg.UserSigRate != 5 || cfg.UserSigBurst != 5 || len(cfg.TrustedProxies) != 2 || !cfg.LLMConfigured ||
		cfg.JWTIssuer != "iss" || cfg.JWTAudience != "aud" {
		t.Errorf("cfg = %s", cfg)
	}
	if want := "[10.0.0.0/8 127.0.0.1/32]"; fmt.Sprint(cfg.TrustedProxies) != want {
		t.Errorf("TrustedProxies = %v, want %s", cfg.TrustedProxies, want)
	}
	env["TIMDESK_TRUSTED_PROXIES"] = "10.0.0.0/8, lb.internal"
	if _, err := loadConfig(envMap(env)); err == nil || !strings.Contains(err.Error(), "TIMDESK_TRUSTED_PROXIES") || !strings.Contains(err.Error(), "lb.internal") {
		t.Errorf("bad trusted proxy: err = %v", err)
	}
	env["TIMDESK_TRUSTED_PROXIES"] = ""
	env["TIMDESK_SDKAPPID"] = "abc"
	if _, err := loadConfig(envMap(env)); err == nil || !strings.Contains(err.Error(), "TIMDESK_SDKAPPID") {
		t.Errorf("bad SDKAppID: err = %v", err)
	}
}

// TestLoadConfigCallbackToken: without a callback token the API refuses to start (saying where
// Tencent's console sets it) unless TIMDESK_INSECURE_NO_CALLBACK_TOKEN=1 says so explicitly.
func TestLoadConfigCallbackToken(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		insecure string
		wantErr  []string // substrings of the error; nil = starts
		warning  string   // substring of a config warning
	}{
		{name: "token set", token: "tok-0123456789abcdef"},
		{name: "no token", wantErr: []string{"TIMDESK_CALLBACK_TOKEN is required", "console", "Callback authentication", "TIMDESK_INSECURE_NO_CALLBACK_TOKEN=1"}},
		{name: "no token, insecure off", insecure: "0", wantErr: []string{"TIMDESK_CALLBACK_TOKEN is required"}},
		{name: "no token, insecure on", insecure: "1", warning: "unsigned callbacks are accepted"},
		{name: "no token, insecure true", insecure: "true", warning: "unsigned callbacks are accepted"},
		{name: "insecure garbage", insecure: "yes please", wantErr: []string{"TIMDESK_INSECURE_NO_CALLBACK_TOKEN must be"}},
		{name: "token and insecure", token: "tok-0123456789abcdef", insecure: "1", warning: "is ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := requiredEnv()
			env["TIMDESK_CALLBACK_TOKEN"] = tt.token
			env["TIMDESK_INSECURE_NO_CALLBACK_TOKEN"] = tt.insecure
			cfg, err := loadConfig(envMap(env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
			} else {
				if !errors.Is(err, errInvalidConfig) {
					t.Fatalf("err = %v, want errInvalidConfig", err)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q: %v", want, err)
					}
				}
			}
			got := strings.Join(cfg.configWarnings, "\n")
			if tt.warning != "" && !strings.Contains(got, tt.warning) {
				t.Errorf("warnings = %q, want one containing %q", got, tt.warning)
			}
			if tt.warning == "" && got != "" {
				t.Errorf("unexpected warnings %q", got)
			}
		})
	}
}

// TestRunRefusesWithoutCallbackToken: the program itself does not start (and never listens).
func TestRunRefusesWithoutCallbackToken(t *testing.T) {
	env := requiredEnv()
	delete(env, "TIMDESK_CALLBACK_TOKEN")
	env["TIMDESK_LISTEN"] = "127.0.0.1:0"
	err := run(context.Background(), envMap(env), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TIMDESK_CALLBACK_TOKEN is required") {
		t.Fatalf("run without a callback token: %v", err)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in        string
		perSecond float64
		burst     int
		ok        bool
	}{
		{"60/m", 1, 60, true},
		{"5/s", 5, 5, true},
		{"3600/h", 1, 3600, true},
		{"120", 2, 120, true},
		{"0", 0, 0, true},
		{"-1/s", 0, 0, false},
		{"x/s", 0, 0, false},
		{"1/d", 0, 0, false},
	}
	for _, tt := range tests {
		ps, b, err := parseRate(tt.in)
		if (err == nil) != tt.ok || ps != tt.perSecond || b != tt.burst {
			t.Errorf("parseRate(%q) = %v, %d, %v; want %v, %d, ok=%v", tt.in, ps, b, err, tt.perSecond, tt.burst, tt.ok)
		}
	}
}

func TestConfigStringRedactsSecrets(t *testing.T) {
	env := requiredEnv()
	env["TIMDESK_CALLBACK_TOKEN"] = "cb-token-secret-0123"
	env["OPENAI_API_KEY"] = "sk-openai-secret"
	cfg, err := loadConfig(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.String()
	for _, secret := range []string{testSecretKey, testAdminKey, testJWTSecret, "cb-token-secret-0123", "sk-openai-secret"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() leaks %q: %s", secret, s)
		}
	}
	if !strings.Contains(s, "[redacted]") || !strings.Contains(s, "1400000001") {
		t.Errorf("String() = %s", s)
	}
	if v := cfg.LogValue().String(); v != s {
		t.Errorf("LogValue = %s", v)
	}
}

// TestLoadConfigRefusesWeakSecrets: deploy/timdesk.env.example loaded as it is does not start (its
// placeholders are public), nor do secrets shorter than their minimum; the refusal names the
// variables and never shows a value.
func TestLoadConfigRefusesWeakSecrets(t *testing.T) {
	example, err := os.ReadFile("../deploy/timdesk.env.example")
	if err != nil {
		t.Fatal(err)
	}
	exampleEnv := map[string]string{}
	for _, line := range strings.Split(string(example), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			exampleEnv[k] = v
		}
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"the example file as it is", exampleEnv, []string{"TIMDESK_SECRET_KEY still holds the placeholder",
			"TIMDESK_CALLBACK_TOKEN still holds the placeholder", "TIMDESK_AUTH_JWT_SECRET still holds the placeholder",
			"TIMDESK_ADMIN_API_KEY still holds the placeholder"}},
		{"short JWT secret", map[string]string{"TIMDESK_AUTH_JWT_SECRET": strings.Repeat("j", 31)}, []string{"TIMDESK_AUTH_JWT_SECRET must be at least 32 bytes"}},
		{"short admin key", map[string]string{"TIMDESK_ADMIN_API_KEY": strings.Repeat("a", 31)}, []string{"TIMDESK_ADMIN_API_KEY must be at least 32 bytes"}},
		{"short callback token", map[string]string{"TIMDESK_CALLBACK_TOKEN": strings.Repeat("c", 15)}, []string{"TIMDESK_CALLBACK_TOKEN must be at least 16 bytes"}},
		{"minimum lengths start", map[string]string{"TIMDESK_AUTH_JWT_SECRET": strings.Repeat("j", 32),
			"TIMDESK_ADMIN_API_KEY": strings.Repeat("a", 32), "TIMDESK_CALLBACK_TOKEN": strings.Repeat("c", 16)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := requiredEnv()
			maps.Copy(env, tt.env)
			_, err := loadConfig(envMap(env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
				return
			}
			if !errors.Is(err, errInvalidConfig) {
				t.Fatalf("err = %v, want errInvalidConfig", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			for _, v := range tt.env {
				if len(v) >= 8 && strings.Contains(err.Error(), v) {
					t.Errorf("error shows the value %q: %v", v, err)
				}
			}
		})
	}
}

func TestLoadConfigAgentClaim(t *testing.T) {
	tests := []struct {
		raw         string
		name, value string
		wantErr     bool
	}{
		{"", "", "", false},
		{"role=agent", "role", "agent", false},
		{" groups = staff ", "groups", "staff", false},
		{"https://example.com/roles=desk-agent", "https://example.com/roles", "desk-agent", false},
		{"role", "", "", true},
		{"role=", "", "", true},
		{"=agent", "", "", true},
		{"sub=agent_emma", "", "", true},
		{"exp=1", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			env := requiredEnv()
			env["TIMDESK_AUTH_JWT_AGENT_CLAIM"] = tt.raw
			cfg, err := loadConfig(envMap(env))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "TIMDESK_AUTH_JWT_AGENT_CLAIM") {
					t.Fatalf("err = %v, want one naming TIMDESK_AUTH_JWT_AGENT_CLAIM", err)
				}
				return
			}
			if err != nil || cfg.JWTAgentClaim != tt.name || cfg.JWTAgentValue != tt.value {
				t.Fatalf("claim %q value %q err %v; want %q %q", cfg.JWTAgentClaim, cfg.JWTAgentValue, err, tt.name, tt.value)
			}
		})
	}
}
