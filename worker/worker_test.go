package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/timdesk/timdesk/internal/temporalenv"
	"github.com/timdesk/timdesk/workflows"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	_, err := LoadConfig(envFunc(map[string]string{
		"TIMDESK_LOG_FORMAT":            "xml",
		"TIMDESK_AI_IDLE_TIMEOUT":       "soon",
		"TIMDESK_MIN_CONFIDENCE":        "2",
		"TIMDESK_WORKER_METRICS_LISTEN": "9464",
		"TIMDESK_SEND_RATE":             "fast",
		"TIMDESK_WORKFLOW_POLLERS":      "1",
		"TIMDESK_ACTIVITY_POLLERS":      "many",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"TIMDESK_SDKAPPID", "TIMDESK_SECRET_KEY", "TIMDESK_ROSTER_FILE is required", "TIMDESK_LOG_FORMAT", "TIMDESK_AI_IDLE_TIMEOUT", "TIMDESK_MIN_CONFIDENCE", "TIMDESK_WORKER_METRICS_LISTEN", "TIMDESK_SEND_RATE", "TIMDESK_WORKFLOW_POLLERS", "TIMDESK_ACTIVITY_POLLERS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestLoadConfigDefaultsAndOverrides(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", map[string]string{"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "s3cr3t"}, func(t *testing.T, c Config) {
			if c.Admin != "administrator" || c.ServiceAccount != "support" || c.TaskQueue != workflows.TaskQueueDefault ||
				c.TemporalAddress != "localhost:7233" || c.TemporalNamespace != "default" || c.DeskLanguage != "en" ||
				c.TIMBaseURL != "https://console.tim.qq.com" || c.LLMConfigured() || c.MetricsListen != ":9464" {
				t.Errorf("defaults: %+v", c)
			}
			if p := c.Policy(); p.TranslationEnabled || len(p.HumanKeywords) == 0 || p.AIIdleTimeout != 30*time.Minute {
				t.Errorf("policy: %+v", p)
			}
			if c.SendRate != 200 {
				t.Errorf("send rate %v, want Tencent's default quota 200", c.SendRate)
			}
			if c.WorkflowPollers != 8 || c.ActivityPollers != 4 {
				t.Errorf("pollers %d/%d, want 8/4", c.WorkflowPollers, c.ActivityPollers)
			}
		}},
		{"pollers", map[string]string{"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "s3cr3t", "TIMDESK_WORKFLOW_POLLERS": "16", "TIMDESK_ACTIVITY_POLLERS": "2"}, func(t *testing.T, c Config) {
			if c.WorkflowPollers != 16 || c.ActivityPollers != 2 {
				t.Errorf("pollers %d/%d, want 16/2", c.WorkflowPollers, c.ActivityPollers)
			}
		}},
		{"send rate for three replicas", map[string]string{"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "s3cr3t", "TIMDESK_SEND_RATE": "66.5"}, func(t *testing.T, c Config) {
			if c.SendRate != 66.5 {
				t.Errorf("send rate %v, want 66.5", c.SendRate)
			}
		}},
		{"overrides", map[string]string{
			"TIMDESK_SDKAPPID": "1400000001", "TIMDESK_SECRET_KEY": "s3cr3t", "OPENAI_API_KEY": "sk-abc",
			"TIMDESK_HUMAN_KEYWORDS": "operator, 客服 ,", "TIMDESK_DESK_LANGUAGE": "zh-CN", "TIMDESK_HUMAN_IDLE_TIMEOUT": "5m",
			"TIMDESK_RATING_PROMPT": "false", "TIMDESK_LOG_FORMAT": "text", "TIMDESK_WORKER_METRICS_LISTEN": "off",
		}, func(t *testing.T, c Config) {
			if c.MetricsListen != MetricsOff {
				t.Errorf("metrics listen %q, want off", c.MetricsListen)
			}
			p := c.Policy()
			if !c.LLMConfigured() || !p.TranslationEnabled || p.DeskLanguage != "zh" || p.HumanIdleTimeout != 5*time.Minute || p.RatingPrompt {
				t.Errorf("policy: %+v", p)
			}
			if strings.Join(p.HumanKeywords, "|") != "operator|客服" {
				t.Errorf("keywords %q", p.HumanKeywords)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := c.env["TIMDESK_ROSTER_FILE"]; !ok {
				c.env["TIMDESK_ROSTER_FILE"] = "roster.yaml"
			}
			cfg, err := LoadConfig(envFunc(c.env))
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
			if s := cfg.String(); strings.Contains(s, "s3cr3t") || strings.Contains(s, "sk-abc") {
				t.Errorf("String() leaks a secret: %s", s)
			}
		})
	}
}

func TestRunFailsFastOnBadConfig(t *testing.T) {
	err := run(context.Background(), envFunc(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TIMDESK_SECRET_KEY") {
		t.Fatalf("run = %v", err)
	}
	err = run(context.Background(), envFunc(map[string]string{
		"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "x", "TIMDESK_ROSTER_FILE": filepath.Join(t.TempDir(), "missing.yaml"),
	}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "roster") {
		t.Fatalf("run with a missing roster = %v", err)
	}
	err = run(context.Background(), envFunc(map[string]string{
		"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "replace-with-the-key-from-the-IM-console",
	}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TIMDESK_SECRET_KEY still holds the placeholder") || strings.Contains(err.Error(), "IM-console") {
		t.Fatalf("run with timdesk.env.example's placeholder key = %v", err)
	}
}

// TestRunAgainstDevServer starts the worker against a real dev server and a Tencent REST fake:
// accounts are imported, the desk workflow runs, and cancelling the context stops it cleanly.
func TestRunAgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal CLI")
	}
	cli := os.Getenv("TIMDESK_TEMPORAL_CLI")
	if cli == "" {
		cli, _ = filepath.Abs("../bin/temporal")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Skipf("no Temporal CLI at %s", cli)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: cli, LogLevel: "error", SearchAttributes: workflows.SearchAttributes(),
		ExtraArgs: temporalenv.DevServerArgs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()

	var mu sync.Mutex
	var imported []string
	tim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/multiaccount_import") {
			var body struct{ Accounts []string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			imported = append(imported, body.Accounts...)
			mu.Unlock()
		}
		_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`))
	}))
	defer tim.Close()

	env := map[string]string{
		"TIMDESK_SDKAPPID": "1400000000", "TIMDESK_SECRET_KEY": "secret", "TIMDESK_TIM_BASE_URL": tim.URL,
		"TEMPORAL_ADDRESS": srv.FrontendHostPort(), "TIMDESK_TASK_QUEUE": "worker-test",
		"TIMDESK_ROSTER_FILE": "../deploy/demo/roster.yaml", "TIMDESK_FAQ_FILE": "../deploy/demo/faq.yaml",
		"TIMDESK_WORKER_METRICS_LISTEN": "127.0.0.1:0",
	}
	runCtx, stop := context.WithCancel(ctx)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(runCtx, envFunc(env), &syncWriter{w: &out, mu: &mu}) }()

	c := srv.Client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.QueryWorkflow(ctx, workflows.DeskWorkflowID, "", workflows.QueryDesk); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("desk workflow not answering")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The worker's own /metrics: the Temporal SDK's worker series (the desk workflow ran).
	mu.Lock()
	m := regexp.MustCompile(`"msg":"metrics listening","addr":"([^"]+)"`).FindStringSubmatch(out.String())
	mu.Unlock()
	if m == nil {
		t.Fatalf("no metrics listening line:\n%s", out.String())
	}
	var page string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		page = string(body)
		if strings.Contains(page, "temporal_worker_task_slots_available") && strings.Contains(page, "temporal_workflow_task_execution_latency_seconds_bucket") {
			break
		}
	}
	for _, want := range []string{"temporal_worker_task_slots_available", "temporal_workflow_task_execution_latency_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(page, want) {
			t.Errorf("worker /metrics lacks %s:\n%s", want, page)
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(imported, ",") != "support,agent_emma,agent_li,agent_sam,agent_night,agent_zhang" {
		t.Errorf("imported %v", imported)
	}
	if strings.Contains(out.String(), `"secret"`) || !strings.Contains(out.String(), "worker running") {
		t.Errorf("log output: %s", out.String())
	}
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
