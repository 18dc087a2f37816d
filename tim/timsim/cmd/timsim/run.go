package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/timdesk/timdesk/tim/timsim"
)

// shutdownTimeout bounds the graceful stop.
const shutdownTimeout = 5 * time.Second

// run starts the emulator and serves until ctx ends (SIGINT/SIGTERM in main). Startup errors
// (bad configuration, port in use) are returned.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, stdout)
	sim := timsim.New(timsim.Options{
		SDKAppID:        cfg.SDKAppID,
		SecretKey:       cfg.SecretKey,
		Admin:           cfg.Admin,
		CallbackURL:     cfg.CallbackURL,
		CallbackToken:   cfg.CallbackToken,
		FailClosed:      cfg.FailClosed,
		CallbackTimeout: cfg.CallbackTimeout,
		Logger:          log,
		Accounts:        cfg.Accounts,
		Windows:         cfg.Windows,
		ServiceAccount:  cfg.ServiceAccount,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	callbacks := cfg.CallbackURL
	if callbacks == "" {
		callbacks = "off"
	}
	_, _ = fmt.Fprintf(stdout, "timsim: Tencent IM emulator on %s/ (chat page); REST base URL %s; callbacks to %s\n", base, base, callbacks)
	log.Info("timsim started", "url", base, "sdkappid", cfg.SDKAppID, "admin", cfg.Admin,
		"callback_url", callbacks, "signed_callbacks", cfg.CallbackToken != "", "fail_closed", cfg.FailClosed)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("timsim stopping")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	_ = sim.Close() // ends long-polls and event streams so Shutdown can finish
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("timsim stopped")
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}
