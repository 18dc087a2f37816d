package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// Test constants shared by every API test.
const (
	testSDKAppID  = 1400000001
	testSecretKey = "test-secret-key-0123456789abcdef"
	testCBToken   = "callback-token-0123456789"
	testJWTSecret = "jwt-secret-0123456789abcdef-0123456789"
	testAdminKey  = "admin-key-0123456789abcdef-0123456789"
)

// testNow is the fixed clock of the API under test.
var testNow = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

const testRoster = `timezone: Asia/Shanghai
accept_timeout: 2m
reply_timeout: 10m
agents:
  - id: agent_li
    name: Li Wei
    language: zh
    capacity: 5
    shifts: ["mon-sun 00:00-23:59"]
  - id: agent_emma
    name: Emma
    language: en
    capacity: 3
    shifts: ["sat 10:00-16:00"]
supervisors: [agent_zhang]
`

func testConfig() Config {
	return Config{
		SDKAppID:          testSDKAppID,
		SecretKey:         testSecretKey,
		Admin:             defaultAdmin,
		TIMBaseURL:        defaultTIMBaseURL,
		CallbackToken:     testCBToken,
		ServiceAccount:    defaultServiceAccount,
		JWTSecret:         testJWTSecret,
		AdminAPIKey:       testAdminKey,
		Listen:            defaultListen,
		TemporalAddress:   defaultTemporalAddress,
		TemporalNamespace: defaultNamespace,
		TaskQueue:         "tq-test",
		LogFormat:         "text",
		UserSigTTL:        defaultUserSigTTL,
		CallbackBudget:    300 * time.Millisecond,
		TranslateBudget:   300 * time.Millisecond,
		RequestTimeout:    5 * time.Second,
	}
}

// call records one Temporal call made by the API.
type call struct {
	Method   string // SignalWithStart, Update, UpdateWithStart, Query, Signal, Count, CheckHealth
	ID       string
	Name     string // signal, update or query name
	Arg      any
	Start    client.StartWorkflowOptions
	Workflow any
	WfArgs   []any
	Update   client.UpdateWorkflowOptions
	Query    string // visibility query of Count
}

// fakeTemporal implements every narrow Temporal interface of the API. Nil function fields fail
// the call; every call is recorded.
type fakeTemporal struct {
	mu    sync.Mutex
	calls []call
	// discard keeps no record of calls (the fuzz target makes millions).
	discard bool

	signalWithStart func(ctx context.Context, c call) error
	update          func(ctx context.Context, c call) (any, error)
	updateWithStart func(ctx context.Context, c call) (any, error)
	query           func(ctx context.Context, c call) (any, error)
	signal          func(ctx context.Context, c call) error
	count           func(ctx context.Context, c call) (int64, error)
	health          func(ctx context.Context) error
}

var errNoFake = errors.New("fake: unexpected call")

func (f *fakeTemporal) record(c call) {
	if f.discard {
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// Calls returns the recorded calls of the given methods (all when none given).
func (f *fakeTemporal) Calls(methods ...string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if len(methods) == 0 {
			out = append(out, c)
			continue
		}
		for _, m := range methods {
			if c.Method == m {
				out = append(out, c)
			}
		}
	}
	return out
}

// Mutations are the calls that change Temporal state, except the background records of a
// detected language (LanguageRecords), which callbacks send when the desk lacks one.
func (f *fakeTemporal) Mutations() []call {
	var out []call
	for _, c := range f.Calls("SignalWithStart", "Update", "UpdateWithStart", "Signal") {
		if !isLanguageRecord(c) {
			out = append(out, c)
		}
	}
	return out
}

// ConsultationCalls are the calls of the given methods on consultation workflows.
func (f *fakeTemporal) ConsultationCalls(methods ...string) []call {
	var out []call
	for _, c := range f.Calls(methods...) {
		if !isLanguageRecord(c) {
			out = append(out, c)
		}
	}
	return out
}

// LanguageRecords are the desk signals recording a detected language.
func (f *fakeTemporal) LanguageRecords() []desk.LanguagePreference {
	var out []desk.LanguagePreference
	for _, c := range f.Calls("SignalWithStart") {
		if isLanguageRecord(c) {
			out = append(out, c.Arg.(desk.LanguagePreference))
		}
	}
	return out
}

func isLanguageRecord(c call) bool {
	p, ok := c.Arg.(desk.LanguagePreference)
	return ok && p.Detected && c.ID == workflows.DeskWorkflowID && c.Name == workflows.SignalLanguage
}

func (f *fakeTemporal) SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error) {
	c := call{Method: "SignalWithStart", ID: workflowID, Name: signalName, Arg: signalArg, Start: options, Workflow: workflow, WfArgs: workflowArgs}
	f.record(c)
	if f.signalWithStart == nil {
		return nil, errNoFake
	}
	if err := f.signalWithStart(ctx, c); err != nil {
		return nil, err
	}
	return nil, nil
}

