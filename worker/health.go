package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
)

// readyTimeout bounds the Temporal health check of GET /readyz.
const readyTimeout = 2 * time.Second

// healthChecker is the part of the Temporal client the probes use.
type healthChecker interface {
	CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// healthHandler answers the orchestrator's probes: GET /healthz 200 while the process runs,
// GET /readyz 200 when Temporal answers its health check (the worker can poll), else 503.
func healthHandler(tc healthChecker, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			log.Warn("readiness: temporal health check failed", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": map[string]string{"temporal": "unreachable"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": map[string]string{"temporal": "ok"}})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// serveHealth serves healthHandler on addr until ctx ends; the returned function waits for the
// server to stop. A listen error is returned at once (a port in use is a startup failure).
func serveHealth(ctx context.Context, addr string, tc healthChecker, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: healthHandler(tc, log), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health server stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("health probes listening", "addr", ln.Addr().String())
	return func() { <-done }, nil
}
