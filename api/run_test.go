package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunConfigError(t *testing.T) {
	err := run(context.Background(), envMap(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TIMDESK_SECRET_KEY") {
		t.Fatalf("run without config: %v", err)
	}
}

func TestRunPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	env := requiredEnv()
	env["TIMDESK_LISTEN"] = ln.Addr().String()
	env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"
	err = run(context.Background(), envMap(env), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("run on a busy port: %v", err)
	}
}

// TestRunServes starts the real program on loopback (Temporal unreachable), checks a few routes
// over HTTP and stops it through the context.
func TestRunServes(t *testing.T) {
	env := requiredEnv()
	env["TIMDESK_LISTEN"] = "127.0.0.1:0"
	env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"               // nothing listens: lazy client, calls fail fast
	env["TEMPORAL_API_KEY"] = "temporal-cloud-key-secret" // Temporal Cloud settings (TLS on) start lazily too
	env["TIMDESK_CALLBACK_TOKEN"] = testCBToken
	env["TIMDESK_CALLBACK_BUDGET"] = "300ms"
	env["TIMDESK_LOG_FORMAT"] = "text"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, envMap(env), logs) }()

	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, logs.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("no listening line:\n%s", logs.String())
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) int {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/healthz"); s != 200 {
		t.Errorf("/healthz = %d", s)
	}
	if s := get("/readyz"); s != 503 {
		t.Errorf("/readyz with Temporal down = %d, want 503", s)
	}
	if s := get("/metrics"); s != 200 {
		t.Errorf("/metrics = %d", s)
	}
	// A callback body over the 1 MB server limit is refused by the server itself (fasthttp, before
	// any handler), through the same error handler: 200 + ErrorCode 1, since Tencent delivers a
	// message whose callback answered another status. (The server closes the connection after
	// answering, so the client may see its unsent body cut off instead of the answer.)
	resp, err := hc.Post(base+goodURL(tim.CmdC2CBeforeSendMsg), "application/json", strings.NewReader(strings.Repeat("a", 2<<20)))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		callbackRefusal(t, response{Status: resp.StatusCode, Header: resp.Header, Body: b}, codeTooLarge)
	} else {
		t.Logf("2 MB callback: %v", err)
	}
	// Temporal is unreachable: a customer's message is answered ErrorCode 1 within the budget.
	start := time.Now()
	resp, err = hc.Post(base+callbackURL(tim.CmdC2CBeforeSendMsg, testSDKAppID, testCBToken, time.Now().Unix()), "application/json",
		strings.NewReader(c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "support", textBody("hi"), "")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(body), `"ErrorCode":1`) || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("callback with Temporal down: %s after %s", body, time.Since(start))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	for _, secret := range []string{testSecretKey, testAdminKey, testJWTSecret, testCBToken, "temporal-cloud-key-secret"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
}
