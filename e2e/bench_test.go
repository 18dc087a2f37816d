package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/workflows"
)

// benchRow is one line of the bench-e2e table.
type benchRow struct {
	run, load        string
	res              loadResult
	signalsPerSecond float64 // the bare baseline only
	llmPerMsg        float64 // -1: no LLM
	eventsPerMsg     float64 // -1: not measured
	worker, api      rss
	cpu              string // CPU ms per answer by program (cpuUse.perAnswer)
}

// benchRuns are the runs TIMDESK_BENCH_RUNS selects (a comma-separated subset of bare, bare-new,
// closed, open, llm; all when unset), so one run can be repeated while profiling it.
func benchRuns() func(string) bool {
	v := os.Getenv("TIMDESK_BENCH_RUNS")
	return func(run string) bool { return v == "" || slices.Contains(strings.Split(v, ","), run) }
}

// TestBenchE2E is `make bench-e2e`: the whole stack on a file-backed dev server with the `make run`
// flags, a fake Tencent REST API, and a load generator posting signed callbacks. It prints one
// table; the goals (README "Performance") are not asserted here, only exactly-once is.
func TestBenchE2E(t *testing.T) {
	if os.Getenv("TIMDESK_BENCH_E2E") == "" {
		t.Skip("set TIMDESK_BENCH_E2E=1 (make bench-e2e) to run the end-to-end benchmark")
	}
	s := startLoadStack(t)
	tc := s.temporalClient(t)
	var rows []benchRow
	// phase runs one load with the stack watched (a crashed program stops it) and a time limit.
	phase := func(limit time.Duration, play func(ctx context.Context)) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		ctx, stop := s.watch(t, ctx)
		defer stop()
		play(ctx)
	}
	ctx := context.Background()
	run := benchRuns()

	// 1. The ceilings: bare SignalWithStart into workflows no worker runs, existing ones (a
	// customer's next message) and new ones (a new customer, as in the open loop).
	if run("bare") {
		rows = append(rows, benchBare(ctx, t, tc, "bench-bare", 200))
	}
	if run("bare-new") {
		rows = append(rows, benchBare(ctx, t, tc, "bench-new", 2000))
	}

	// 2. Closed loop: 50 customers × 10 FAQ questions, each waiting for its answer.
	questions := faqQuestions(t)
	customers := make([]string, 50)
	for i := range customers {
		customers[i] = fmt.Sprintf("closed%02d", i)
	}
	if run("closed") {
		row := s.measure(t, "closed loop", "50 customers × 10 FAQ questions", func(g *loadgen) {
			phase(10*time.Minute, func(ctx context.Context) { g.closedLoop(ctx, customers, questions, 10, time.Minute) })
		})
		row.eventsPerMsg = s.eventsPerMessage(t, tc, customers[:5], questions, 10)
		rows = append(rows, row)
		logEventTypes(t, tc, customers)
	}

	// 3. Open loop: 100 new customers a second for 20 s, one FAQ question each.
	if run("open") {
		rows = append(rows, s.measure(t, "open loop", "100 new customers/s for 20 s", func(g *loadgen) {
			phase(8*time.Minute, func(ctx context.Context) {
				g.openLoop(ctx, "open", 100, 20*time.Second, func(i int) (string, string) {
					return questions("open", i)
				})
				g.drain(3*time.Minute, 30*time.Second)
			})
		}))
	}
	if !run("llm") {
		printBench(t, rows)
		return
	}

	// 4. An LLM that takes 300 ms a call: 50 customers × 6 questions (English, Chinese, French).
	llm := newBenchLLM(t, 300*time.Millisecond)
	s.setEnv("OPENAI_BASE_URL="+llm.URL(), "OPENAI_API_KEY=bench-key", "TIMDESK_LLM_MODEL=bench-model")
	s.restart(t, "worker", nil)
	s.restart(t, "api", nil)
	s.waitAPI(t)
	llmCustomers := make([]string, 50)
	for i := range llmCustomers {
		llmCustomers[i] = fmt.Sprintf("llm%02d", i)
	}
	row := s.measure(t, "fake LLM (300 ms/call)", "50 customers × 6 questions", func(g *loadgen) {
		phase(10*time.Minute, func(ctx context.Context) { g.closedLoop(ctx, llmCustomers, llmQuestions, 6, time.Minute) })
	})
	if row.res.answered > 0 {
		row.llmPerMsg = float64(llm.calls.Load()) / float64(row.res.answered)
	}
	row.eventsPerMsg = s.eventsPerMessage(t, tc, llmCustomers[:5], llmQuestions, 6)
	rows = append(rows, row)
	logEventTypes(t, tc, llmCustomers)
	printBench(t, rows)
}

