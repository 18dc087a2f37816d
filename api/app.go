package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/tim"
)

// temporalClient is everything the API asks of Temporal (STYLE 12: declared here, by its
// consumer). client.Client satisfies it; tests use a fake.
type temporalClient interface {
	// SignalWithStartWorkflow delivers a signal, starting the workflow when no run is open.
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	// SignalWorkflow signals an open workflow.
	SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg any) error
	// UpdateWorkflow sends a workflow update.
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	// NewWithStartWorkflowOperation and UpdateWithStartWorkflow send an update, starting the
	// workflow when no run is open.
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	// QueryWorkflow queries a workflow.
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error)
	// CountWorkflow counts workflows through the visibility store.
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
	// CheckHealth checks that the Temporal frontend answers.
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// userSigSigner issues Tencent UserSigs (tim.Signer).
type userSigSigner interface {
	SignAt(userID string, now time.Time, expire time.Duration) (string, error)
	SDKAppID() uint64
}

// accountImporter imports and checks Tencent IM accounts (tim.Client).
type accountImporter interface {
	ImportAccount(ctx context.Context, account tim.Account) error
	ImportAccounts(ctx context.Context, userIDs []string) (failed []string, err error)
	CheckAccounts(ctx context.Context, userIDs []string) ([]tim.AccountCheckResult, error)
}

// textTranslator translates one text (activities.LLM).
type textTranslator interface {
	Enabled() bool
	Translate(ctx context.Context, in activities.TranslateInput) (activities.TranslateResult, error)
}

// deps is everything newApp needs; run fills it from Config, tests from fakes.
type deps struct {
	Config Config
	Logger *slog.Logger
	Now    func() time.Time
	// Registry receives the API's metrics and is served on /metrics.
	Registry *prometheus.Registry

	Temporal temporalClient

	Signer     userSigSigner
	Accounts   accountImporter
	Translator textTranslator
	// ReadRosterFile returns the fallback roster file; nil when TIMDESK_ROSTER_FILE is unset.
	ReadRosterFile func() ([]byte, error)
}

// Body size limits.
const (
	maxBodyBytes     = 1 << 20  // any request
	maxCallbackBytes = 64 << 10 // Tencent messages are ≤ 12 KB; anything far larger is refused early
	// callbackDeadline bounds the whole callback handling, inside Tencent's 2 s.
	callbackDeadline = 1800 * time.Millisecond
)

// server holds the handlers' shared state.
type server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	d       deps
	metrics *metrics
	desk    *deskView
	langs   *userLanguages
	trans   *translator
	// signalled remembers the MsgKeys a before-send callback delivered to a consultation, so the
	// after-send copy of the same message is not signalled again (it is only the backup path).
	signalled *lruCache[string, struct{}]
	limiter   *ipLimiter
	admission *admission // bounds the callbacks' Temporal calls
	jwt       *jwtVerifier
	groupOnce sync.Once // the "group callbacks are not used" warning
	routes    map[string]bool
}

// newApp builds the Fiber app with every route and middleware; main and tests share it.
func newApp(d deps) (*fiber.App, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	m, err := newMetrics(d.Registry)
	if err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	s := &server{
		cfg:     d.Config,
		log:     d.Logger,
		now:     d.Now,
		d:       d,
		metrics: m,
		routes:  map[string]bool{},
	}
	s.langs = newUserLanguages(d.Now)
	s.desk = newDeskView(d.Temporal, d.ReadRosterFile, d.Now, d.Logger, m)
	s.trans = newTranslator(d.Translator, d.Config.TranslateBudget, d.Now, d.Logger)
	s.trans.metrics = m
	s.signalled = newLRU[string, struct{}](signalledCacheSize, signalledCacheTTL, d.Now)
	s.limiter = newIPLimiter(d.Config.UserSigRate, d.Config.UserSigBurst, d.Now)
	s.jwt = newJWTVerifier(d.Config, d.Now)
	limit := d.Config.MaxInflight
	if limit <= 0 {
		limit = defaultMaxInflight
	}
	if s.admission, err = newAdmission(limit, d.Config.CallbackBudget/2, d.Registry); err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}

	cfg := fiber.Config{
		AppName:               "timdesk-api",
		BodyLimit:             maxBodyBytes,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          d.Config.RequestTimeout + 5*time.Second,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
		// Handlers keep strings (user IDs, labels) beyond the request: never alias fasthttp buffers.
		Immutable:    true,
		ErrorHandler: errorHandler(d.Logger, m),
		// Fiber trusts no proxy: c.IP(), c.Protocol() and c.Hostname() never read X-Forwarded-*
		// headers (c.IP() would return the raw, client-written X-Forwarded-For). The client
		// address comes from s.clientIP, which applies TIMDESK_TRUSTED_PROXIES.
		EnableTrustedProxyCheck: true,
	}
	app := fiber.New(cfg)
	app.Use(s.requestIDMiddleware, s.observeMiddleware, s.recoverMiddleware, s.timeoutMiddleware, identityBodyMiddleware)

	s.registerHealthRoutes(app)
	s.registerCallbackRoutes(app)
	if err := s.registerChatRoutes(app); err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	v1 := app.Group("/api/v1")
	s.registerUserSigRoutes(v1)
	admin := adminRouter{r: v1, auth: s.adminAuth}
	s.registerAccountRoutes(admin)
	s.registerConsultationRoutes(admin)
	s.registerRosterRoutes(admin)
	s.registerAgentRoutes(admin)
	s.registerLanguageRoutes(admin)
	for _, r := range app.GetRoutes(true) {
		if r.Method != methodUse && r.Method != fiber.MethodHead {
			s.routes[r.Path] = true
		}
	}
	app.Use(func(c *fiber.Ctx) error { return newError(codeNotFound, "no such route") })
	return app, nil
}

