package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/workflows"
)

// Roster limits.
const (
	maxRosterBytes      = 256 << 10
	rosterUpdateTimeout = 10 * time.Second
)

// registerRosterRoutes mounts the roster admin API.
func (s *server) registerRosterRoutes(r adminRouter) {
	r.Get("/roster", s.handleGetRoster)
	r.Put("/roster", s.handlePutRoster)
	r.Delete("/roster", s.handleDeleteRoster)
}

// handleGetRoster serves GET /api/v1/roster: the roster YAML in force (the desk workflow's, else
// the roster file), with X-Roster-Version and X-Roster-Source headers.
func (s *server) handleGetRoster(c *fiber.Ctx) error {
	snap := s.desk.live(c.UserContext())
	if snap.Source == desk.SourceNone {
		return newError(codeNotFound, "no roster: none stored in the desk and no TIMDESK_ROSTER_FILE")
	}
	c.Set("X-Roster-Version", strconv.Itoa(snap.Version))
	c.Set("X-Roster-Source", snap.Source)
	if snap.Stale {
		c.Set("X-Roster-Stale", "true") // the desk did not answer now: its last answer
	}
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	return c.SendString(snap.RosterYAML)
}

// rosterUpdateResponse answers PUT /api/v1/roster.
type rosterUpdateResponse struct {
	Version int    `json:"version"`
	Agents  int    `json:"agents"`
	Source  string `json:"source"`
}

// handlePutRoster serves PUT /api/v1/roster: validates the YAML body (desk.ParseRoster) and
// stores it in the desk workflow through an update; the worker routes with it from then on.
func (s *server) handlePutRoster(c *fiber.Ctx) error {
	body := c.Body()
	if len(body) > maxRosterBytes {
		return newError(codeTooLarge, "roster larger than 256 KiB")
	}
	roster, err := desk.ParseRoster(body)
	if err != nil {
		// Validation messages describe the caller's own YAML; they are safe to return.
		return wrapError(codeInvalid, "invalid roster: "+truncate(err.Error(), 300), err)
	}
	res, err := s.updateDeskRoster(c.UserContext(), string(body))
	if err != nil {
		return err
	}
	return c.JSON(rosterUpdateResponse{Version: res.Version, Agents: len(roster.Agents), Source: desk.SourceDesk})
}

// handleDeleteRoster serves DELETE /api/v1/roster: drops the stored roster so the desk goes back
// to the worker's roster file (TIMDESK_ROSTER_FILE).
func (s *server) handleDeleteRoster(c *fiber.Ctx) error {
	res, err := s.updateDeskRoster(c.UserContext(), "")
	if err != nil {
		return err
	}
	return c.JSON(rosterUpdateResponse{Version: res.Version, Source: desk.SourceFile})
}

// updateDeskRoster stores yaml in the desk workflow (update "roster", starting the desk when
// needed) and drops the cached desk view.
func (s *server) updateDeskRoster(ctx context.Context, yaml string) (desk.RosterResult, error) {
	ctx, cancel := context.WithTimeout(ctx, rosterUpdateTimeout)
	defer cancel()
	op := s.d.Temporal.NewWithStartWorkflowOperation(s.deskStartOptionsForUpdate(), workflows.DeskWorkflow, workflows.DeskInput{})
	h, err := s.d.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			WorkflowID:   workflows.DeskWorkflowID,
			UpdateName:   workflows.UpdateRoster,
			Args:         []any{desk.RosterUpdate{YAML: yaml}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var res desk.RosterResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && ctx.Err() == nil {
			return res, wrapError(codeInvalid, "roster rejected by the desk: "+truncate(appErr.Message(), 300), err)
		}
		return res, temporalError(ctx, "desk workflow not found", fmt.Errorf("update roster: %w", err))
	}
	s.desk.invalidate()
	return res, nil
}

// deskStartOptionsForUpdate adds the conflict policy UpdateWithStart requires.
func (s *server) deskStartOptionsForUpdate() client.StartWorkflowOptions {
	o := s.deskStartOptions()
	o.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	return o
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
