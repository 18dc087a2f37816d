package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/internal/temporalmetrics"
	"github.com/timdesk/timdesk/tim"
)

// shutdownTimeout bounds the graceful drain of in-flight requests.
const shutdownTimeout = 10 * time.Second

// run loads the configuration through getenv, wires the dependencies and serves until ctx is done.
// Startup failures (bad config, port in use) are returned.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogFormat, stdout)
	for _, w := range cfg.configWarnings {
		logger.Warn("config warning", "warning", w)
	}
	logger.Info("starting timdesk api", "config", cfg)

	reg := prometheus.NewRegistry()
	if err := temporalmetrics.RegisterProcessCollectors(reg); err != nil {
		return err
	}
	metricsHandler, scopeCloser, err := temporalmetrics.NewHandler(reg, func(err error) {
		logger.Warn("temporal metrics registration", "error", err)
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := scopeCloser.Close(); err != nil {
			logger.Warn("close temporal metrics scope", "error", err)
		}
	}()

	// A lazy client: the API starts (and answers ErrorCode 1 / 503) while Temporal is down.
	// Address, namespace, API key and TLS come from envconfig (temporalenv.Load).
	topts := cfg.temporalClientOptions()
	topts.Logger = tlog.NewStructuredLogger(logger)
	topts.MetricsHandler = metricsHandler
	topts.ConnectionOptions.DialOptions = append(topts.ConnectionOptions.DialOptions,
		grpc.WithChainUnaryInterceptor(signalRequestIDInterceptor))
	tc, err := client.NewLazyClient(topts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer tc.Close() // closed last, after the HTTP server drained

	timCfg := tim.DefaultConfig(cfg.SDKAppID, cfg.SecretKey, cfg.Admin)
	timCfg.BaseURL = cfg.TIMBaseURL
	llm := activities.NewLLM(activities.LLMConfig{
		BaseURL:    cfg.OpenAIBaseURL,
		APIKey:     cfg.OpenAIAPIKey,
		Model:      cfg.LLMModel,
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	}, nil)

	var readRoster func() ([]byte, error)
	if cfg.RosterFile != "" {
		path := cfg.RosterFile
		readRoster = func() ([]byte, error) { return os.ReadFile(path) }
	}

	app, err := newApp(deps{
		Config:         cfg,
		Logger:         logger,
		Now:            time.Now,
		Registry:       reg,
		Temporal:       tc,
		Signer:         tim.NewSigner(cfg.SDKAppID, cfg.SecretKey),
		Accounts:       tim.NewClient(timCfg),
		Translator:     llm,
		ReadRosterFile: readRoster,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "llm", llm.Enabled())

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := app.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// newLogger builds the process logger: JSON in production, text locally.
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
