package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// readyTimeout bounds the Temporal health check of /readyz.
const readyTimeout = 2 * time.Second

// registerHealthRoutes mounts GET /healthz, GET /readyz and GET /metrics (the Prometheus registry
// in the text exposition format).
func (s *server) registerHealthRoutes(app *fiber.App) {
	app.Get("/healthz", s.handleHealthz)
	app.Get("/readyz", s.handleReadyz)
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.d.Registry, promhttp.HandlerOpts{})))
}

// handleHealthz serves GET /healthz: the process is up.
func (s *server) handleHealthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// handleReadyz serves GET /readyz: 200 when Temporal answers its health check and the
// configuration is complete, else 503 with the failing checks.
func (s *server) handleReadyz(c *fiber.Ctx) error {
	checks := fiber.Map{}
	ready := true

	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	if _, err := s.d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		s.log.Warn("readiness: temporal health check failed", "requestID", requestID(c), "error", err)
		checks["temporal"] = "unreachable"
		ready = false
	} else {
		checks["temporal"] = "ok"
	}

	if s.cfg.SDKAppID == 0 || s.cfg.AdminAPIKey == "" || s.cfg.JWTSecret == "" {
		checks["config"] = "incomplete"
		ready = false
	} else {
		checks["config"] = "ok"
	}

	status := "ready"
	code := fiber.StatusOK
	if !ready {
		status, code = "not_ready", fiber.StatusServiceUnavailable
	}
	return c.Status(code).JSON(fiber.Map{"status": status, "checks": checks})
}
