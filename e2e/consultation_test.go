// Package e2e runs the whole of timdesk — a real Temporal dev server, the Tencent IM emulator, the API
// and the worker as separate processes built from this source, and an OpenAI-compatible fake — and
// plays consultations through the emulator's simulated clients, as a person on the emulator page would.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/internal/temporalenv"
	"github.com/timdesk/timdesk/workflows"
)

// stack is one running timdesk for the tests in this package.
type stack struct {
	temporalCLI  string
	temporalAddr string
	namespace    string
	simURL       string
	apiURL       string
	metricsURL   string // the worker's /metrics
	// moreMetricsURLs are the other worker replicas' /metrics (cluster mode).
	moreMetricsURLs []string
	// procEnv is what a program's environment adds to env (cluster mode: each replica's own
	// addresses), kept when it is restarted.
	procEnv      map[string][]string
	adminKey     string
	llm          *fakeLLM
	procs        []*process
	bins         map[string]string
	env          []string
	temporalPort int
	temporalDB   string
	temporal     *process
	cluster      *clusterInfo // nil on the dev server
	// chatHostPort is where TestChatPage serves its host app pages: http://127.0.0.1:chatHostPort
	// is in the API's TIMDESK_CHAT_HOST_ORIGINS, http://localhost:chatHostPort is not.
	chatHostPort int
}

