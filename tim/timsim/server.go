package timsim

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// Default values used by New when an Options field is left zero.
const (
	DefaultAdmin           = "administrator"
	DefaultCallbackTimeout = 2 * time.Second
)

// Options configures a Server.
type Options struct {
	// SDKAppID is the application id the emulator pretends to be (query sdkappid, callback SdkAppid).
	SDKAppID uint64
	// SecretKey verifies the admin UserSig of REST calls and optional UserSigs on /sim/login.
	SecretKey string
	// Admin is the App admin account allowed to call REST (default "administrator"). It is always imported.
	Admin string
	// CallbackURL receives the Tencent-style callbacks; "" disables callbacks (before-send then allows).
	CallbackURL string
	// CallbackToken, when set, adds RequestTime and Sign (tim.CallbackSign) to every callback query.
	CallbackToken string
	// FailClosed mirrors the console option "don't deliver when the before-send callback fails":
	// the sender then gets 80003. The default (false) is Tencent's fail-open: the message is delivered.
	FailClosed bool
	// CallbackTimeout bounds each callback (default 2 s, as Tencent).
	CallbackTimeout time.Duration
	// Now is the clock (default time.Now). It drives MsgTime, the sendmsg dedupe window (120 s),
	// UserSig expiry, RequestTime and rate-limit windows.
	Now func() time.Time
	// HTTPClient posts callbacks (default a plain *http.Client; the timeout comes from CallbackTimeout).
	HTTPClient tim.HTTPDoer
	// Logger receives the emulator's logs (default: discarded).
	Logger *slog.Logger
	// Accounts are imported at start, in addition to Admin.
	Accounts []string
	// Windows are the chat windows the web page opens on first visit (default DefaultWindows).
	Windows []Window
	// ServiceAccount is the app's service account (default DefaultServiceAccount). The emulator
	// treats it like any account; the web page only uses it to mark its messages.
	ServiceAccount string
}

// DefaultServiceAccount is Options.ServiceAccount when empty (timdesk's default service account).
const DefaultServiceAccount = "support"

// Window is one chat window on the emulator's web page: the user it acts as and the peer it writes to.
type Window struct {
	User string `json:"user"`
	Peer string `json:"peer"`
}

// DefaultWindows is what the web page shows when Options.Windows is empty: a customer "alice"
// writing to the service account "support", and the demo roster's agents agent_emma and agent_li
// (deploy/demo/roster.yaml) answering alice.
var DefaultWindows = []Window{{User: "alice", Peer: "support"}, {User: "agent_emma", Peer: "alice"}, {User: "agent_li", Peer: "alice"}}

// Server is the emulator. It is an http.Handler: REST under /v4/, the simulated-client API under
// /sim/, the web page at /. Create it with New; call Close when done so long-polls, event streams
// and queued callbacks finish.
type Server struct {
	opts   Options
	signer *tim.Signer
	now    func() time.Time
	log    *slog.Logger
	http   tim.HTTPDoer
	mux    *http.ServeMux

	// async delivers after-send, state-change and group callbacks in order, off the request path.
	async asyncQueue
	done  chan struct{}
	close sync.Once

	mu         sync.Mutex
	accounts   map[string]*account
	convs      map[string][]*c2cMsg
	order      uint64
	timelines  map[string]*timeline
	dedupe     map[string]*dedupeEntry
	groups     map[string]*group
	clientSeq  map[string]uint32
	faults     []*faultState
	rateLimit  RateLimit
	rateWindow int64
	rateCount  int
	feed       activityFeed
	failClosed bool
	presence   map[string]int // open presence streams per user
	anyChanged chan struct{}  // closed and replaced on every timeline, activity or account change
	// accountsVer counts changes of the account list and presence (GET /sim/stream "accounts").
	accountsVer uint64
	// presenceGrace is how long a closed presence stream waits for a reconnect (a page reload)
	// before the user is disconnected.
	presenceGrace time.Duration
	// bootID changes with every Server, so the page can tell that the emulator restarted.
	bootID string
}

