package timsim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

func TestFaultErrorCodeAndTimes(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	e.sim.SetFaults(timsim.Fault{Command: "sendmsg", ErrorCode: 90992, Times: 2})
	for i, want := range []int{90992, 90992, 0} {
		if got := code(e.rest("openim/sendmsg", textMsg("alice", "bob", "x", uint32(i+1), 1))); got != want {
			t.Errorf("send #%d: got %d, want %d", i, got, want)
		}
	}
	if got := len(e.inbox("bob")); got != 1 {
		t.Errorf("bob got %d messages, want 1 (faults before the command change nothing)", got)
	}
	// Other commands are untouched by a sendmsg fault; "*" hits them all.
	e.sim.SetFaults(timsim.Fault{Command: "sendmsg", ErrorCode: 90992})
	if got := code(e.rest("im_open_login_svc/account_import", map[string]string{"UserID": "carol"})); got != 0 {
		t.Errorf("account_import under a sendmsg fault: got %d", got)
	}
	e.sim.SetFaults(timsim.Fault{Command: "*", ErrorCode: 70169, ErrorInfo: "busy"})
	out := e.rest("im_open_login_svc/account_import", map[string]string{"UserID": "carol"})
	if code(out) != 70169 || out["ErrorInfo"] != "busy" {
		t.Errorf("wildcard fault: got %v", out)
	}
	e.sim.ClearFaults()
	if got := code(e.rest("im_open_login_svc/account_import", map[string]string{"UserID": "carol"})); got != 0 {
		t.Errorf("after ClearFaults: got %d", got)
	}
}

func TestFaultHTTPStatusDropAndLatency(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	c := e.client()
	ctx := t.Context()
	req := tim.SendMsgRequest{FromAccount: "alice", ToAccount: "bob", MsgBody: tim.MsgBody{tim.TextElem("hi")}}
	req.MsgSeq, req.MsgRandom = tim.DeriveMsgIDs("wf-1/step-1")

	e.sim.SetFaults(timsim.Fault{Command: "sendmsg", HTTPStatus: http.StatusBadGateway, Times: 1})
	_, err := c.SendMsg(ctx, req)
	var apiErr *tim.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadGateway || !tim.IsRetryable(err) {
		t.Fatalf("HTTP 502 fault: got %v, want a retryable APIError with HTTPStatus 502", err)
	}

	e.sim.SetFaults(timsim.Fault{Command: "sendmsg", Drop: true, Times: 1})
	if _, err := c.SendMsg(ctx, req); err == nil || !tim.IsRetryable(err) {
		t.Fatalf("dropped connection: got %v, want a retryable transport error", err)
	}
	if got := len(e.inbox("bob")); got != 0 {
		t.Fatalf("bob got %d messages before any command ran", got)
	}

	// The answer is lost after the message was delivered: the resend is deduplicated.
	e.sim.SetFaults(timsim.Fault{Command: "sendmsg", Drop: true, AfterCommand: true, Times: 1})
	if _, err := c.SendMsg(ctx, req); err == nil {
		t.Fatal("dropped answer: want an error")
	}
	if got := len(e.inbox("bob")); got != 1 {
		t.Fatalf("bob got %d messages, want 1 (the command ran)", got)
	}
	resp, err := c.SendMsg(ctx, req)
	if err != nil || resp.MsgKey == "" {
		t.Fatalf("resend: %v", err)
	}
	if got := len(e.inbox("bob")); got != 1 {
		t.Fatalf("bob got %d messages after the resend, want 1 (dedupe)", got)
	}

	e.sim.SetFaults(timsim.Fault{Command: "sendmsg", HTTPStatus: http.StatusServiceUnavailable, AfterCommand: true, Times: 1})
	req.MsgSeq, req.MsgRandom = tim.DeriveMsgIDs("wf-1/step-2")
	if _, err := c.SendMsg(ctx, req); err == nil {
		t.Fatal("503 after the command: want an error")
	}
	if got := len(e.inbox("bob")); got != 2 {
		t.Fatalf("bob got %d messages, want 2", got)
	}

	e.sim.SetFaults(timsim.Fault{Command: "account_check", Latency: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	if _, err := c.CheckAccounts(ctx, []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("latency fault: call took %s, want ≥ 150ms", d)
	}
}

func TestRateLimit(t *testing.T) {
	for _, want := range []int{60007, 60011} {
		e := newEnv(t, withoutCallbacks())
		e.sim.SetRateLimit(timsim.RateLimit{PerSecond: 2, ErrorCode: want})
		check := map[string]any{"CheckItem": []map[string]string{{"UserID": testAdmin}}}
		var got []int
		for range 3 {
			got = append(got, code(e.rest("im_open_login_svc/account_check", check)))
		}
		if got[0] != 0 || got[1] != 0 || got[2] != want {
			t.Errorf("3 calls in one second: got %v, want [0 0 %d]", got, want)
		}
		_, err := e.client().CheckAccounts(t.Context(), []string{testAdmin})
		if !tim.IsRateLimited(err) || !tim.IsRetryable(err) {
			t.Errorf("tim client: got %v, want a rate-limited, retryable error", err)
		}
		e.clock.Advance(time.Second)
		if c := code(e.rest("im_open_login_svc/account_check", check)); c != 0 {
			t.Errorf("next second: got %d, want 0", c)
		}
	}
}

func TestFaultsHTTPAPI(t *testing.T) {
	e := newEnv(t, withoutCallbacks())
	e.login("alice", "bob")
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(e.srv.URL+"/sim/faults", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		out := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, cfg := post(`{"faults":[{"command":"sendmsg","errorCode":20004,"times":1},{"command":"account_import","latencyMs":10}],"rateLimit":{"perSecond":100}}`)
	if status != http.StatusOK || len(cfg["faults"].([]any)) != 2 || cfg["rateLimit"].(map[string]any)["errorCode"] != float64(60007) {
		t.Fatalf("POST /sim/faults: %d %v", status, cfg)
	}
	if got := code(e.rest("openim/sendmsg", textMsg("alice", "bob", "x", 1, 1))); got != 20004 {
		t.Errorf("sendmsg under the posted fault: got %d, want 20004", got)
	}
	resp, err := http.Get(e.srv.URL + "/sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var cur struct {
		Faults []struct {
			Command   string `json:"command"`
			LatencyMS int    `json:"latencyMs"`
		} `json:"faults"`
	}
	if err := json.Unmarshal(b, &cur); err != nil || len(cur.Faults) != 1 || cur.Faults[0].Command != "account_import" || cur.Faults[0].LatencyMS != 10 {
		t.Errorf("GET /sim/faults after the one-shot fault was used: %s", b)
	}
	if status, _ := post(`{"faults":[{"httpStatus":200}]}`); status != http.StatusBadRequest {
		t.Errorf("httpStatus 200: got HTTP %d, want 400", status)
	}
	if status, _ := post(`{"faults":`); status != http.StatusBadRequest {
		t.Errorf("bad JSON: got HTTP %d, want 400", status)
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/sim/faults", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	status, cfg = post(`{}`)
	if status != http.StatusOK || len(cfg["faults"].([]any)) != 0 || cfg["rateLimit"] != nil {
		t.Errorf("cleared: %v", cfg)
	}
}
