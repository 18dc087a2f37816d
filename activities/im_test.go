package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/time/rate"

	"github.com/timdesk/timdesk/internal/temporalmetrics"
	"github.com/timdesk/timdesk/tim"

	"github.com/timdesk/timdesk/desk"
)

// timFake is a Tencent IM REST fake: it records sendmsg and multiaccount_import bodies and
// answers with the envelope codes the test sets.
type timFake struct {
	mu        sync.Mutex
	sends     []map[string]any
	imports   [][]string
	imported  map[string]bool
	sendCode  int // ErrorCode for sendmsg when the accounts are imported
	requireIm bool
}

func newTIMFake(t *testing.T) (*timFake, *tim.Client) {
	t.Helper()
	f := &timFake{imported: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("sdkappid") != "1400000000" || q.Get("identifier") != "administrator" || q.Get("usersig") == "" {
			http.Error(w, "bad query", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v4/openim/sendmsg":
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			f.sends = append(f.sends, m)
			if f.requireIm && (!f.imported[m["From_Account"].(string)] || !f.imported[m["To_Account"].(string)]) {
				_, _ = w.Write([]byte(`{"ActionStatus":"FAIL","ErrorCode":90012,"ErrorInfo":"To_Account not imported"}`))
				return
			}
			if f.sendCode != 0 {
				_ = json.NewEncoder(w).Encode(map[string]any{"ActionStatus": "FAIL", "ErrorCode": f.sendCode, "ErrorInfo": "failure"})
				return
			}
			_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgTime":1700000000,"MsgKey":"1_2_1700000000"}`))
		case "/v4/im_open_login_svc/multiaccount_import":
			var m struct{ Accounts []string }
			_ = json.Unmarshal(body, &m)
			f.imports = append(f.imports, m.Accounts)
			for _, a := range m.Accounts {
				f.imported[a] = true
			}
			_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":[]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := tim.DefaultConfig(1400000000, "test-secret-key", "administrator")
	cfg.BaseURL = srv.URL
	return f, tim.NewClient(cfg)
}

func TestSend(t *testing.T) {
	f, c := newTIMFake(t)
	im := &IM{Client: c, ServiceAccount: "support"}
	env := activityEnv()
	register(env, im)
	cases := []struct {
		name  string
		in    SendInput
		from  string
		sync  float64
		relay bool
	}{
		{"reply from the service account", SendInput{Key: "consultation/u1/run/3", To: "u1", Text: "hello"}, "support", 1, false},
		{"relay to an agent as the customer", SendInput{Key: "consultation/u1/run/4", From: "u1", To: "agent_emma", Text: "hi", Relay: true}, "u1", 2, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := env.ExecuteActivity(im.Send, c.in)
			if err != nil {
				t.Fatal(err)
			}
			var res SendResult
			_ = v.Get(&res)
			seq, rnd := tim.DeriveMsgIDs(c.in.Key)
			if res.MsgKey != "1_2_1700000000" || res.MsgSeq != seq || res.MsgRandom != rnd {
				t.Errorf("result = %+v", res)
			}
			got := f.sends[i]
			if got["From_Account"] != c.from || got["To_Account"] != c.in.To || got["SyncOtherMachine"] != c.sync {
				t.Errorf("body from=%v to=%v sync=%v", got["From_Account"], got["To_Account"], got["SyncOtherMachine"])
			}
			if got["MsgSeq"] != float64(seq) || got["MsgRandom"] != float64(rnd) {
				t.Errorf("MsgSeq/MsgRandom = %v/%v, want derived %d/%d", got["MsgSeq"], got["MsgRandom"], seq, rnd)
			}
			forbid, _ := json.Marshal(got["ForbidCallbackControl"])
			if string(forbid) != `["ForbidBeforeSendMsgCallback","ForbidAfterSendMsgCallback"]` {
				t.Errorf("ForbidCallbackControl = %s", forbid)
			}
			body, _ := json.Marshal(got["MsgBody"])
			if !strings.Contains(string(body), `"MsgType":"TIMTextElem"`) || !strings.Contains(string(body), c.in.Text) {
				t.Errorf("MsgBody = %s", body)
			}
		})
	}
	// a retried send uses the same ids (Tencent deduplicates it)
	_, _ = env.ExecuteActivity(im.Send, cases[0].in)
	if a, b := f.sends[0], f.sends[len(f.sends)-1]; a["MsgSeq"] != b["MsgSeq"] || a["MsgRandom"] != b["MsgRandom"] {
		t.Error("retry changed MsgSeq/MsgRandom")
	}
}

func TestSendImportsMissingAccounts(t *testing.T) {
	f, c := newTIMFake(t)
	f.requireIm = true
	im := &IM{Client: c, ServiceAccount: "support"}
	env := activityEnv()
	register(env, im)
	if _, err := env.ExecuteActivity(im.Send, SendInput{Key: "k", To: "newbie", Text: "welcome"}); err != nil {
		t.Fatal(err)
	}
	if len(f.sends) != 2 || len(f.imports) != 1 || !slices.Equal(f.imports[0], []string{"support", "newbie"}) {
		t.Errorf("sends=%d imports=%v", len(f.sends), f.imports)
	}
	if f.sends[0]["MsgRandom"] != f.sends[1]["MsgRandom"] {
		t.Error("resend changed MsgRandom")
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	cases := []struct {
		code         int
		nonRetryable bool
		errType      string
	}{
		{90001, true, ErrTypeIMRejected}, // JSON parse error
		{20006, true, ErrTypeIMRejected}, // blocked by before-send callback
		{70398, true, ErrTypeIMRejected}, // account quota
		{20004, false, ""},               // network error
		{91000, false, ""},               // internal
		{60007, false, ""},               // rate limit
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			f, cl := newTIMFake(t)
			f.sendCode = c.code
			im := &IM{Client: cl, ServiceAccount: "support"}
			env := activityEnv()
			register(env, im)
			_, err := env.ExecuteActivity(im.Send, SendInput{Key: "k", To: "u1", Text: "x"})
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("code %d: error %v", c.code, err)
			}
			if appErr.NonRetryable() != c.nonRetryable || (c.errType != "" && appErr.Type() != c.errType) {
				t.Errorf("code %d: non-retryable=%v type=%s", c.code, appErr.NonRetryable(), appErr.Type())
			}
			if strings.Contains(err.Error(), "test-secret-key") {
				t.Error("secret in error")
			}
		})
	}
	env := activityEnv()
	im := &IM{ServiceAccount: "support"}
	register(env, im)
	_, err := env.ExecuteActivity(im.Send, SendInput{Key: "k", To: "u1", Text: "  "})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeBadInput || !appErr.NonRetryable() {
		t.Errorf("empty text: %v", err)
	}
}

