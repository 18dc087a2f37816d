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
// but identity) is refused before anything reads it (415; a callback 200 + ErrorCode 1) — Fiber would inflate it in memory
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
		refused                      bool
	}{
		{"gzip callback", cb, gzipped(t, msg), "gzip", nil, true},
		{"GZIP callback", cb, gzipped(t, msg), "GZIP", nil, true},
		{"gzip twice", cb, gzipped(t, gzipped(t, msg)), "gzip, gzip", nil, true},
		{"deflate callback", cb, deflated(t, msg), "deflate", nil, true},
		{"br header, plain body", cb, msg, "br", nil, true},
		{"unknown encoding, plain body", cb, msg, "zstd", nil, true},
		{"gzip bomb, unsigned", "/tim/callback", bomb, "gzip", nil, true},
		{"gzip usersig", "/api/v1/usersig", gzipped(t, `{"userID":"alice"}`), "gzip", admin, true},
		{"gzip account import", "/api/v1/accounts", gzipped(t, `{"userID":"carol"}`), "gzip", admin, true},
		{"identity callback", cb, msg, "identity", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			r := env.do(t, http.MethodPost, tt.target, tt.body, append([]string{"Content-Encoding", tt.encoding}, tt.headers...)...)
			if !tt.refused {
				if cr := callbackAnswer(t, r); cr.ErrorCode != 0 {
					t.Errorf("plain body answered ErrorCode %d, want 0", cr.ErrorCode)
				}
				if n := len(env.temporal.Mutations()); n != 1 {
					t.Errorf("%d Temporal calls for a plain body, want 1", n)
				}
				return
			}
			var msg string
			if strings.HasPrefix(tt.target, "/tim/callback") {
				msg = callbackRefusal(t, r, codeEncoding) // 200 + ErrorCode 1: Tencent refuses the send
			} else {
				if r.Status != http.StatusUnsupportedMediaType || r.ErrorCode(t) != codeEncoding {
					t.Fatalf("status = %d, want 415 %s; body %s", r.Status, codeEncoding, r.Body)
				}
				msg, _ = r.JSON(t)["error"].(map[string]any)["message"].(string)
			}
			if !strings.Contains(msg, "Content-Encoding") {
				t.Errorf("error = %s, want a message naming Content-Encoding", r.Body)
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
