// Command proxy is the load balancer of the local cluster (`make cluster`, the cluster e2e suite):
// Tencent IM posts every callback to one address, and this round-robins them over the API replicas,
// as the load balancer or Kubernetes Service in front of the replicas does in production.
//
// A request goes to the next replica in turn; when that replica refuses the connection (it is down),
// the same request goes to the next one, so a dead replica costs no callback. An error after the
// request was sent is answered 502 (the replica may have acted on it; Tencent's after-send callback
// is the backup). Configuration:
//
//	PROXY_LISTEN    listen address (default 127.0.0.1:8080)
//	PROXY_BACKENDS  comma-separated base URLs of the replicas (required), e.g.
//	                http://127.0.0.1:8081,http://127.0.0.1:8082
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBody bounds a proxied request body (a Tencent callback is at most a few tens of KB).
const maxBody = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Getenv, log); err != nil {
		log.Error("proxy stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	listen := getenv("PROXY_LISTEN")
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	backends, err := parseBackends(getenv("PROXY_BACKENDS"))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              listen,
		Handler:           newBalancer(backends, http.DefaultTransport, log),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("proxy listening", "addr", listen, "backends", len(backends))
	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", listen, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// parseBackends reads PROXY_BACKENDS.
func parseBackends(s string) ([]*url.URL, error) {
	var out []*url.URL
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("PROXY_BACKENDS: %q is not an http(s) base URL", part)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("PROXY_BACKENDS must list at least one backend URL")
	}
	return out, nil
}

// balancer round-robins requests over backends, skipping ones that refuse the connection.
type balancer struct {
	backends  []*url.URL
	transport http.RoundTripper
	log       *slog.Logger
	next      atomic.Uint64
}

func newBalancer(backends []*url.URL, transport http.RoundTripper, log *slog.Logger) *balancer {
	return &balancer{backends: backends, transport: transport, log: log}
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "read request body", http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	start := b.next.Add(1) - 1
	for i := range b.backends {
		target := b.backends[(start+uint64(i))%uint64(len(b.backends))]
		err := b.serveFrom(w, r, target, body)
		if err == nil {
			return
		}
		if refused(err) {
			b.log.Warn("backend down, trying the next", "backend", target.Host)
			continue
		}
		b.log.Warn("backend failed", "backend", target.Host, "error", err)
		http.Error(w, "backend failed", http.StatusBadGateway)
		return
	}
	http.Error(w, "no backend reachable", http.StatusBadGateway)
}

// serveFrom answers r with target's answer; an error means nothing was written to w.
func (b *balancer) serveFrom(w http.ResponseWriter, r *http.Request, target *url.URL, body []byte) error {
	resp, err := b.forward(r, target, body)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	return nil
}

// forward sends r (with body) to target, keeping path and query.
func (b *balancer) forward(r *http.Request, target *url.URL, body []byte) (*http.Response, error) {
	u := *target
	u.Path = strings.TrimSuffix(target.Path, "/") + r.URL.Path
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		if k == "Connection" || k == "Keep-Alive" || k == "Transfer-Encoding" || k == "Upgrade" {
			continue
		}
		out.Header[k] = vs
	}
	out.Header.Set("X-Forwarded-For", clientIP(r))
	return b.transport.RoundTrip(out)
}

// refused reports an error from dialling: the request never reached the backend, so another one
// may take it.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
