package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"net/http"
	"strings"
	"testing"

	"github.com/timdesk/timdesk/tim"
)

func gzipped(tb testing.TB, s string) string {
	tb.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

func deflated(tb testing.TB, s string) string {
	tb.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

// TestCompressedBodiesRefused: a request body with a Content-Encoding (gzip, deflate, br, any other
// but identity) is refused with 415 before anything reads it — Fiber would inflate it in memory
// without a limit, and the size limits count compressed bytes (a 200 KB gzip of zeros made the
// API allocate 1 GB before the signature check) — and nothing reaches Temporal, the signer or
// Tencent. A refused callback still gets Tencent's ErrorCode/ErrorInfo.
func TestCompressedBodiesRefused(t *testing.T) {
	msg := c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("你好"), "")
	cb := goodURL(tim.CmdC2CBeforeSendMsg)
	bomb := gzipped(t, `{"x":"`+strings.Repeat("0", 8<<20)+`"}`) // 8 MB of JSON in about 8 KB
	admin := []string{"Authorization", bearer(testAdminKey)}
	tests := []struct {
		name, target, body, encoding string
		headers                      []string
		wantStatus                   int
	}{
		{"gzip callback", cb, gzipped(t, msg), "gzip", nil, 415},
		{"GZIP callback", cb, gzipped(t, msg), "GZIP", nil, 415},
		{"gzip twice", cb, gzipped(t, gzipped(t, msg)), "gzip, gzip", nil, 415},
		{"deflate callback", cb, deflated(t, msg), "deflate", nil, 415},
		{"br header, plain body", cb, msg, "br", nil, 415},
		{"unknown encoding, plain body", cb, msg, "zstd", nil, 415},
		{"gzip bomb, unsigned", "/tim/callback", bomb, "gzip", nil, 415},
		{"gzip usersig", "/api/v1/usersig", gzipped(t, `{"userID":"alice"}`), "gzip", admin, 415},
		{"gzip account import", "/api/v1/accounts", gzipped(t, `{"userID":"carol"}`), "gzip", admin, 415},
		{"identity callback", cb, msg, "identity", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			r := env.do(t, http.MethodPost, tt.target, tt.body, append([]string{"Content-Encoding", tt.encoding}, tt.headers...)...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantStatus == 200 {
				if n := len(env.temporal.Mutations()); n != 1 {
					t.Errorf("%d Temporal calls for a plain body, want 1", n)
				}
				return
			}
			body := r.JSON(t)
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if r.ErrorCode(t) != codeEncoding || !strings.Contains(msg, "Content-Encoding") {
				t.Errorf("error = %s, want %s naming Content-Encoding", r.Body, codeEncoding)
			}
			if strings.HasPrefix(tt.target, "/tim/callback") && (body["ErrorCode"] != float64(1) || body["ErrorInfo"] != msg) {
				t.Errorf("callback refusal without Tencent's ErrorCode/ErrorInfo: %s", r.Body)
			}
			if m := env.temporal.Mutations(); len(m) != 0 {
				t.Errorf("Temporal was changed: %+v", m)
			}
			if env.accounts.touched() {
				t.Error("Tencent accounts were touched")
			}
		})
	}
}