func (d deps) validate() error {
	var missing []string
	for _, dep := range []struct {
		name string
		ok   bool
	}{
		{"Temporal", d.Temporal != nil}, {"Signer", d.Signer != nil}, {"Accounts", d.Accounts != nil},
		{"Translator", d.Translator != nil},
	} {
		if !dep.ok {
			missing = append(missing, dep.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("new app: missing dependencies %s", strings.Join(missing, ", "))
	}
	return nil
}

const localRequestID = "requestID"

// methodUse is the Method Fiber v2 gives middleware (app.Use) routes.
const methodUse = "USE"

// adminRouter registers routes behind the admin key; the auth handler runs inside each route so
// metrics and logs keep the route pattern on 401s.
type adminRouter struct {
	r    fiber.Router
	auth fiber.Handler
}

func (a adminRouter) Get(path string, h fiber.Handler) { a.r.Get(path, a.auth, h) }

func (a adminRouter) Post(path string, h fiber.Handler) { a.r.Post(path, a.auth, h) }

func (a adminRouter) Put(path string, h fiber.Handler) { a.r.Put(path, a.auth, h) }

func (a adminRouter) Delete(path string, h fiber.Handler) { a.r.Delete(path, a.auth, h) }

// requestIDMiddleware accepts a well-formed incoming X-Request-ID or makes one, and echoes it.
func (s *server) requestIDMiddleware(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// requestID returns the request's ID ("" before the middleware ran).
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// routeLabel is the matched route pattern, or "unmatched", for metrics and logs.
func routeLabel(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Method != methodUse && r.Path != "" {
		return r.Path
	}
	return "unmatched"
}

// observeMiddleware counts and times every request per route and writes one access-log line. It
// runs the error mapper itself so the final status is known.
func (s *server) observeMiddleware(c *fiber.Ctx) error {
	start := s.now()
	err := c.Next()
	if err != nil {
		if herr := c.App().Config().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	route := routeLabel(c)
	if !s.routes[route] {
		route = "unmatched"
	}
	status := c.Response().StatusCode()
	elapsed := s.now().Sub(start)
	s.metrics.observeRequest(c.Method(), route, status, elapsed)
	level := slog.LevelInfo
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		level = slog.LevelDebug // probes and scrapes would drown the log
	}
	attrs := []any{"requestID", requestID(c), "method", c.Method(), "route", route,
		"status", status, "durationMs", elapsed.Milliseconds(), "ip", s.clientIP(c).String()}
	if refused, ok := c.Locals(localRefusedStatus).(int); ok {
		attrs = append(attrs, "refusedStatus", refused) // a callback refused with 200 + ErrorCode 1
	}
	s.log.Log(c.UserContext(), level, "request", attrs...)
	return nil
}

// recoverMiddleware turns a panic into a logged internal error (500 with the request ID).
func (s *server) recoverMiddleware(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "requestID", requestID(c), "route", routeLabel(c),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	return c.Next()
}

var errPanic = errors.New("handler panicked")

// identityBodyMiddleware refuses a request whose body is compressed (any Content-Encoding but
// identity) with 415 before any handler reads it. Fiber's Ctx.Body inflates gzip, deflate and
// brotli bodies in memory without a limit, and the size limits (the server's 1 MB, the callback's
// 64 KB) count the compressed bytes: a 200 KB gzip of zeros became 200 MB before the callback's
// signature was checked. Tencent's callbacks, the chat page and admin clients send plain bodies.
func identityBodyMiddleware(c *fiber.Ctx) error {
	var bad bool
	c.Request().Header.VisitAll(func(key, value []byte) {
		if strings.EqualFold(string(key), fiber.HeaderContentEncoding) {
			v := strings.TrimSpace(string(value))
			bad = bad || (v != "" && !strings.EqualFold(v, "identity"))
		}
	})
	if bad {
		return newError(codeEncoding, "Content-Encoding is not supported: send the body uncompressed")
	}
	return c.Next()
}

// timeoutMiddleware gives each request a context deadline (the callback has its own, shorter one).
func (s *server) timeoutMiddleware(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}
