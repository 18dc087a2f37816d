package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// deskRosterNew is a roster stored in the desk (PUT /api/v1/roster) where "agent_new" is an
// agent; the roster file (testRoster) does not know them.
var deskRosterNew = strings.Replace(testRoster, "agent_emma", "agent_new", 1)

// answerNew is the desk's answer holding deskRosterNew, agent_new online and a language.
func answerNew() desk.State {
	return desk.State{
		RosterYAML: deskRosterNew, RosterVersion: 4,
		Presence:  map[string]desk.Presence{"agent_new": {Online: true, At: testNow}},
		Languages: map[string]string{"alice": "fr"},
	}
}

// testClock is a clock the test moves while handlers read it.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(testNow.UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// scriptedDesk answers desk queries in turn with answers (nil: the worker is down, no answer
// within the timeout; desk.State: that answer; error: that error); the last one repeats.
type scriptedDesk struct {
	mu      sync.Mutex
	answers []any
	n       int
}

func (s *scriptedDesk) query(_ context.Context, c call) (any, error) {
	if c.ID != workflows.DeskWorkflowID || c.Name != workflows.QueryDesk {
		return nil, errNoFake
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.answers[min(s.n, len(s.answers)-1)]
	s.n++
	switch a := a.(type) {
	case desk.State:
		return a, nil
	case error:
		return nil, a
	default:
		return nil, serviceerror.NewDeadlineExceeded("context deadline exceeded")
	}
}

func (s *scriptedDesk) queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// waitRefreshed waits until no background refresh of d runs.
func waitRefreshed(t *testing.T, d *deskView) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.mu.Lock()
		busy := d.refreshing
		d.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("desk refresh still running after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDeskViewKeepsLastAnswer: a desk query without an answer serves the desk's last answer
// (roster override, presence, languages) marked stale, never an empty desk; only an answer
// replaces it; a failed query waits deskCacheTTL like an answered one (a down worker is asked
// at most once per TTL); before any answer the view is the roster file alone, not Answered.
func TestDeskViewKeepsLastAnswer(t *testing.T) {
	down := any(nil)
	notFound := serviceerror.NewNotFound("workflow not found")
	newer := desk.State{RosterYAML: testRoster, RosterVersion: 5}
	type step struct {
		at         time.Duration // clock since testNow
		invalidate bool          // before reading
		agentNew   bool          // agent_new is an agent
		agentEmma  bool          // agent_emma (the roster file's) is an agent
		answered   bool
		stale      bool
		source     string
		presence   bool // agent_new's presence is known
		queries    int  // desk queries so far
	}
	tests := []struct {
		name    string
		answers []any
		steps   []step
	}{
		{"answer, then the worker is down", []any{answerNew(), down}, []step{
			{at: 0, agentNew: true, answered: true, source: desk.SourceDesk, presence: true, queries: 1},
			{at: 6 * time.Second, agentNew: true, answered: true, source: desk.SourceDesk, presence: true, queries: 2}, // stale-while-refresh
			{at: 7 * time.Second, agentNew: true, answered: true, stale: true, source: desk.SourceDesk, presence: true, queries: 2},
			{at: 10 * time.Second, agentNew: true, answered: true, stale: true, source: desk.SourceDesk, presence: true, queries: 2},
			{at: 12 * time.Second, agentNew: true, answered: true, stale: true, source: desk.SourceDesk, presence: true, queries: 3},
			{at: 12 * time.Second, invalidate: true, agentNew: true, answered: true, stale: true, source: desk.SourceDesk, presence: true, queries: 4},
		}},
		{"a later answer replaces the kept one", []any{answerNew(), down, newer}, []step{
			{at: 0, agentNew: true, answered: true, source: desk.SourceDesk, presence: true, queries: 1},
			{at: 0, invalidate: true, agentNew: true, answered: true, stale: true, source: desk.SourceDesk, presence: true, queries: 2},
			{at: 0, invalidate: true, agentEmma: true, answered: true, source: desk.SourceDesk, queries: 3},
		}},
		{"never answered: the roster file alone", []any{down}, []step{
			{at: 0, agentEmma: true, source: desk.SourceFile, queries: 1},
			{at: 6 * time.Second, agentEmma: true, source: desk.SourceFile, queries: 2},
			{at: 7 * time.Second, agentEmma: true, source: desk.SourceFile, queries: 2},
		}},
		{"no desk workflow is an answer: no override", []any{notFound}, []step{
			{at: 0, agentEmma: true, answered: true, source: desk.SourceFile, queries: 1},
		}},
		{"the desk answers after a cold start without it", []any{down, answerNew()}, []step{
			{at: 0, agentEmma: true, source: desk.SourceFile, queries: 1},
			{at: 6 * time.Second, agentEmma: true, source: desk.SourceFile, queries: 2},
			{at: 7 * time.Second, agentNew: true, answered: true, source: desk.SourceDesk, presence: true, queries: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			q := &scriptedDesk{answers: tt.answers}
			d := newDeskView(&fakeTemporal{query: q.query}, func() ([]byte, error) { return []byte(testRoster), nil },
				clock.now, slog.New(slog.DiscardHandler), nil)
			for i, st := range tt.steps {
				clock.set(testNow.Add(st.at))
				if st.invalidate {
					d.invalidate()
				}
				snap := d.cached(context.Background())
				waitRefreshed(t, d)
				if got := snap.IsAgent("agent_new"); got != st.agentNew {
					t.Errorf("step %d: IsAgent(agent_new) = %v, want %v", i, got, st.agentNew)
				}
				if got := snap.IsAgent("agent_emma"); got != st.agentEmma {
					t.Errorf("step %d: IsAgent(agent_emma) = %v, want %v", i, got, st.agentEmma)
				}
				if snap.Answered != st.answered || snap.Stale != st.stale || snap.Source != st.source {
					t.Errorf("step %d: answered %v stale %v source %q, want %v %v %q", i, snap.Answered, snap.Stale, snap.Source,
						st.answered, st.stale, st.source)
				}
				if _, ok := snap.Presence["agent_new"]; ok != st.presence {
					t.Errorf("step %d: agent_new's presence known = %v, want %v", i, ok, st.presence)
				}
				if st.presence && snap.Languages["alice"] != "fr" {
					t.Errorf("step %d: languages %v, want the desk's", i, snap.Languages)
				}
				if st.stale && (snap.DeskErr == nil || !snap.AnsweredAt.Equal(testNow)) {
					t.Errorf("step %d: stale view without its error or answer time: %v %v", i, snap.DeskErr, snap.AnsweredAt)
				}
				if got := q.queries(); got != st.queries {
					t.Errorf("step %d: %d desk queries, want %d", i, got, st.queries)
				}
			}
		})
	}
}

// TestCallbackDeskDownKeepsAgents: the desk answered once with a roster where agent_new is an
// agent (set through PUT /api/v1/roster), then the worker goes down. After the cache TTL
// agent_new's message to a customer still goes to the consultation (never delivered raw), and
// agent_new's login is still recorded in the desk.
func TestCallbackDeskDownKeepsAgents(t *testing.T) {
	clock := newTestClock()
	q := &scriptedDesk{answers: []any{answerNew(), nil}}
	env := newTestEnv(t, func(e *testEnv) {
		e.now = clock.now
		e.temporal.query = q.query
		e.temporal.update = func(context.Context, call) (any, error) { return workflows.AgentMessageResult{Owned: true}, nil }
		e.temporal.signalWithStart = okSignal
	})
	agentToAlice := func() tim.CallbackResponse {
		return callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
			c2cBody(tim.CmdC2CBeforeSendMsg, "agent_new", "alice", textBody("hello"), "")))
	}
	if cr := agentToAlice(); cr.ErrorCode != 2 {
		t.Fatalf("desk up: ErrorCode = %d, want 2", cr.ErrorCode)
	}

	clock.advance(deskCacheTTL + time.Second)
	agentToAlice() // served from the cache; its refresh finds the worker down
	// An admin read queries now and stores what it got, so whatever order the background
	// refresh ends in, the callbacks below read a snapshot of a failed query.
	if r := env.do(t, http.MethodGet, "/api/v1/agents", "", adminHeader()...); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"agent_new"`) ||
		!strings.Contains(string(r.Body), `"deskStale":true`) {
		t.Errorf("GET /api/v1/agents with the desk down: %d %s, want agent_new listed from the desk's last answer, deskStale", r.Status, r.Body)
	}
	if q.queries() < 2 {
		t.Fatalf("%d desk queries, want the failed ones too", q.queries())
	}
	before := len(env.temporal.Calls("Update"))
	cr := agentToAlice()
	if cr.ErrorCode != 2 {
		t.Errorf("desk down: ErrorCode = %d (%q), want 2: agent_new's message must go through the consultation", cr.ErrorCode, cr.ErrorInfo)
	}
	if got := len(env.temporal.Calls("Update")) - before; got != 1 {
		t.Errorf("desk down: %d agent_message updates, want 1", got)
	}

	cr = callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdStateChange), stateBody("agent_new", tim.StateLogin)))
	if cr.ErrorCode != 0 {
		t.Errorf("login: ErrorCode = %d", cr.ErrorCode)
	}
	var logins int
	for _, c := range env.temporal.Calls("SignalWithStart") {
		if ev, ok := c.Arg.(desk.PresenceEvent); ok && c.ID == workflows.DeskWorkflowID && ev.UserID == "agent_new" && ev.Online {
			logins++
		}
	}
	if logins != 1 {
		t.Errorf("agent_new's login signalled the desk %d times, want 1", logins)
	}
}

// TestCallbackDeskNeverAnswered: while the desk has not answered once since the API started, a
// before-send message between two users the roster file does not know is refused (the sender may
// be an agent added through the API); the roster file's agents, customers writing to the service
// account and after-send callbacks work as before; user↔user chat resumes with the desk's first
// answer, and a desk workflow that does not exist counts as one.
func TestCallbackDeskNeverAnswered(t *testing.T) {
	down := any(nil)
	tests := []struct {
		name     string
		answers  []any
		cmd      string
		from, to string
		wantCode int
		wantCall string // the Temporal call the callback makes ("" none)
	}{
		{"user to user refused", []any{down}, tim.CmdC2CBeforeSendMsg, "agent_new", "alice", 1, ""},
		{"after-send unchanged", []any{down}, tim.CmdC2CAfterSendMsg, "agent_new", "alice", 0, ""},
		{"file agent to customer: consultation", []any{down}, tim.CmdC2CBeforeSendMsg, "agent_emma", "alice", 2, "Update"},
		{"customer to service account: consultation", []any{down}, tim.CmdC2CBeforeSendMsg, "alice", defaultServiceAccount, 0, "SignalWithStart"},
		{"no desk workflow: user to user delivered", []any{serviceerror.NewNotFound("not found")}, tim.CmdC2CBeforeSendMsg, "alice", "bob", 0, ""},
		{"desk answered without agent_new: delivered", []any{desk.State{}}, tim.CmdC2CBeforeSendMsg, "agent_new", "alice", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &scriptedDesk{answers: tt.answers}
			env := newTestEnv(t, func(e *testEnv) {
				e.temporal.query = q.query
				e.temporal.update = func(context.Context, call) (any, error) { return workflows.AgentMessageResult{Owned: true}, nil }
				e.temporal.signalWithStart = okSignal
			})
			cr := callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tt.cmd), c2cBody(tt.cmd, tt.from, tt.to, textBody("hello there"), "")))
			if cr.ErrorCode != tt.wantCode {
				t.Errorf("ErrorCode = %d (%q), want %d", cr.ErrorCode, cr.ErrorInfo, tt.wantCode)
			}
			if tt.wantCode == 1 && cr.ErrorInfo != blindInfo {
				t.Errorf("ErrorInfo = %q, want %q", cr.ErrorInfo, blindInfo)
			}
			calls := env.temporal.ConsultationCalls("Update", "SignalWithStart")
			if tt.wantCall == "" && len(calls) != 0 || tt.wantCall != "" && (len(calls) != 1 || calls[0].Method != tt.wantCall) {
				t.Errorf("Temporal calls %+v, want %q", calls, tt.wantCall)
			}
			if tt.wantCode == 1 && len(env.trans.Calls()) != 0 {
				t.Errorf("a refused message was translated")
			}
		})
	}
}

// TestCallbackDeskFirstAnswerResumes: customer↔customer chat refused during a cold start without
// the desk goes through once the desk answers (at the next refresh, deskCacheTTL later).
func TestCallbackDeskFirstAnswerResumes(t *testing.T) {
	clock := newTestClock()
	q := &scriptedDesk{answers: []any{nil, desk.State{}}}
	env := newTestEnv(t, func(e *testEnv) {
		e.now = clock.now
		e.temporal.query = q.query
	})
	send := func() tim.CallbackResponse {
		return callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
			c2cBody(tim.CmdC2CBeforeSendMsg, "alice", "bob", textBody("hello there"), "")))
	}
	if cr := send(); cr.ErrorCode != 1 {
		t.Fatalf("desk never answered: ErrorCode = %d, want 1", cr.ErrorCode)
	}
	clock.advance(deskCacheTTL)
	send() // starts the refresh that reaches the desk
	deadline := time.Now().Add(5 * time.Second)
	for {
		if cr := send(); cr.ErrorCode == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("customer↔customer still refused 5 s after the desk answered (%d queries)", q.queries())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := q.queries(); got != 2 {
		t.Errorf("%d desk queries, want 2 (one per deskCacheTTL)", got)
	}
}