// startTemporal starts the file-backed dev server (or, in cluster mode, the Temporal server on
// PostgreSQL) and waits until it serves.
func (s *stack) startTemporal(t *testing.T) {
	t.Helper()
	if s.cluster != nil {
		s.restartClusterServer(t)
		return
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", fmt.Sprint(s.temporalPort), "--headless",
		"--db-filename", s.temporalDB, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--log-level", "error", "--dynamic-config-value", "frontend.enableServerVersionCheck=false"}
	args = append(args, temporalenv.DevServerArgs...)
	for _, sa := range desk.SearchAttributes() {
		args = append(args, "--search-attribute", sa.Name+"="+sa.Type)
	}
	p, err := startProcessArgs("temporal", s.temporalCLI, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.temporal = p
	t.Cleanup(p.Stop)
	eventually(t, time.Minute, "Temporal dev server health", func() error {
		if p.Exited() {
			t.Fatalf("temporal exited: %v\n%s", p.err, tail(p.Output(), 40))
		}
		out, err := exec.Command(s.temporalCLI, "operator", "cluster", "health", "--address", s.temporalAddr).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}

// killTemporal ends the dev server at once, as a crash would.
func (s *stack) killTemporal(t *testing.T) {
	t.Helper()
	_ = s.temporal.cmd.Process.Kill()
	<-s.temporal.done
}

// restart stops the named program, runs down (if any) while it is down, and starts it again with
// the same binary and environment (startProgram).
func (s *stack) restart(t *testing.T, name string, down func()) {
	t.Helper()
	for _, p := range s.procs {
		if p.name == name {
			p.Stop()
		}
	}
	if down != nil {
		down()
	}
	s.startProgram(t, name)
}

// e2eRoster is the roster of the e2e tests; %s is the accept timeout.
const e2eRoster = `timezone: Asia/Shanghai
accept_timeout: %s
reply_timeout: 10m
agents:
  - id: agent_emma
    name: Emma
    language: en
    capacity: 5
    shifts: ["mon-sun 00:00-24:00"]
  - id: agent_tom
    name: Tom
    language: en
    capacity: 5
    shifts: ["mon-sun 00:00-24:00"]
supervisors: [agent_zhang]
`

const e2eFAQ = `- q: ["How do I reset my password?", "忘记密码怎么办"]
  a: "Tap 'Forgot password' on the login page."
`

// stackOptions choose how the stack runs.
type stackOptions struct {
	// fileBacked: the Temporal dev server keeps its state in a SQLite file and runs as a process the
	// test can kill and restart; otherwise the SDK's test harness starts an in-memory one.
	fileBacked bool
	// offline: no LLM configured (offline FAQ answerer, translation off), with the demo roster and
	// FAQ that `make run` uses.
	offline bool
	// acceptTimeout of the roster (default 4 s, short enough to watch an escalation).
	acceptTimeout time.Duration
	// tencent, when set, is the Tencent REST API the programs talk to instead of the emulator
	// (which then does not run): the load tests post callbacks themselves.
	tencent *fakeTencent
	// llmURL, when set (and not offline), is the OpenAI-compatible base URL instead of the
	// stack's phrase-table fake.
	llmURL string
}

// startStack brings everything up and registers its teardown.
func startStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	if clusterMode() {
		return startCluster(t, opts)
	}
	fileBacked := opts.fileBacked
	cli := temporalCLI(t)
	root := repoRoot(t)
	dir := t.TempDir()
	bins, err := buildPrograms(root, dir)
	if err != nil {
		t.Fatal(err)
	}

	s := &stack{
		temporalCLI: cli,
		namespace:   "default",
		adminKey:    "e2e-admin-key-0123456789abcdef-0123",
		llm:         newFakeLLM(t),
	}
	if fileBacked {
		s.temporalPort = freePort(t)
		s.temporalDB = filepath.Join(dir, "temporal.db")
		s.temporalAddr = fmt.Sprintf("127.0.0.1:%d", s.temporalPort)
		s.startTemporal(t)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
			ExistingPath:     cli,
			LogLevel:         "error",
			SearchAttributes: workflows.SearchAttributes(),
			ExtraArgs:        temporalenv.DevServerArgs,
		})
		if err != nil {
			t.Fatalf("start Temporal dev server: %v", err)
		}
		t.Cleanup(func() { _ = srv.Stop() })
		s.temporalAddr = srv.FrontendHostPort()
	}
	simPort, apiPort, metricsPort := freePort(t), freePort(t), freePort(t)
	s.simURL = fmt.Sprintf("http://127.0.0.1:%d", simPort)
	s.apiURL = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	s.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	programs := []string{"timsim", "worker", "api"}
	if opts.tencent != nil {
		programs = []string{"worker", "api"}
	}
	env := append(s.programEnv(t, root, dir, opts, simPort, s.apiURL+"/tim/callback"), "TIMDESK_LISTEN=127.0.0.1:"+fmt.Sprint(apiPort),
		"TIMDESK_WORKER_METRICS_LISTEN=127.0.0.1:"+fmt.Sprint(metricsPort))
	s.bins, s.env = bins, env
	s.startPrograms(t, programs...)
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	if err := waitHTTP(wctx, s.apiURL+"/healthz", s.procs...); err != nil {
		t.Fatal(err)
	}
	if opts.tencent == nil {
		if err := waitHTTP(wctx, s.simURL+"/", s.procs...); err != nil {
			t.Fatal(err)
		}
		s.waitAccountsImported(t)
	}
	return s
}

// waitAccountsImported waits until the worker has imported the service account and the roster
// into the emulator (it does so at start, in the background): before that a customer's send is
// refused with 20003 "To_Account support is not imported", as Tencent would.
func (s *stack) waitAccountsImported(t *testing.T) {
	t.Helper()
	eventually(t, time.Minute, "the worker's account import", func() error {
		for _, p := range s.procs {
			if strings.HasPrefix(p.name, "worker") && strings.Contains(p.Output(), "accounts imported") {
				return nil
			}
		}
		return errNotYet
	})
}

// programEnv is the environment of the emulator, the API and the worker (the API's TIMDESK_LISTEN
// aside): the roster and FAQ written into dir, the emulator on simPort posting its callbacks to
// callbackURL (or opts.tencent as Tencent's REST API), and the fake LLM (or opts.llmURL) unless
// opts.offline.
func (s *stack) programEnv(t *testing.T, root, dir string, opts stackOptions, simPort int, callbackURL string) []string {
	t.Helper()
	rosterFile := filepath.Join(dir, "roster.yaml")
	faqFile := filepath.Join(dir, "faq.yaml")
	if opts.acceptTimeout == 0 {
		opts.acceptTimeout = 4 * time.Second
	}
	if err := os.WriteFile(rosterFile, []byte(fmt.Sprintf(e2eRoster, opts.acceptTimeout)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(faqFile, []byte(e2eFAQ), 0o600); err != nil {
		t.Fatal(err)
	}
	if opts.offline {
		rosterFile = filepath.Join(root, "deploy", "demo", "roster.yaml")
		faqFile = filepath.Join(root, "deploy", "demo", "faq.yaml")
	}
	timURL := s.simURL
	if opts.tencent != nil {
		timURL = opts.tencent.URL()
	}
	if s.chatHostPort == 0 {
		s.chatHostPort = freePort(t)
	}
	llmURL := s.llm.URL()
	if opts.llmURL != "" {
		llmURL = opts.llmURL
	}
	env := []string{
		"TIMDESK_SDKAPPID=1400000000",
		"TIMDESK_SECRET_KEY=5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e",
		"TIMDESK_ADMIN=administrator",
		"TIMDESK_CALLBACK_TOKEN=" + e2eCallbackToken,
		"TIMDESK_SERVICE_ACCOUNT=support",
		"TIMDESK_AUTH_JWT_SECRET=e2e-jwt-secret-0123456789abcdef-0123",
		"TIMDESK_ADMIN_API_KEY=" + s.adminKey,
		"TIMDESK_TIM_BASE_URL=" + timURL,
		"TEMPORAL_ADDRESS=" + s.temporalAddr,
		"TEMPORAL_NAMESPACE=" + s.namespace,
		"TIMDESK_TASK_QUEUE=timdesk-e2e",
		"TIMDESK_ROSTER_FILE=" + rosterFile,
		"TIMDESK_FAQ_FILE=" + faqFile,
		"TIMDESK_LOG_FORMAT=text",
		"TIMSIM_LISTEN=127.0.0.1:" + fmt.Sprint(simPort),
		"TIMSIM_CALLBACK_URL=" + callbackURL,
		// the /chat/ page talks to the emulator (TestChatPage starts an API on the SDK as well)
		"TIMDESK_CHAT_TRANSPORT=sim",
		fmt.Sprintf("TIMDESK_CHAT_HOST_ORIGINS=http://127.0.0.1:%d", s.chatHostPort),
	}
	if opts.offline {
		env = append(env, "OPENAI_BASE_URL=", "OPENAI_API_KEY=")
	} else {
		env = append(env, "OPENAI_BASE_URL="+llmURL, "OPENAI_API_KEY=e2e-key", "TIMDESK_LLM_MODEL=e2e-model")
	}
	return env
}

// simMessage is one message as the emulator's client API shows it.
type simMessage struct {
	Seq             int64  `json:"seq"`
	From            string `json:"from"`
	To              string `json:"to"`
	Text            string `json:"text"`
	CloudCustomData string `json:"cloudCustomData"`
	MsgKey          string `json:"msgKey"`
}

type simSendResult struct {
	ErrorCode int    `json:"errorCode"`
	ErrorInfo string `json:"errorInfo"`
	MsgKey    string `json:"msgKey"`
}

func (s *stack) login(t *testing.T, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := postJSON(context.Background(), s.simURL+"/sim/login", map[string]string{"userID": u}, nil); err != nil {
			t.Fatalf("login %s: %v", u, err)
		}
	}
}

// send sends a text as a simulated client would, callbacks and all.
func (s *stack) send(t *testing.T, from, to, text string) simSendResult {
	t.Helper()
	var res simSendResult
	if err := postJSON(context.Background(), s.simURL+"/sim/send", map[string]string{"from": from, "to": to, "text": text}, &res); err != nil {
		t.Fatalf("send %s → %s: %v", from, to, err)
	}
	return res
}

// sendUntilAccepted sends like a person whose app showed a failed send: again, until it goes
// through (a callback over its budget under load answers ErrorCode 1). A refused send whose
// signal landed all the same makes the resend a second message, so tests that count answers
// afterwards send once instead.
func (s *stack) sendUntilAccepted(t *testing.T, timeout time.Duration, from, to, text string) {
	t.Helper()
	eventually(t, timeout, from+" sends "+text, func() error {
		if r := s.send(t, from, to, text); r.ErrorCode != 0 {
			return fmt.Errorf("%w: error %d %q", errNotYet, r.ErrorCode, r.ErrorInfo)
		}
		return nil
	})
}

// inbox is every message user has received so far.
func (s *stack) inbox(user string) ([]simMessage, error) {
	var out struct {
		Messages []simMessage `json:"messages"`
	}
	u := s.simURL + "/sim/messages?" + url.Values{"userID": {user}, "since": {"0"}}.Encode()
	resp, err := httpGetJSON(u, &out)
	if err != nil {
		return nil, fmt.Errorf("inbox %s: %w (%s)", user, err, resp)
	}
	var received []simMessage
	for _, m := range out.Messages {
		if m.To == user {
			received = append(received, m)
		}
	}
	return received, nil
}

// waitFor waits until user has received a message matching match, and returns it.
func (s *stack) waitFor(t *testing.T, user string, timeout time.Duration, what string, match func(simMessage) bool) simMessage {
	t.Helper()
	var found simMessage
	eventually(t, timeout, what, func() error {
		msgs, err := s.inbox(user)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if match(m) {
				found = m
				return nil
			}
		}
		return fmt.Errorf("%w: %s has %d messages: %+v", errNotYet, user, len(msgs), msgs)
	})
	return found
}

// receivedOnce waits until user has received a message matching match, gives a second copy
// settle to arrive, and fails unless exactly one came.
func (s *stack) receivedOnce(t *testing.T, user string, timeout, settle time.Duration, what string, match func(simMessage) bool) {
	t.Helper()
	s.waitFor(t, user, timeout, what, match)
	time.Sleep(settle) // room for a second copy, if one were coming
	if n := s.count(t, user, match); n != 1 {
		t.Errorf("%s received %d copies of %s, want 1", user, n, what)
	}
}

// count is how many of the messages user has received so far match match.
func (s *stack) count(t *testing.T, user string, match func(simMessage) bool) int {
	t.Helper()
	msgs, err := s.inbox(user)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if match(m) {
			n++
		}
	}
	return n
}

