package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsServer serves GET /metrics of one registry: the Temporal SDK's worker metrics (task
// slots, schedule-to-start latency, activity failures...) and timdesk's own series, which
// workflows and activities emit through the same Temporal metrics handler.
type metricsServer struct {
	ln  net.Listener
	srv *http.Server
	err chan error
}

// startMetrics listens on addr (a startup error, such as a port in use, is returned) and serves
// in the background until stop.
func startMetrics(addr string, reg *prometheus.Registry, logger *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}))
	m := &metricsServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, err: make(chan error, 1)}
	go func() { m.err <- m.srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return m, nil
}

// stop shuts the server down within ctx and returns a serve error other than the normal close.
func (m *metricsServer) stop(ctx context.Context) error {
	if err := m.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("metrics shutdown: %w", err)
	}
	if err := <-m.err; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics serve: %w", err)
	}
	return nil
}