func TestImport(t *testing.T) {
	f, c := newTIMFake(t)
	im := &IM{Client: c, ServiceAccount: "support"}
	env := activityEnv()
	register(env, im)
	ids := []string{"support", "agent_li", "", "agent_li"}
	for i := range 150 {
		ids = append(ids, "user_"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	v, err := env.ExecuteActivity(im.Import, ImportInput{UserIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	var res ImportResult
	_ = v.Get(&res)
	if res.Imported != 152 || len(res.Failed) != 0 {
		t.Errorf("result = %+v", res)
	}
	if len(f.imports) != 2 || len(f.imports[0]) != 100 || len(f.imports[1]) != 52 {
		t.Errorf("batches = %d", len(f.imports))
	}
	// idempotent: importing again is fine
	if _, err := env.ExecuteActivity(im.Import, ImportInput{UserIDs: []string{"support"}}); err != nil {
		t.Fatal(err)
	}
}

func TestImportRoster(t *testing.T) {
	f, c := newTIMFake(t)
	im := &IM{Client: c, ServiceAccount: "support"}
	env := activityEnv()
	register(env, im)
	if _, err := env.ExecuteActivity(im.ImportRoster, desk.RosterUpdate{YAML: "agents: [{id: a1}, {id: a2}]\nsupervisors: [boss, a1]\n"}); err != nil {
		t.Fatal(err)
	}
	if len(f.imports) != 1 || !slices.Equal(f.imports[0], []string{"a1", "a2", "boss"}) {
		t.Errorf("imports = %v", f.imports)
	}
	_, err := env.ExecuteActivity(im.ImportRoster, desk.RosterUpdate{YAML: "agents: ["})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeBadInput || !appErr.NonRetryable() {
		t.Errorf("invalid roster: %v", err)
	}
}

// TestSendForwardsBody: a Body (non-text elements) goes out as it came, From=service account to a
// customer or as a relay impersonating the customer (SyncOtherMachine=2); callbacks are always
// forbidden.
func TestSendForwardsBody(t *testing.T) {
	body := tim.MsgBody{{MsgType: tim.MsgTypeImage, MsgContent: json.RawMessage(`{"UUID":"img1"}`)}}
	cases := []struct {
		name     string
		in       SendInput
		wantFrom string
		wantSync float64
	}{
		{"to the customer", SendInput{Key: "k1", To: "cust1", Body: body}, "support", SyncToSender},
		{"relay to the agent", SendInput{Key: "k2", From: "cust1", To: "agent_emma", Relay: true, Body: body}, "cust1", NoSyncToSender},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, cl := newTIMFake(t)
			im := &IM{Client: cl, ServiceAccount: "support"}
			env := activityEnv()
			register(env, im)
			if _, err := env.ExecuteActivity(im.Send, c.in); err != nil {
				t.Fatal(err)
			}
			got := f.sends[0]
			b, _ := json.Marshal(got["MsgBody"])
			if string(b) != `[{"MsgContent":{"UUID":"img1"},"MsgType":"TIMImageElem"}]` {
				t.Errorf("MsgBody = %s", b)
			}
			if got["From_Account"] != c.wantFrom || got["SyncOtherMachine"] != c.wantSync {
				t.Errorf("From_Account=%v SyncOtherMachine=%v, want %s/%v", got["From_Account"], got["SyncOtherMachine"], c.wantFrom, c.wantSync)
			}
			forbid, _ := json.Marshal(got["ForbidCallbackControl"])
			if string(forbid) != `["ForbidBeforeSendMsgCallback","ForbidAfterSendMsgCallback"]` {
				t.Errorf("ForbidCallbackControl = %s, want both callbacks forbidden", forbid)
			}
		})
	}
}

// TestSendFailuresAreCounted: every failed attempt lands in timdesk_send_failures_total with
// Tencent's error code (the series the worker's /metrics and the dashboard show).
func TestSendFailuresAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	handler, closer, err := temporalmetrics.NewHandler(reg, func(err error) { t.Errorf("metrics: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(handler)
	for _, code := range []int{60007, 60007, 80002, 0} {
		f, cl := newTIMFake(t)
		f.sendCode = code
		im := &IM{Client: cl, ServiceAccount: "support"}
		env := suite.NewTestActivityEnvironment()
		register(env, im)
		_, err := env.ExecuteActivity(im.Send, SendInput{Key: "k", To: "u1", Text: "x"})
		if (err == nil) != (code == 0) {
			t.Fatalf("code %d: err = %v", code, err)
		}
	}
	im := &IM{Client: closedServerClient(t), ServiceAccount: "support"}
	env := suite.NewTestActivityEnvironment()
	register(env, im)
	if _, err := env.ExecuteActivity(im.Send, SendInput{Key: "k", To: "u1", Text: "x"}); err == nil {
		t.Fatal("send to a closed server succeeded")
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	page := rec.Body.String()
	for _, want := range []string{`error_code="60007"`, `error_code="80002"`, `error_code="transport"`} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, page)
		}
	}
	counts := map[string]string{}
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, MetricSendFailures+"_total{") {
			i := strings.Index(line, `error_code="`)
			code := line[i+len(`error_code="`):]
			code = code[:strings.Index(code, `"`)]
			counts[code] = line[strings.LastIndex(line, " ")+1:]
		}
	}
	if want := map[string]string{"60007": "2", "80002": "1", "transport": "1"}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("send failures = %v, want %v", counts, want)
	}
}

