package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	chatpage "github.com/timdesk/timdesk/chat"
)

func TestChatConfig(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		hosts     []string
		want      chatConfig
	}{
		{"default is the SDK", "", nil, chatConfig{Transport: "sdk", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount, HostOrigins: []string{}}},
		{"sdk", "sdk", nil, chatConfig{Transport: "sdk", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount, HostOrigins: []string{}}},
		{"sim names the emulator", "sim", nil, chatConfig{Transport: "sim", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount, SimURL: "http://127.0.0.1:9800", HostOrigins: []string{}}},
		{"host origins", "sdk", []string{"https://app.example.com", "capacitor://localhost"},
			chatConfig{Transport: "sdk", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount, HostOrigins: []string{"https://app.example.com", "capacitor://localhost"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.cfg.ChatTransport, e.cfg.ChatSimURL = tt.transport, "http://127.0.0.1:9800"
				e.cfg.ChatHostOrigins = tt.hosts
			})
			r := env.do(t, http.MethodGet, "/chat/config.json", "")
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var got chatConfig
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
			// The page tells an unconfigured list from an empty one by no means: never null.
			if !bytes.Contains(r.Body, []byte(`"hostOrigins":[`)) {
				t.Errorf("hostOrigins is not a list: %s", r.Body)
			}
		})
	}
}

func TestChatPageFiles(t *testing.T) {
	env := newTestEnv(t)
	index, err := io.ReadAll(must(chatpage.Files().Open("index.html")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target string
		status       int
		ctype        string
	}{
		{"index", "/chat/", http.StatusOK, "text/html"},
		{"index by name", "/chat/index.html", http.StatusOK, "text/html"},
		{"script", "/chat/app.js", http.StatusOK, "javascript"},
		{"style", "/chat/style.css", http.StatusOK, "text/css"},
		{"missing", "/chat/nope.js", http.StatusNotFound, "application/json"},
		{"no escape", "/chat/../go.mod", http.StatusNotFound, ""},
		{"redirect", "/chat", http.StatusMovedPermanently, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.do(t, http.MethodGet, tt.target, "")
			if r.Status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", r.Status, tt.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", ct, tt.ctype)
			}
		})
	}
	r := env.do(t, http.MethodGet, "/chat/", "")
	if !bytes.Equal(r.Body, index) {
		t.Error("/chat/ is not chat/dist/index.html")
	}
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, r.Header.Get("Cache-Control"))
	}
	if r := env.do(t, http.MethodGet, "/chat/", "", "If-None-Match", etag); r.Status != http.StatusNotModified {
		t.Errorf("revalidation status = %d, want 304", r.Status)
	}

	plain := env.do(t, http.MethodGet, "/chat/app.js", "")
	zipped := env.do(t, http.MethodGet, "/chat/app.js", "", "Accept-Encoding", "gzip, br")
	if zipped.Header.Get("Content-Encoding") != "gzip" || len(zipped.Body) >= len(plain.Body) {
		t.Fatalf("gzip: encoding %q, %d bytes vs %d plain", zipped.Header.Get("Content-Encoding"), len(zipped.Body), len(plain.Body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain.Body) {
		t.Errorf("gzip body does not inflate to app.js (err %v)", err)
	}
}

// TestChatFrameAncestors checks who may frame the page: every /chat/ response (the page, its
// files, its config, a redirect and a 404) says frame-ancestors 'self' and the configured host
// origins, next to nosniff and no-referrer.
func TestChatFrameAncestors(t *testing.T) {
	tests := []struct {
		name  string
		hosts []string
		want  string
	}{
		{"only the API's own origin by default", nil, "frame-ancestors 'self'"},
		{"the configured hosts", []string{"https://app.example.com", "http://127.0.0.1:5173"}, "frame-ancestors 'self' https://app.example.com http://127.0.0.1:5173"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.cfg.ChatHostOrigins = tt.hosts })
			for _, target := range []string{"/chat/", "/chat/index.html", "/chat/app.js", "/chat/config.json", "/chat", "/chat/nope.js"} {
				r := env.do(t, http.MethodGet, target, "")
				if got := r.Header.Get("Content-Security-Policy"); got != tt.want {
					t.Errorf("%s: Content-Security-Policy = %q, want %q", target, got, tt.want)
				}
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s: X-Content-Type-Options = %q", target, got)
				}
				if target != "/chat/config.json" && r.Header.Get("Referrer-Policy") != "no-referrer" {
					t.Errorf("%s: Referrer-Policy = %q", target, r.Header.Get("Referrer-Policy"))
				}
			}
			// Revalidation keeps the policy too.
			first := env.do(t, http.MethodGet, "/chat/", "")
			again := env.do(t, http.MethodGet, "/chat/", "", "If-None-Match", first.Header.Get("ETag"))
			if again.Status != http.StatusNotModified || again.Header.Get("Content-Security-Policy") != tt.want {
				t.Errorf("304: status %d, Content-Security-Policy %q", again.Status, again.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLoadConfigChat(t *testing.T) {
	tests := []struct {
		name              string
		env               map[string]string
		wantTransport     string
		wantSimURL        string
		wantErrSubstrings string
	}{
		{"default", nil, "sdk", defaultTIMBaseURL, ""},
		{"sim follows the TIM base URL", map[string]string{"TIMDESK_CHAT_TRANSPORT": "sim", "TIMDESK_TIM_BASE_URL": "http://127.0.0.1:9800"}, "sim", "http://127.0.0.1:9800", ""},
		{"sim URL as the browser sees it", map[string]string{"TIMDESK_CHAT_TRANSPORT": "SIM", "TIMDESK_CHAT_SIM_URL": "https://sim.example.com"}, "sim", "https://sim.example.com", ""},
		{"unknown transport", map[string]string{"TIMDESK_CHAT_TRANSPORT": "websocket"}, "", "", "TIMDESK_CHAT_TRANSPORT"},
		{"bad sim URL", map[string]string{"TIMDESK_CHAT_TRANSPORT": "sim", "TIMDESK_CHAT_SIM_URL": "ftp://x"}, "", "", "TIMDESK_CHAT_SIM_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := requiredEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := loadConfig(envMap(env))
			if tt.wantErrSubstrings != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstrings) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErrSubstrings)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ChatTransport != tt.wantTransport || cfg.ChatSimURL != tt.wantSimURL {
				t.Errorf("transport %q sim URL %q, want %q %q", cfg.ChatTransport, cfg.ChatSimURL, tt.wantTransport, tt.wantSimURL)
			}
		})
	}
}

