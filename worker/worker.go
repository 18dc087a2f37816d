package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/internal/temporalmetrics"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// Startup retry budgets: the dev stack starts Temporal, the emulator and the worker together.
const (
	dialBudget   = 60 * time.Second
	importBudget = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// run is the whole program: it returns when ctx is cancelled (graceful stop) or startup fails.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stdout)
	logger.Info("starting worker", "config", cfg.String())

	rosterData, err := os.ReadFile(cfg.RosterFile)
	if err != nil {
		return fmt.Errorf("read roster: %w", err)
	}
	roster, err := desk.ParseRoster(rosterData)
	if err != nil {
		return fmt.Errorf("roster %s: %w", cfg.RosterFile, err)
	}
	faq, err := activities.LoadFAQ(cfg.FAQFile)
	if err != nil {
		return err
	}

	timCfg := tim.DefaultConfig(cfg.SDKAppID, cfg.secretKey, cfg.Admin)
	timCfg.BaseURL = cfg.TIMBaseURL
	imActs := &activities.IM{Client: tim.NewClient(timCfg), ServiceAccount: cfg.ServiceAccount, Limiter: activities.NewSendLimiter(cfg.SendRate)}
	llm := activities.NewLLM(activities.LLMConfig{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.openAIAPIKey, Model: cfg.LLMModel}, faq)
	llm.FAQThreshold = cfg.FAQThreshold

	reg := prometheus.NewRegistry()
	if err := temporalmetrics.RegisterProcessCollectors(reg); err != nil {
		return err
	}
	metricsHandler, metricsCloser, err := temporalmetrics.NewHandler(reg, func(err error) {
		logger.Warn("temporal metrics registration", "error", err)
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := metricsCloser.Close(); err != nil {
			logger.Warn("close metrics", "error", err)
		}
	}()
	if cfg.MetricsListen != MetricsOff {
		ms, err := startMetrics(cfg.MetricsListen, reg, logger)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			defer cancel()
			if err := ms.stop(sctx); err != nil {
				logger.Warn("stop metrics server", "error", err)
			}
		}()
	}

	c, err := dial(ctx, cfg, logger, metricsHandler)
	if err != nil {
		return err
	}
	defer c.Close()

	router := &activities.Router{
		Temporal:       c,
		Waker:          c,
		Roster:         roster,
		DeskWorkflowID: workflows.DeskWorkflowID,
		DeskQuery:      workflows.QueryDesk,
		RoutingQuery:   workflows.QueryRouting,
		Defaults:       cfg.Policy(),
	}
	llm.UserLanguage = router.UserLanguage // the desk's record of each user's language

	ensureSearchAttributes(ctx, c, cfg.TemporalNamespace, logger)
	importAccounts(ctx, imActs, append([]string{cfg.ServiceAccount}, roster.AccountIDs()...), logger)

	w := worker.New(c, cfg.TaskQueue, worker.Options{
		WorkerStopTimeout:                stopTimeout,
		WorkflowTaskPollerBehavior:       workflowPollers(cfg.WorkflowPollers),
		MaxConcurrentActivityTaskPollers: cfg.ActivityPollers,
	})
	w.RegisterWorkflow(workflows.ConsultationWorkflow)
	w.RegisterWorkflow(workflows.DeskWorkflow)
	opts := activity.RegisterOptions{SkipInvalidStructFunctions: true}
	w.RegisterActivityWithOptions(llm, opts)
	w.RegisterActivityWithOptions(imActs, opts)
	w.RegisterActivityWithOptions(router, opts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.DeskWorkflowID,
		TaskQueue:                cfg.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.DeskWorkflow, workflows.DeskInput{}); err != nil {
		return fmt.Errorf("start desk workflow: %w", err)
	}
	if cfg.Listen != "" {
		wait, err := serveHealth(ctx, cfg.Listen, c, logger)
		if err != nil {
			return err
		}
		defer wait()
	}
	logger.Info("worker running", "taskQueue", cfg.TaskQueue, "llm", llm.Enabled(), "agents", len(roster.AccountIDs()))
	<-ctx.Done()
	logger.Info("stopping worker")
	return nil
}

func newLogger(cfg Config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

// dial connects to Temporal, retrying for dialBudget while the server comes up.
func dial(ctx context.Context, cfg Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	deadline := time.Now().Add(dialBudget)
	for {
		opts := cfg.TemporalClientOptions()
		opts.Logger = tlog.NewStructuredLogger(logger)
		opts.MetricsHandler = metrics
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("dial temporal %s: %w", cfg.TemporalAddress, err)
		}
		logger.Warn("temporal not reachable yet; retrying", "address", cfg.TemporalAddress, "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial temporal: %w", ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// importAccounts imports the service account and the roster into Tencent IM; failures are
// logged (the Send activity imports missing accounts on demand).
func importAccounts(ctx context.Context, im *activities.IM, ids []string, logger *slog.Logger) {
	deadline := time.Now().Add(importBudget)
	for {
		res, err := im.Import(ctx, activities.ImportInput{UserIDs: ids})
		if err == nil {
			logger.Info("accounts imported", "imported", res.Imported, "failed", res.Failed)
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logger.Warn("account import failed; continuing", "error", err)
			return
		}
		logger.Warn("account import failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// ensureSearchAttributes registers the custom search attributes when missing (best effort: the
// dev stack and cluster setup register them; this helps a bare dev server).
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, logger *slog.Logger) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		logger.Warn("cannot list search attributes", "error", err)
		return
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, sa := range desk.SearchAttributes() {
		if _, ok := resp.GetCustomAttributes()[sa.Name]; ok {
			continue
		}
		typ, err := enumspb.IndexedValueTypeFromString(sa.Type)
		if err != nil {
			logger.Warn("unknown search attribute type", "name", sa.Name, "type", sa.Type, "error", err)
			continue
		}
		missing[sa.Name] = typ
	}
	if len(missing) == 0 {
		return
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		logger.Warn("cannot register search attributes; register them with the dev stack", "error", err, "missing", len(missing))
		return
	}
	logger.Info("registered search attributes", "count", len(missing))
}

// workflowPollers polls the normal task queue and the worker's sticky queue with separate pollers,
// n of each at most (the server may scale them down to 2). The SDK's other behavior, one
// pool for both queues, always polls the sticky queue while it has a backlog: under steady load a
// new consultation's first workflow task (always on the normal queue) then waited seconds.
func workflowPollers(n int) worker.PollerBehavior {
	return worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
		InitialNumberOfPollers: n,
		MinimumNumberOfPollers: 2,
		MaximumNumberOfPollers: n,
	})
}