// closedServerClient is a Tencent client whose server is gone (connection refused).
func closedServerClient(t *testing.T) *tim.Client {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	cfg := tim.DefaultConfig(1400000000, "test-secret-key", "administrator")
	cfg.BaseURL = srv.URL
	return tim.NewClient(cfg)
}
func TestNewSendLimiter(t *testing.T) {
	cases := []struct {
		rate      float64
		wantNil   bool
		wantBurst int
	}{
		{0, true, 0}, {-1, true, 0}, {5, false, 1}, {200, false, 20},
	}
	for _, c := range cases {
		l := NewSendLimiter(c.rate)
		if (l == nil) != c.wantNil {
			t.Errorf("rate %v: limiter %v, want nil %v", c.rate, l, c.wantNil)
			continue
		}
		if l != nil && (l.Burst() != c.wantBurst || float64(l.Limit()) != c.rate) {
			t.Errorf("rate %v: burst %d limit %v, want %d and %v", c.rate, l.Burst(), l.Limit(), c.wantBurst, c.rate)
		}
	}
}

// TestSendWaitsForQuota: with the quota used up, a send waits for its turn; when its deadline
// comes first it fails (Temporal retries it) without calling sendmsg.
func TestSendWaitsForQuota(t *testing.T) {
	f, c := newTIMFake(t)
	im := &IM{Client: c, ServiceAccount: "support", Limiter: rate.NewLimiter(rate.Every(time.Hour), 1)}
	env := activityEnv()
	register(env, im)
	if _, err := env.ExecuteActivity(im.Send, SendInput{Key: "consultation/u1/run/1", To: "u1", Text: "first"}); err != nil {
		t.Fatal(err)
	}
	// the activity's deadline comes long before the next token: the wait gives up at once
	if _, err := env.ExecuteActivity(im.Send, SendInput{Key: "consultation/u1/run/2", To: "u1", Text: "second"}); err == nil || !strings.Contains(err.Error(), "send quota") {
		t.Errorf("second send within the hour: got %v, want the quota wait to fail", err)
	}
	if len(f.sends) != 1 {
		t.Errorf("sendmsg calls %d, want 1", len(f.sends))
	}
}