// printBench prints the table and fails on a duplicate or a missing answer in any load run.
func printBench(t *testing.T, rows []benchRow) {
	t.Helper()
	fmt.Print(benchTable(rows))
	for _, r := range rows {
		if r.signalsPerSecond == 0 && (r.res.duplicates > 0 || r.res.missing > 0) {
			t.Errorf("%s: %d duplicates, %d missing (unanswered: %v); every message must be answered exactly once",
				r.run, r.res.duplicates, r.res.missing, r.res.unanswered)
		}
	}
}

// benchBare measures the server's ceiling: 2,000 SignalWithStart calls into workflowsN workflows
// (no worker runs them) from 32 callers; with 2,000 workflows each call starts a new one.
func benchBare(ctx context.Context, t *testing.T, tc client.Client, prefix string, workflowsN int) benchRow {
	t.Helper()
	const signals, callers = 2000, 32
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= signals {
					return
				}
				id := fmt.Sprintf("%s-%04d", prefix, int(i)%workflowsN)
				_, err := tc.SignalWithStartWorkflow(ctx, id, "bench", i,
					client.StartWorkflowOptions{ID: id, TaskQueue: "bench-bare"}, "BenchBare")
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Errorf("bare SignalWithStart: %d of %d failed", n, signals)
	}
	load := fmt.Sprintf("2,000 signals into %d workflows, 32 callers", workflowsN)
	run := "bare SignalWithStart"
	if workflowsN >= signals {
		load, run = "2,000 new workflows, 32 callers", "bare SignalWithStart, new IDs"
	}
	return benchRow{run: run, load: load,
		signalsPerSecond: float64(signals) / elapsed.Seconds(), llmPerMsg: -1, eventsPerMsg: -1}
}

// measure runs one load against the stack and returns its row (peak RSS during the run).
func (s *loadStack) measure(t *testing.T, run, load string, play func(*loadgen)) benchRow {
	t.Helper()
	worker, api := s.proc(t, "worker"), s.proc(t, "api")
	resetPeakRSS(worker.cmd.Process.Pid)
	resetPeakRSS(api.cmd.Process.Pid)
	cpuBefore, start := s.cpuSnapshot(), time.Now()
	g := s.newLoad()
	play(g)
	g.drain(time.Minute, 20*time.Second)
	cpu, elapsed := s.cpuSnapshot().since(cpuBefore), time.Since(start)
	time.Sleep(2 * time.Second) // late duplicates
	r := g.result()
	fmt.Printf("%s: %d/%d answered in %s, %d duplicates, %d missing, %d refused sends (%d resent and answered twice)\n",
		run, r.answered, r.asked, r.elapsed.Round(time.Millisecond), r.duplicates, r.missing, r.refused, r.resendAnswers)
	if r.other > 0 {
		t.Logf("%s: %d messages that answer no question, e.g. %v", run, r.other, r.otherText)
	}
	return benchRow{run: run, load: load, res: r, llmPerMsg: -1, eventsPerMsg: -1,
		worker: readRSS(worker.cmd.Process.Pid), api: readRSS(api.cmd.Process.Pid),
		cpu: cpu.perAnswer(r.answered, elapsed, runtime.NumCPU())}
}

// eventsPerMessage is what one more answered question adds to a consultation's history: each of
// customers (who asked n questions) asks question n, and the history lengths are compared.
func (s *loadStack) eventsPerMessage(t *testing.T, tc client.Client, customers []string, questions func(string, int) (string, string), n int) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := s.newLoad()
	var total int64
	for _, c := range customers {
		before, err := historyLength(ctx, tc, c)
		if err != nil {
			t.Errorf("events per message: %v", err)
			return -1
		}
		text, answer := questions(c, n)
		q := g.ask(ctx, c, text, answer)
		if !g.waitAnswer(ctx, c, q, time.Minute) {
			t.Errorf("events per message: %s got no answer to %q", c, text)
			return -1
		}
		time.Sleep(500 * time.Millisecond) // the task that recorded the send
		after, err := historyLength(ctx, tc, c)
		if err != nil {
			t.Errorf("events per message: %v", err)
			return -1
		}
		total += after - before
	}
	return float64(total) / float64(len(customers))
}