// New returns an emulator configured by opts; zero fields take the documented defaults.
func New(opts Options) *Server {
	if opts.Admin == "" {
		opts.Admin = DefaultAdmin
	}
	if opts.CallbackTimeout <= 0 {
		opts.CallbackTimeout = DefaultCallbackTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if len(opts.Windows) == 0 {
		opts.Windows = DefaultWindows
	}
	if opts.ServiceAccount == "" {
		opts.ServiceAccount = DefaultServiceAccount
	}
	signer := tim.NewSigner(opts.SDKAppID, opts.SecretKey)
	signer.Now = opts.Now
	s := &Server{
		opts:       opts,
		signer:     signer,
		now:        opts.Now,
		log:        opts.Logger,
		http:       opts.HTTPClient,
		done:       make(chan struct{}),
		accounts:   map[string]*account{},
		convs:      map[string][]*c2cMsg{},
		timelines:  map[string]*timeline{},
		dedupe:     map[string]*dedupeEntry{},
		groups:     map[string]*group{},
		clientSeq:  map[string]uint32{},
		failClosed: opts.FailClosed,
	}
	s.feed.changed = make(chan struct{})
	s.anyChanged = make(chan struct{})
	s.presenceGrace = defaultPresenceGrace
	s.bootID = strconv.FormatUint(rand.Uint64(), 36)
	s.importLocked(opts.Admin)
	for _, id := range opts.Accounts {
		if id = strings.TrimSpace(id); id != "" && tim.ValidateUserID(id) == nil {
			s.importLocked(id)
		}
	}
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("/v4/", s.handleREST)
	s.mux.HandleFunc("POST /sim/login", s.handleSimLogin)
	s.mux.HandleFunc("POST /sim/logout", s.handleSimLogout)
	s.mux.HandleFunc("POST /sim/disconnect", s.handleSimDisconnect)
	s.mux.HandleFunc("POST /sim/send", s.handleSimSend)
	s.mux.HandleFunc("POST /sim/import", s.handleSimImport)
	s.mux.HandleFunc("GET /sim/messages", s.handleSimMessages)
	s.mux.HandleFunc("GET /sim/events", s.handleSimEvents)
	s.mux.HandleFunc("GET /sim/activity", s.handleSimActivity)
	s.mux.HandleFunc("GET /sim/stream", s.handleSimStream)
	s.mux.HandleFunc("GET /sim/state", s.handleSimState)
	s.mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	s.mux.HandleFunc("POST /sim/faults", s.handleSetFaults)
	s.mux.HandleFunc("DELETE /sim/faults", s.handleClearFaults)
	s.mux.HandleFunc("POST /sim/policy", s.handleSetPolicy)
	s.mux.HandleFunc("GET /{$}", s.handlePage)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// ServeHTTP implements http.Handler. The /sim/ client API answers any origin (CORS), so a
// page served elsewhere — timdesk's /chat/ page in development — can act as a simulated client.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sim/") && r.Header.Get("Origin") != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// SDKAppID is the application id the emulator answers for.
func (s *Server) SDKAppID() uint64 { return s.opts.SDKAppID }

// Admin is the admin account REST calls must use.
func (s *Server) Admin() string { return s.opts.Admin }

// SetFailClosed switches the before-send failure policy at run time (true: sender gets 80003).
func (s *Server) SetFailClosed(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failClosed = v
}

// Close ends long-polls and event streams and waits (bounded by the callback timeout per item) for
// queued callbacks to be delivered. The Server still answers REST calls afterwards, but new
// streams end at once. Close is safe to call more than once.
func (s *Server) Close() error {
	s.close.Do(func() { close(s.done) })
	s.async.wait()
	return nil
}

// Wait blocks until every callback queued so far (after-send, state change, group) was delivered
// or failed. Tests use it instead of sleeping.
func (s *Server) Wait() { s.async.wait() }

// asyncQueue runs functions one at a time in submission order, on a goroutine that exists only
// while there is work.
type asyncQueue struct {
	mu      sync.Mutex
	items   []func()
	running bool
	wg      sync.WaitGroup
}

func (q *asyncQueue) push(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, f)
	q.wg.Add(1)
	if !q.running {
		q.running = true
		go q.drain()
	}
}

func (q *asyncQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		f := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		f()
		q.wg.Done()
	}
}

func (q *asyncQueue) wait() { q.wg.Wait() }

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// clientIP is the host part of r.RemoteAddr.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// sleepCtx waits d or until ctx ends; it reports whether the full wait happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