func (f *fakeTemporal) UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c := call{Method: "Update", ID: options.WorkflowID, Name: options.UpdateName, Update: options}
	if len(options.Args) > 0 {
		c.Arg = options.Args[0]
	}
	f.record(c)
	if f.update == nil {
		return nil, errNoFake
	}
	res, err := f.update(ctx, c)
	if err != nil {
		return nil, err
	}
	return fakeHandle{result: res}, nil
}

type fakeWithStart struct {
	opts client.StartWorkflowOptions
	wf   any
	args []any
}

func (fakeWithStart) Get(context.Context) (client.WorkflowRun, error) { return nil, errNoFake }

func (f *fakeTemporal) NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation {
	return fakeWithStart{opts: options, wf: workflow, args: args}
}

func (f *fakeTemporal) UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	op, _ := options.StartWorkflowOperation.(fakeWithStart)
	c := call{Method: "UpdateWithStart", ID: options.UpdateOptions.WorkflowID, Name: options.UpdateOptions.UpdateName,
		Update: options.UpdateOptions, Start: op.opts, Workflow: op.wf, WfArgs: op.args}
	if len(options.UpdateOptions.Args) > 0 {
		c.Arg = options.UpdateOptions.Args[0]
	}
	f.record(c)
	if f.updateWithStart == nil {
		return nil, errNoFake
	}
	res, err := f.updateWithStart(ctx, c)
	if err != nil {
		return nil, err
	}
	return fakeHandle{result: res}, nil
}

func (f *fakeTemporal) QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error) {
	c := call{Method: "Query", ID: workflowID, Name: queryType}
	f.record(c)
	if f.query == nil {
		// No fake: the workflow does not exist (for the desk: never started, no override).
		return nil, serviceerror.NewNotFound("fake: workflow " + workflowID + " not found")
	}
	v, err := f.query(ctx, c)
	if err != nil {
		return nil, err
	}
	return encodedValue{v}, nil
}

func (f *fakeTemporal) SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg any) error {
	c := call{Method: "Signal", ID: workflowID, Name: signalName, Arg: arg}
	f.record(c)
	if f.signal == nil {
		return errNoFake
	}
	return f.signal(ctx, c)
}

func (f *fakeTemporal) CountWorkflow(ctx context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	c := call{Method: "Count", Query: req.GetQuery(), ID: req.GetNamespace()}
	f.record(c)
	if f.count == nil {
		return nil, errNoFake
	}
	n, err := f.count(ctx, c)
	if err != nil {
		return nil, err
	}
	return &workflowservice.CountWorkflowExecutionsResponse{Count: n}, nil
}

func (f *fakeTemporal) CheckHealth(ctx context.Context, _ *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	f.record(call{Method: "CheckHealth"})
	if f.health == nil {
		return nil, errNoFake
	}
	if err := f.health(ctx); err != nil {
		return nil, err
	}
	return &client.CheckHealthResponse{}, nil
}

// encodedValue is a converter.EncodedValue holding a Go value (JSON round trip on Get).
type encodedValue struct{ v any }

func (e encodedValue) HasValue() bool { return e.v != nil }

func (e encodedValue) Get(ptr any) error {
	b, err := json.Marshal(e.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// fakeHandle is a completed update.
type fakeHandle struct{ result any }

func (fakeHandle) WorkflowID() string { return "" }
func (fakeHandle) RunID() string      { return "" }
func (fakeHandle) UpdateID() string   { return "" }
func (h fakeHandle) Get(_ context.Context, ptr any) error {
	if h.result == nil || ptr == nil {
		return nil
	}
	return encodedValue{h.result}.Get(ptr)
}

// blockUntilDone waits for ctx like an unreachable server, and returns its error.
func blockUntilDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// fakeAccounts implements accountImporter.
type fakeAccounts struct {
	mu       sync.Mutex
	imported []tim.Account
	batches  [][]string
	checks   [][]string

	importOne  func(tim.Account) error
	importMany func([]string) ([]string, error)
	check      func([]string) ([]tim.AccountCheckResult, error)
}

func (f *fakeAccounts) ImportAccount(_ context.Context, a tim.Account) error {
	f.mu.Lock()
	f.imported = append(f.imported, a)
	f.mu.Unlock()
	if f.importOne != nil {
		return f.importOne(a)
	}
	return nil
}

func (f *fakeAccounts) ImportAccounts(_ context.Context, ids []string) ([]string, error) {
	f.mu.Lock()
	f.batches = append(f.batches, append([]string(nil), ids...))
	f.mu.Unlock()
	if f.importMany != nil {
		return f.importMany(ids)
	}
	return nil, nil
}

func (f *fakeAccounts) CheckAccounts(_ context.Context, ids []string) ([]tim.AccountCheckResult, error) {
	f.mu.Lock()
	f.checks = append(f.checks, append([]string(nil), ids...))
	f.mu.Unlock()
	if f.check != nil {
		return f.check(ids)
	}
	out := make([]tim.AccountCheckResult, len(ids))
	for i, id := range ids {
		out[i] = tim.AccountCheckResult{UserID: id, AccountStatus: tim.AccountImported}
	}
	return out, nil
}

func (f *fakeAccounts) touched() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.imported)+len(f.batches)+len(f.checks) > 0
}