// logEventTypes logs how often each event type occurs in the customers' histories and the slowest
// waits inside them (signal to workflow task started, task started to completed): a workflow task
// that timed out, a sticky queue missed or a slow task shows here as the cause of a slow tail.
func logEventTypes(t *testing.T, tc client.Client, customers []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	counts := map[string]int{}
	var toStart, toStartFirst, toComplete []time.Duration
	for _, c := range customers {
		it := tc.GetWorkflowHistory(ctx, workflows.ConsultationID(c), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var scheduled, started time.Time
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Logf("event types: %v", err)
				return
			}
			counts[strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")]++
			at := e.GetEventTime().AsTime()
			switch e.GetEventType() {
			case enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				scheduled = at
			case enums.EVENT_TYPE_WORKFLOW_TASK_STARTED:
				started = at
				if e.GetEventId() <= 4 { // the run's first task (started, signalled, scheduled, started)
					toStartFirst = append(toStartFirst, at.Sub(scheduled))
				} else {
					toStart = append(toStart, at.Sub(scheduled))
				}
			case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				toComplete = append(toComplete, at.Sub(started))
			}
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	t.Logf("event types in %d consultations:%s", len(customers), b.String())
	t.Logf("workflow task scheduled→started: first task p50 %s max %s, later tasks p50 %s p99 %s max %s; started→completed p50 %s p99 %s max %s",
		pct(toStartFirst, 50), pct(toStartFirst, 100), pct(toStart, 50), pct(toStart, 99), pct(toStart, 100),
		pct(toComplete, 50), pct(toComplete, 99), pct(toComplete, 100))
}

// pct is the p-th percentile of ds (100: the largest).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Millisecond)
}

// llmQuestions: English (script says en), Chinese (translated for the desk) and French (the
// script cannot tell; the model must).
var llmQuestionTexts = []string{
	"how long does shipping take", "多久发货", "combien de temps prend la livraison",
	"how do I get a refund", "怎么退款", "comment obtenir un remboursement",
}

func llmQuestions(c string, i int) (string, string) {
	q := llmQuestionTexts[i%len(llmQuestionTexts)]
	return q, benchLLMAnswer(q)
}

// benchLLMAnswer is the fake model's answer to a customer's text.
func benchLLMAnswer(text string) string { return "A: " + text }

// benchLLM is an OpenAI-compatible server that takes delay per call and counts calls. JSON
// requests get a structured reply answering the last user message (with the fields of every
// structured request timdesk makes); plain ones (translation, language) a short text.
type benchLLM struct {
	srv   *httptest.Server
	delay time.Duration
	calls atomic.Int64
}

func newBenchLLM(tb testing.TB, delay time.Duration) *benchLLM {
	l := &benchLLM{delay: delay}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	tb.Cleanup(l.srv.Close)
	return l
}

func (l *benchLLM) URL() string { return l.srv.URL + "/v1" }

func (l *benchLLM) serve(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	l.calls.Add(1)
	time.Sleep(l.delay)
	last := req.Messages[len(req.Messages)-1].Content
	system := req.Messages[0].Content
	lang := "en"
	switch {
	case strings.ContainsAny(last, "发货退款"):
		lang = "zh"
	case strings.Contains(last, "comment") || strings.Contains(last, "combien"):
		lang = "fr"
	}
	var content string
	switch {
	case req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object":
		b, _ := json.Marshal(map[string]any{
			"action": "answer", "answer": benchLLMAnswer(last), "confidence": 0.9,
			"reason": "faq", "summary": "customer asks: " + last,
			"language": lang, "translation": "[en] " + last,
		})
		content = string(b)
	case strings.Contains(system, "ISO 639-1"):
		content = lang
	default:
		content = "[en] " + last
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": req.Model,
		"choices": []map[string]any{{"index": 0, "message": map[string]string{"role": "assistant", "content": content}, "finish_reason": "stop"}},
		"usage":   map[string]int{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
	})
}

// benchTable renders the rows as a Markdown table with the machine it ran on.
func benchTable(rows []benchRow) string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "\nbench-e2e on %s: %d CPUs (GOMAXPROCS), %s/%s, %s; dev server SQLite WAL synchronous=normal\n\n",
		host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| run | load | answered | answers/s | ack p50 | ack p99 | answer p50 | answer p99 | duplicates | missing | refused sends | resent & answered twice | LLM calls/msg | history events/msg | worker RSS | API RSS | CPU ms per answer |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.signalsPerSecond > 0 {
			fmt.Fprintf(&b, "| %s | %s | | **%.0f signals/s** | | | | | | | | | | | | | |\n", r.run, r.load, r.signalsPerSecond)
			continue
		}
		llm, events := "–", "–"
		if r.llmPerMsg >= 0 {
			llm = fmt.Sprintf("%.2f", r.llmPerMsg)
		}
		if r.eventsPerMsg >= 0 {
			events = fmt.Sprintf("%.1f", r.eventsPerMsg)
		}
		fmt.Fprintf(&b, "| %s | %s | %d/%d | **%.1f** | %s | %s | %s | %s | %d | %d | %d | %d | %s | %s | %s | %s | %s |\n",
			r.run, r.load, r.res.answered, r.res.asked, r.res.rate(), ms(r.res.ackP50), ms(r.res.ackP99),
			ms(r.res.answerP50), ms(r.res.answerP99), r.res.duplicates, r.res.missing, r.res.refused, r.res.resendAnswers,
			llm, events, r.worker, r.api, r.cpu)
	}
	return b.String()
}
