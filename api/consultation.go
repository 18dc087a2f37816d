package main

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/timdesk/timdesk/workflows"
)

// registerConsultationRoutes mounts the consultation admin API.
func (s *server) registerConsultationRoutes(r adminRouter) {
	r.Get("/consultations/:customer", s.handleConsultationState)
	r.Post("/consultations/:customer/close", s.handleCloseConsultation)
}

// handleConsultationState serves GET /api/v1/consultations/:customer: the live state of the
// customer's consultation (workflow query "state").
func (s *server) handleConsultationState(c *fiber.Ctx) error {
	customer, err := userIDParam(c, "customer")
	if err != nil {
		return err
	}
	id := workflows.ConsultationID(customer)
	v, err := s.d.Temporal.QueryWorkflow(c.UserContext(), id, "", workflows.QueryState)
	if err != nil {
		return temporalError(c.UserContext(), "no consultation for this customer", fmt.Errorf("query %s: %w", id, err))
	}
	var state workflows.ConsultationState
	if v == nil || !v.HasValue() {
		return newError(codeNotFound, "no consultation for this customer")
	}
	if err := v.Get(&state); err != nil {
		return fmt.Errorf("decode consultation state: %w", err)
	}
	return c.JSON(fiber.Map{"workflowID": id, "customer": customer, "state": state})
}

// closeRequest is the optional body of POST /api/v1/consultations/:customer/close.
type closeRequest struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
}

// handleCloseConsultation serves POST /api/v1/consultations/:customer/close: signals the open
// consultation to close (202; 404 when none is open).
func (s *server) handleCloseConsultation(c *fiber.Ctx) error {
	customer, err := userIDParam(c, "customer")
	if err != nil {
		return err
	}
	var req closeRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	if len(req.Reason) > 200 || len(req.By) > 64 {
		return newError(codeInvalid, "reason (≤ 200 bytes) or by (≤ 64 bytes) too long")
	}
	if strings.TrimSpace(req.Reason) == "" {
		req.Reason = "closed by admin"
	}
	if strings.TrimSpace(req.By) == "" {
		req.By = "admin"
	}
	id := workflows.ConsultationID(customer)
	err = s.d.Temporal.SignalWorkflow(c.UserContext(), id, "", workflows.SignalClose,
		workflows.CloseRequest{Reason: req.Reason, By: req.By})
	if err != nil {
		return temporalError(c.UserContext(), "no open consultation for this customer", fmt.Errorf("signal close %s: %w", id, err))
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"workflowID": id, "customer": customer, "closing": true})
}