// fakeTranslator implements textTranslator.
type fakeTranslator struct {
	mu      sync.Mutex
	calls   []activities.TranslateInput
	discard bool // keep no record of calls
	enabled bool
	fn      func(ctx context.Context, in activities.TranslateInput) (activities.TranslateResult, error)
}

func (f *fakeTranslator) Enabled() bool { return f.enabled }

func (f *fakeTranslator) Translate(ctx context.Context, in activities.TranslateInput) (activities.TranslateResult, error) {
	if !f.discard {
		f.mu.Lock()
		f.calls = append(f.calls, in)
		f.mu.Unlock()
	}
	if f.fn == nil {
		return activities.TranslateResult{Text: in.Text, Status: "off"}, nil
	}
	return f.fn(ctx, in)
}

func (f *fakeTranslator) Calls() []activities.TranslateInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]activities.TranslateInput(nil), f.calls...)
}

// testEnv is an app under test with its fakes.
type testEnv struct {
	app      *fiber.App
	cfg      Config
	temporal *fakeTemporal
	accounts *fakeAccounts
	trans    *fakeTranslator
	signer   *tim.Signer
	registry *prometheus.Registry
	now      func() time.Time // the API's clock (testNow when nil)
}

// newTestEnv builds the app with fakes; mutate lets a test change config and fakes first.
func newTestEnv(tb testing.TB, mutate ...func(*testEnv)) *testEnv {
	tb.Helper()
	env := &testEnv{
		cfg:      testConfig(),
		temporal: &fakeTemporal{},
		accounts: &fakeAccounts{},
		trans:    &fakeTranslator{enabled: true},
		signer:   tim.NewSigner(testSDKAppID, testSecretKey),
		registry: prometheus.NewRegistry(),
	}
	env.signer.Now = func() time.Time { return testNow }
	for _, m := range mutate {
		m(env)
	}
	app, err := newApp(newTestDeps(env))
	if err != nil {
		tb.Fatalf("newApp: %v", err)
	}
	env.app = app
	return env
}

// clock is the API's clock: env.now, else testNow.
func (e *testEnv) clock() func() time.Time {
	if e.now != nil {
		return e.now
	}
	return func() time.Time { return testNow }
}

// newTestDeps wires env's fakes into deps.
func newTestDeps(env *testEnv) deps {
	return deps{
		Config:         env.cfg,
		Now:            env.clock(),
		Registry:       env.registry,
		Temporal:       env.temporal,
		Signer:         env.signer,
		Accounts:       env.accounts,
		Translator:     env.trans,
		ReadRosterFile: func() ([]byte, error) { return []byte(testRoster), nil },
	}
}

// response is a decoded test response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("response body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// ErrorCode returns error.code of a JSON error body.
func (r response) ErrorCode(tb testing.TB) string {
	tb.Helper()
	e, _ := r.JSON(tb)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// do sends one request through app.Test; headers alternate name, value.
func (e *testEnv) do(tb testing.TB, method, target string, body string, headers ...string) response {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// serve runs one request through handler (env.app.Handler()) in-process: no connection goroutine,
// no HTTP serialization and parsing as in app.Test. It is the fuzz target's fast path.
func serve(handler fasthttp.RequestHandler, method, target, body string) (status int, respBody []byte) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(target)
	if body != "" {
		ctx.Request.Header.SetContentType(fiber.MIMEApplicationJSON)
		ctx.Request.SetBodyString(body)
	}
	handler(&ctx)
	return ctx.Response.StatusCode(), ctx.Response.Body()
}

// bearer is an Authorization header value.
func bearer(token string) string { return "Bearer " + token }

func TestNewAppMissingDeps(t *testing.T) {
	_, err := newApp(deps{Config: testConfig()})
	if err == nil || !strings.Contains(err.Error(), "Temporal") {
		t.Fatalf("newApp without deps: got %v, want an error naming the missing dependencies", err)
	}
}