// waitForAny waits until one of users has received a message matching match, and returns who.
func (s *stack) waitForAny(t *testing.T, users []string, timeout time.Duration, what string, match func(simMessage) bool) string {
	t.Helper()
	var who string
	eventually(t, timeout, what, func() error {
		for _, u := range users {
			msgs, err := s.inbox(u)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if match(m) {
					who = u
					return nil
				}
			}
		}
		return errNotYet
	})
	return who
}

// consultationView is the part of a consultation's live state the tests look at.
type consultationView struct {
	Owner             string    `json:"owner"`
	Status            string    `json:"status"`
	Agent             string    `json:"agent"`
	QueuedSince       time.Time `json:"queuedSince"`
	TranslationStatus string    `json:"translationStatus"`
	Transcript        []struct {
		Text string `json:"text"`
	} `json:"transcript"`
}

// consultationState reads a customer's consultation through the admin API, as an operator would.
func (s *stack) consultationState(customer string) (consultationView, error) {
	var got struct {
		State consultationView `json:"state"`
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.apiURL+"/api/v1/consultations/"+customer, nil)
	if err != nil {
		return got.State, err
	}
	req.Header.Set("Authorization", "Bearer "+s.adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return got.State, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return got.State, fmt.Errorf("GET consultation %s: HTTP %d", customer, resp.StatusCode)
	}
	err = decodeJSON(resp, &got)
	return got.State, err
}

