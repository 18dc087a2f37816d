package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

// TestRefusedCallbackNotDeliveredByEmulator proves end to end, through the Tencent IM emulator and
// its default fail-open policy (TENCENT_IM.md §4.3: a before-send callback not answered HTTP 200
// has failed, and a failed one is delivered), that a message whose callback the API refuses is not
// delivered: the sender is told its send failed (20006), nobody receives it, nothing reaches
// Temporal. The API's clock is skewed past the 60 s signature window (or the token is wrong, or
// the SdkAppid another). The "as before" rows put back the 4xx status the API answered with
// until now (a proxy restores it from error.code): the emulator then delivers the same message
// raw — a customer's into the service account with no consultation, an agent's to the customer.
func TestRefusedCallbackNotDeliveredByEmulator(t *testing.T) {
	tests := []struct {
		name     string
		skew     time.Duration // the emulator's clock minus the API's
		token    string        // the emulator's callback token
		appID    uint64
		from, to string
		as4xx    bool // answer with the status the API used before (the refusal's HTTP status)
		want     int  // the sender's error code; 0: delivered
	}{
		{"clocks in sync", 0, testCBToken, testSDKAppID, "alice", "support", false, 0},
		{"API clock 2 minutes behind", 2 * time.Minute, testCBToken, testSDKAppID, "alice", "support", false, 20006},
		{"API clock 2 minutes ahead", -2 * time.Minute, testCBToken, testSDKAppID, "alice", "support", false, 20006},
		{"wrong token", 0, "not-the-token", testSDKAppID, "alice", "support", false, 20006},
		{"other SdkAppid", 0, testCBToken, 1400000999, "alice", "support", false, 20006},
		{"agent to customer, API clock behind", 2 * time.Minute, testCBToken, testSDKAppID, "agent_li", "alice", false, 20006},
		{"as before: API clock behind, 401", 2 * time.Minute, testCBToken, testSDKAppID, "alice", "support", true, 0},
		{"as before: agent to customer, wrong token, 401", 0, "not-the-token", testSDKAppID, "agent_li", "alice", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(e *testEnv) { e.temporal.signalWithStart = okSignal })
			apiURL := serveLoopback(t, env)
			if tt.as4xx {
				apiURL = restore4xx(t, apiURL)
			}
			sim := timsim.New(timsim.Options{
				SDKAppID: tt.appID, SecretKey: testSecretKey, Admin: "administrator",
				CallbackURL: apiURL + callbackPath, CallbackToken: tt.token,
				CallbackTimeout: 10 * time.Second, // far above the API's own budget: no timeout under -race
				Now:             func() time.Time { return testNow.Add(tt.skew) },
				Accounts:        []string{"alice", "support", "agent_li"},
			})
			t.Cleanup(func() { _ = sim.Close() })

			res := sim.Send(context.Background(), timsim.SendRequest{From: tt.from, To: tt.to, Text: "where is my order?"})
			sim.Wait()
			if res.ErrorCode != tt.want {
				t.Fatalf("sender got ErrorCode %d (%s), want %d", res.ErrorCode, res.ErrorInfo, tt.want)
			}
			var got []string
			for _, m := range sim.Messages(tt.to) {
				if m.Direction == "in" {
					got = append(got, m.Text)
				}
			}
			mutations := env.temporal.Mutations()
			switch {
			case tt.want != 0:
				if len(got) != 0 || len(mutations) != 0 {
					t.Errorf("refused, yet %s received %q and Temporal got %+v", tt.to, got, mutations)
				}
			case tt.as4xx:
				// Delivered raw by the emulator's fail-open policy, with no consultation.
				if len(got) != 1 || len(mutations) != 0 {
					t.Errorf("%s received %q, Temporal got %+v; want the raw message delivered and nothing started", tt.to, got, mutations)
				}
			default:
				if len(got) != 1 || len(env.temporal.ConsultationCalls("SignalWithStart")) != 1 {
					t.Errorf("%s received %q, Temporal got %+v; want the message delivered and signalled once", tt.to, got, mutations)
				}
			}
		})
	}
}

// serveLoopback serves env's app on a loopback port until the test ends and returns its base URL.
func serveLoopback(t *testing.T, env *testEnv) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- env.app.Listener(ln) }()
	t.Cleanup(func() {
		if err := env.app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// restore4xx is a proxy in front of the API that answers a refused callback with the HTTP status
// its error code has off the callback path (401, 403, 400...), as the API did before: what
// Tencent's fail-open policy turns into a delivered message.
func restore4xx(t *testing.T, apiURL string) string {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		var ans struct {
			Error *struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &ans) == nil && ans.Error != nil {
			resp.StatusCode = errorStatus[ans.Error.Code]
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCallbackRefusedBeforeParsing documents the refusal that cannot be answered 200: a request
// whose headers exceed the server's read buffer is refused by fasthttp before the path is known
// (431, connection closed), so the error handler cannot tell it is a callback. Tencent's callback
// headers are far below the limit. A body over the 1 MB limit is known to be a callback and is
// answered 200 + ErrorCode 1 (TestRunServes).
func TestCallbackRefusedBeforeParsing(t *testing.T) {
	env := newTestEnv(t)
	base := serveLoopback(t, env)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "POST " + goodURL(tim.CmdC2CBeforeSendMsg) + " HTTP/1.1\r\nHost: api\r\nX-Big: " + strings.Repeat("a", 16<<10) +
		"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d, want 431 (refused before the path is read)", resp.StatusCode)
	}
}
