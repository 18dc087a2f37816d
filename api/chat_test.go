package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	chatpage "github.com/timdesk/timdesk/chat"
)

func TestChatConfig(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		want      chatConfig
	}{
		{"default is the SDK", "", chatConfig{Transport: "sdk", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount}},
		{"sdk", "sdk", chatConfig{Transport: "sdk", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount}},
		{"sim names the emulator", "sim", chatConfig{Transport: "sim", SDKAppID: testSDKAppID, ServiceAccount: defaultServiceAccount, SimURL: "http://127.0.0.1:9800"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) {
				e.cfg.ChatTransport, e.cfg.ChatSimURL = tt.transport, "http://127.0.0.1:9800"
			})
			r := env.do(t, http.MethodGet, "/chat/config.json", "")
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var got chatConfig
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
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