// listWorkflows runs `temporal workflow list --query q` against the dev server, as a person would.
func (s *stack) listWorkflows(t *testing.T, q string) string {
	t.Helper()
	cmd := exec.Command(s.temporalCLI, "workflow", "list", "--address", s.temporalAddr, "--namespace", s.namespace, "--query", q)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow list: %v\n%s", err, out)
	}
	return string(out)
}

// hasSeries reports whether a Prometheus text page has a sample of name carrying every label pair.
func hasSeries(page, name string, labels ...string) bool {
	for _, line := range strings.Split(page, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(rest, l)
		}
		if all {
			return true
		}
	}
	return false
}

func TestConsultationEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	s := startStack(t, stackOptions{})
	s.login(t, "alice", "bob", "agent_emma", "agent_tom")

	// 1. A customer asks in Chinese; the AI answers in Chinese, from the service account.
	s.sendUntilAccepted(t, 30*time.Second, "alice", "support", "怎么退货？")
	s.waitFor(t, "alice", 30*time.Second, "AI answer to alice", func(m simMessage) bool {
		return m.From == "support" && m.Text == refundAnswer
	})

	// 2. An explicit request for a human hands off: the on-duty English agent gets it translated,
	// from the customer.
	s.sendUntilAccepted(t, 30*time.Second, "alice", "support", "我的包裹坏了，我要找人工")
	agent := s.waitForAny(t, []string{"agent_emma", "agent_tom"}, 30*time.Second, "relay to an agent", func(m simMessage) bool {
		return m.From == "alice" && strings.Contains(m.Text, "My parcel is broken, I want a human agent")
	})

	// 3. The agent's reply reaches the customer translated, from the service account; the agent's
	// own untranslated message is not delivered.
	s.sendUntilAccepted(t, 30*time.Second, agent, "alice", "Please send me your order number.")
	s.waitFor(t, "alice", 30*time.Second, "translated agent reply", func(m simMessage) bool {
		return m.From == "support" && m.Text == "请把您的订单号发给我。"
	})
	msgs, err := s.inbox("alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.From == agent {
			t.Errorf("alice received the agent's untranslated message directly: %+v", m)
		}
	}

	// 4. The consultation is searchable by status in Temporal.
	eventually(t, 15*time.Second, "visibility of the human consultation", func() error {
		out := s.listWorkflows(t, `TimdeskStatus="human"`)
		if !strings.Contains(out, "consultation/alice") {
			return fmt.Errorf("%w: %s", errNotYet, out)
		}
		return nil
	})

	// 5. Nobody answers bob within the accept timeout: the next agent gets the consultation.
	s.sendUntilAccepted(t, 30*time.Second, "bob", "support", "我的包裹坏了，我要找人工")
	first := s.waitForAny(t, []string{"agent_emma", "agent_tom"}, 30*time.Second, "bob's first relay", func(m simMessage) bool {
		return m.From == "bob"
	})
	next := "agent_emma"
	if first == "agent_emma" {
		next = "agent_tom"
	}
	s.waitFor(t, next, 40*time.Second, "escalation to the next agent", func(m simMessage) bool {
		return m.From == "bob"
	})

	// The worker's /metrics shows what happened so far: timdesk's own series and the SDK's.
	// (With several workers, what happened is spread over their /metrics: read them all.)
	eventually(t, 15*time.Second, "worker metrics", func() error {
		var body []byte
		for _, u := range append([]string{s.metricsURL}, s.moreMetricsURLs...) {
			resp, err := http.Get(u)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			body = append(body, b...)
		}
		for _, want := range [][]string{
			{"timdesk_messages_total", `role="customer"`, `namespace="` + s.namespace + `"`},
			{"timdesk_messages_total", `role="agent"`},
			{"timdesk_ai_answers_total", `action="answer"`, `source="llm"`},
			{"timdesk_handoffs_total", `trigger="customer_requested"`, `task_queue="timdesk_e2e"`}, // tally turns "-" into "_"
			{"timdesk_escalations_total", `trigger="accept_timeout"`},
			{"timdesk_first_human_reply_seconds_count"},
			{"temporal_activity_execution_latency_seconds_bucket"},
			{"temporal_workflow_task_schedule_to_start_latency_seconds_bucket"},
		} {
			if !hasSeries(string(body), want[0], want[1:]...) {
				var timdesk []string
				for _, line := range strings.Split(string(body), "\n") {
					if strings.HasPrefix(line, "timdesk_") && !strings.Contains(line, "_bucket") {
						timdesk = append(timdesk, line)
					}
				}
				return fmt.Errorf("%w: worker /metrics lacks %v; its timdesk series:\n%s", errNotYet, want, strings.Join(timdesk, "\n"))
			}
		}
		return nil
	})

	// 6. The worker dies mid-conversation: the customer's message is accepted meanwhile (the callback
	// only needs Temporal), and after the restart it gets exactly one answer.
	s.login(t, "carol")
	s.restart(t, "worker", func() {
		if r := s.send(t, "carol", "support", "怎么退货？"); r.ErrorCode != 0 {
			t.Errorf("customer send while the worker is down: got error %d %q, want 0", r.ErrorCode, r.ErrorInfo)
		}
	})
	s.waitFor(t, "carol", 60*time.Second, "answer after the worker restart", func(m simMessage) bool {
		return m.From == "support" && m.Text == refundAnswer
	})
	time.Sleep(3 * time.Second)
	carol, err := s.inbox("carol")
	if err != nil {
		t.Fatal(err)
	}
	answers := 0
	for _, m := range carol {
		if m.From == "support" && m.Text == refundAnswer {
			answers++
		}
	}
	if answers != 1 {
		t.Errorf("carol got %d copies of the answer, want exactly 1: %+v", answers, carol)
	}

	// However often the agent had to resend, alice got the reply once.
	alice, err := s.inbox("alice")
	if err != nil {
		t.Fatal(err)
	}
	replies := 0
	for _, m := range alice {
		if m.From == "support" && m.Text == "请把您的订单号发给我。" {
			replies++
		}
	}
	if replies != 1 {
		t.Errorf("alice got the agent's reply %d times, want exactly 1", replies)
	}
}
