package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/workflows"
)

// The stack's Tencent app, as its programs are configured (see startStack).
const (
	e2eSDKAppID      = 1400000000
	e2eCallbackToken = "e2e-callback-token"
	e2eService       = "support"
)

// loadStack is a file-backed stack (the `make run` dev server flags) whose Tencent REST API is a
// fakeTencent, driven by a loadgen.
type loadStack struct {
	*stack
	tencent *fakeTencent
}

// startLoadStack starts the dev server, the worker and the API with the demo roster and FAQ and no
// LLM; withLLM restarts the programs against an LLM later.
func startLoadStack(t *testing.T) *loadStack {
	t.Helper()
	ft := newFakeTencent(t)
	s := startStack(t, stackOptions{fileBacked: true, offline: true, tencent: ft, acceptTimeout: 10 * time.Minute})
	return &loadStack{stack: s, tencent: ft}
}

// watch cancels the returned context when a program of the stack exits without the test ending
// it (a crash under load), printing its last output, so the load stops instead of resending into
// a dead API until the test times out.
func (s *loadStack) watch(t *testing.T, parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			procs := slices.Clone(s.procs)
			if s.temporal != nil {
				procs = append(procs, s.temporal)
			}
			for _, p := range procs {
				if p.Exited() && !p.ended.Load() {
					t.Errorf("%s exited during the load (%v):\n%s", p.name, p.err, tail(p.Output(), 60))
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// newLoad returns a load generator posting to the stack's API, its answers counted from the fake
// Tencent.
func (s *loadStack) newLoad() *loadgen {
	g := newLoadgen(s.apiURL+"/tim/callback", e2eSDKAppID, e2eCallbackToken, e2eService)
	s.tencent.setOnDeliver(g.deliver)
	return g
}

// proc is the running program called name.
func (s *stack) proc(t *testing.T, name string) *process {
	t.Helper()
	for _, p := range s.procs {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("no process %s", name)
	return nil
}

// killProgram ends the named program at once (SIGKILL), as a crash or an OOM kill would.
func (s *stack) killProgram(t *testing.T, name string) {
	t.Helper()
	p := s.proc(t, name)
	p.ended.Store(true)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startProgram starts the named program again, with the same binary and environment, after it
// ended.
func (s *stack) startProgram(t *testing.T, name string) {
	t.Helper()
	for i, p := range s.procs {
		if p.name != name {
			continue
		}
		if !p.Exited() {
			t.Fatalf("%s is still running", name)
		}
		np, err := startProcess(name, s.bins[name], s.envOf(name))
		if err != nil {
			t.Fatal(err)
		}
		s.procs[i] = np
		t.Cleanup(np.Stop)
		return
	}
	t.Fatalf("no process %s", name)
}

// startPrograms starts the named programs (their binary in s.bins, environment envOf), stopped
// when the test ends; when the test fails, the end of Temporal's and each program's output is logged.
func (s *stack) startPrograms(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		p, err := startProcess(name, s.bins[name], s.envOf(name))
		if err != nil {
			t.Fatal(err)
		}
		s.procs = append(s.procs, p)
		t.Cleanup(p.Stop)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if s.temporal != nil {
			t.Logf("---- temporal output ----\n%s", tail(s.temporal.Output(), 40))
		}
		for _, p := range s.procs {
			t.Logf("---- %s output ----\n%s", p.name, tail(p.Output(), 80))
		}
	})
}

// envOf is the environment of program name: the stack's, plus its own (s.procEnv).
func (s *stack) envOf(name string) []string {
	return append(s.env[:len(s.env):len(s.env)], s.procEnv[name]...)
}

// setEnv replaces (or adds) environment variables for the programs started from now on.
func (s *stack) setEnv(kv ...string) {
	for _, e := range kv {
		key := e[:strings.IndexByte(e, '=')+1]
		replaced := false
		for i, old := range s.env {
			if strings.HasPrefix(old, key) {
				s.env[i], replaced = e, true
			}
		}
		if !replaced {
			s.env = append(s.env, e)
		}
	}
}

// waitAPI waits until the API answers its health check.
func (s *stack) waitAPI(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitHTTP(ctx, s.apiURL+"/healthz", s.procs...); err != nil {
		t.Fatal(err)
	}
}

// temporalClient dials the stack's dev server.
func (s *stack) temporalClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.temporalAddr, Namespace: s.namespace})
	if err != nil {
		t.Fatalf("dial Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// historyLength is the number of events in the customer's current consultation run.
func historyLength(ctx context.Context, c client.Client, customer string) (int64, error) {
	d, err := c.DescribeWorkflow(ctx, workflows.ConsultationID(customer), "")
	if err != nil {
		return 0, fmt.Errorf("describe %s: %w", customer, err)
	}
	return d.RawResponse.GetWorkflowExecutionInfo().GetHistoryLength(), nil
}

// rss is a process's resident memory: now and its peak since resetPeakRSS (or its start).
type rss struct{ now, peak int64 }

func (r rss) String() string { return fmt.Sprintf("%d MiB", (r.peak+512)/1024) }

// readRSS reads VmRSS and VmHWM (KiB) of pid from /proc; zero where /proc is missing.
func readRSS(pid int) rss {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return rss{}
	}
	var r rss
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			r.now = v
		case "VmHWM:":
			r.peak = v
		}
	}
	return r
}

// resetPeakRSS starts a new peak RSS measurement for pid (Linux clear_refs 5); best effort.
func resetPeakRSS(pid int) {
	_ = os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0)
}

// demoQuestions are questions of the demo FAQ (deploy/demo/faq.yaml), one per entry: the offline
// answerer answers each with its own entry, so a reply tells which question it answers.
var demoQuestions = []string{
	"how long does shipping take", "多久发货", "how do I get a refund", "怎么退款",
	"when are you open", "营业时间", "forgot my password", "忘记密码",
	"how can I pay", "支付方式", "where is my order", "我的订单在哪",
}

// demoFAQ is deploy/demo/faq.yaml.
func demoFAQ(t *testing.T) []activities.FAQEntry {
	t.Helper()
	faq, err := activities.LoadFAQ(filepath.Join(repoRoot(t), "deploy", "demo", "faq.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return faq
}

// faqQuestions returns question i of customer c (rotating through demoQuestions so customers differ)
// and the demo FAQ's answer to it.
func faqQuestions(t *testing.T) func(c string, i int) (string, string) {
	faq := demoFAQ(t)
	answers := map[string]string{}
	seen := map[string]string{}
	for _, q := range demoQuestions {
		e, score := activities.MatchFAQ(faq, q)
		if score < activities.DefaultFAQThreshold {
			t.Fatalf("demo question %q matches no FAQ entry (score %.2f)", q, score)
		}
		if other, ok := seen[e.A]; ok {
			t.Fatalf("demo questions %q and %q have the same answer", q, other)
		}
		answers[q], seen[e.A] = e.A, q
	}
	return func(c string, i int) (string, string) {
		var h uint32
		for _, r := range c {
			h = h*31 + uint32(r)
		}
		q := demoQuestions[(int(h%uint32(len(demoQuestions)))+i)%len(demoQuestions)]
		return q, answers[q]
	}
}

// TestDemoQuestions: every load-test question gets its own demo FAQ answer offline.
func TestDemoQuestions(t *testing.T) {
	q := faqQuestions(t)
	seen := map[string]bool{}
	for i := range demoQuestions {
		text, answer := q("customer", i)
		if answer == "" || seen[text] {
			t.Errorf("question %d %q: answer %q (repeated: %v)", i, text, answer, seen[text])
		}
		seen[text] = true
	}
}