func TestLoadConfigChatHostOrigins(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    []string
		wantErr string // a part of the error besides the variable's name
	}{
		{"unset: same origin only", "", nil, ""},
		{"blank items", " , ,", nil, ""},
		{"one", "https://app.example.com", []string{"https://app.example.com"}, ""},
		{"several, spaces, a port", " https://app.example.com , http://127.0.0.1:5173,capacitor://localhost", []string{"https://app.example.com", "http://127.0.0.1:5173", "capacitor://localhost"}, ""},
		{"as a browser serializes it", "HTTPS://App.Example.COM:443,http://a.example:80,http://[::1]:8080", []string{"https://app.example.com", "http://a.example", "http://[::1]:8080"}, ""},
		{"each once", "https://a.example,https://A.example:443", []string{"https://a.example"}, ""},
		{"no scheme", "app.example.com", nil, `"app.example.com" is not an origin`},
		{"host:port without scheme", "app.example.com:8443", nil, "no scheme://"},
		{"a path", "https://app.example.com/chat", nil, "no path"},
		{"a trailing slash", "https://app.example.com/", nil, "no path"},
		{"a query", "https://app.example.com?x=1", nil, "no path"},
		{"a fragment", "https://app.example.com#x", nil, "no path"},
		{"a user", "https://me@app.example.com", nil, "user"},
		{"a wildcard", "https://*.example.com", nil, "wildcards"},
		{"star alone", "*", nil, "not an origin"},
		{"no host", "https://", nil, "no host"},
		{"a bad port", "https://app.example.com:99999", nil, "port"},
		{"an empty port", "https://app.example.com:", nil, "empty port"},
		{"a space inside", "https://app.example.com https://b.example.com", nil, "not an origin"},
		{"one bad among good", "https://a.example,ftp//b", nil, `"ftp//b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := requiredEnv()
			env["TIMDESK_CHAT_HOST_ORIGINS"] = tt.raw
			cfg, err := loadConfig(envMap(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "TIMDESK_CHAT_HOST_ORIGINS") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming TIMDESK_CHAT_HOST_ORIGINS and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.ChatHostOrigins, tt.want) {
				t.Errorf("ChatHostOrigins = %q, want %q", cfg.ChatHostOrigins, tt.want)
			}
		})
	}
}
