package timsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/tim/timsim"
)

const (
	testAppID = 1400000000
	testKey   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	testAdmin = "administrator"
	testToken = "callback-token"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// callback is one callback the fake app server received.
type callback struct {
	Query   url.Values
	Command string
	Body    []byte
}

// reply decides the fake app server's answer to a callback.
type reply struct {
	Status int           // default 200
	Body   string        // default {"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}
	Delay  time.Duration // before answering
}

// appServer is a fake timdesk API receiving callbacks.
type appServer struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []callback
	answers map[string]reply // by CallbackCommand
}

func newAppServer(t *testing.T) *appServer {
	t.Helper()
	a := &appServer{answers: map[string]reply{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cmd := r.URL.Query().Get("CallbackCommand")
		a.mu.Lock()
		a.calls = append(a.calls, callback{Query: r.URL.Query(), Command: cmd, Body: body})
		rep := a.answers[cmd]
		a.mu.Unlock()
		if rep.Delay > 0 {
			select {
			case <-time.After(rep.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if rep.Status == 0 {
			rep.Status = http.StatusOK
		}
		if rep.Body == "" {
			rep.Body = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`
		}
		w.WriteHeader(rep.Status)
		_, _ = io.WriteString(w, rep.Body)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *appServer) answer(cmd string, r reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers[cmd] = r
}

// received returns the callbacks of cmd ("" for all) so far.
func (a *appServer) received(cmd string) []callback {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []callback
	for _, c := range a.calls {
		if cmd == "" || c.Command == cmd {
			out = append(out, c)
		}
	}
	return out
}

// env is an emulator with a fake app server and a test clock.
type env struct {
	t      *testing.T
	clock  *clock
	app    *appServer
	sim    *timsim.Server
	srv    *httptest.Server
	signer *tim.Signer
}

type envOption func(*timsim.Options)

func withoutToken() envOption { return func(o *timsim.Options) { o.CallbackToken = "" } }
func withoutCallbacks() envOption {
	return func(o *timsim.Options) { o.CallbackURL = "" }
}
func failClosed() envOption { return func(o *timsim.Options) { o.FailClosed = true } }

// withCallbackTimeout sets the emulator's callback timeout, for the tests of the timeout itself
// (the env's default is long, so a slow callback round trip under -race is not taken for one).
func withCallbackTimeout(d time.Duration) envOption {
	return func(o *timsim.Options) { o.CallbackTimeout = d }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	clk := newClock()
	app := newAppServer(t)
	o := timsim.Options{
		SDKAppID: testAppID, SecretKey: testKey, Admin: testAdmin,
		CallbackURL: app.URL + "/tim/callback", CallbackToken: testToken,
		CallbackTimeout: 5 * time.Second, Now: clk.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	sim := timsim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		_ = sim.Close()
		srv.Close()
	})
	signer := tim.NewSigner(testAppID, testKey)
	return &env{t: t, clock: clk, app: app, sim: sim, srv: srv, signer: signer}
}

// adminQuery is a valid REST query for the admin at the env's clock.
func (e *env) adminQuery() url.Values {
	e.t.Helper()
	sig, err := e.signer.SignAt(testAdmin, e.clock.Now(), 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return url.Values{"sdkappid": {strconv.Itoa(testAppID)}, "identifier": {testAdmin}, "usersig": {sig}, "random": {"12345"}, "contenttype": {"json"}}
}

// post sends body (string or JSON-encoded value) to /v4/<command> with q and decodes the answer.
func (e *env) post(command string, q url.Values, body any) (int, map[string]any) {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := http.Post(e.srv.URL+"/v4/"+command+"?"+q.Encode(), "application/json", bytes.NewReader(raw))
	if err != nil {
		e.t.Fatalf("POST %s: %v", command, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := map[string]any{}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &out); err != nil {
			e.t.Fatalf("POST %s: answer %s: %v", command, data, err)
		}
	}
	return resp.StatusCode, out
}

// rest calls command as the admin and returns the decoded answer (HTTP 200 required).
func (e *env) rest(command string, body any) map[string]any {
	e.t.Helper()
	status, out := e.post(command, e.adminQuery(), body)
	if status != http.StatusOK {
		e.t.Fatalf("POST %s: HTTP %d, want 200", command, status)
	}
	return out
}

// code is the answer's ErrorCode.
func code(m map[string]any) int {
	f, _ := m["ErrorCode"].(float64)
	return int(f)
}

// client is a tim.Client for the env's emulator.
func (e *env) client() *tim.Client {
	cfg := tim.DefaultConfig(testAppID, testKey, testAdmin)
	cfg.BaseURL = e.srv.URL
	cfg.Now = e.clock.Now
	return tim.NewClient(cfg)
}

// simPost posts v as JSON to a /sim/ path and decodes the answer into out.
func (e *env) simPost(path string, v, out any) int {
	e.t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("POST %s: decode: %v", path, err)
		}
	}
	return resp.StatusCode
}

func (e *env) login(users ...string) {
	e.t.Helper()
	for _, u := range users {
		if err := e.sim.Login(context.Background(), u, ""); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) send(from, to, text string) timsim.SendResult {
	e.t.Helper()
	var res timsim.SendResult
	e.simPost("/sim/send", map[string]string{"from": from, "to": to, "text": text}, &res)
	return res
}

// inbox is the messages user received (direction in).
func (e *env) inbox(user string) []timsim.Message {
	var out []timsim.Message
	for _, m := range e.sim.Messages(user) {
		if m.Direction == "in" {
			out = append(out, m)
		}
	}
	return out
}

func textMsg(from, to, text string, seq, random uint32) map[string]any {
	m := map[string]any{
		"To_Account": to, "MsgRandom": random,
		"MsgBody": []any{map[string]any{"MsgType": "TIMTextElem", "MsgContent": map[string]any{"Text": text}}},
	}
	if from != "" {
		m["From_Account"] = from
	}
	if seq != 0 {
		m["MsgSeq"] = seq
	}
	return m
}
