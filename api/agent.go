package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/timdesk/timdesk/desk"
)

// registerAgentRoutes mounts the agent admin API.
func (s *server) registerAgentRoutes(r adminRouter) {
	r.Get("/agents", s.handleListAgents)
}

// agentView is one agent in GET /api/v1/agents.
type agentView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name,omitempty"`
	Language   string     `json:"language,omitempty"`
	Capacity   int        `json:"capacity"`
	Supervisor bool       `json:"supervisor"`
	OnDuty     bool       `json:"onDuty"`
	Online     *bool      `json:"online"`     // null when presence is unknown
	PresenceAt *time.Time `json:"presenceAt"` // last presence change
	Load       *int64     `json:"load"`       // running consultations this agent holds (status human); null when unknown
}

// agentsResponse answers GET /api/v1/agents.
type agentsResponse struct {
	Agents        []agentView `json:"agents"`
	RosterVersion int         `json:"rosterVersion"`
	RosterSource  string      `json:"rosterSource"`
	PresenceKnown bool        `json:"presenceKnown"`
	// DeskStale: the desk workflow did not answer now (worker down or slow); roster and presence
	// are its last answer to this API replica.
	DeskStale bool `json:"deskStale"`
}

// handleListAgents serves GET /api/v1/agents: every roster agent with on-duty status, presence
// (desk workflow) and current load (desk.AgentLoadQuery: running consultations it holds).
func (s *server) handleListAgents(c *fiber.Ctx) error {
	ctx := c.UserContext()
	snap := s.desk.live(ctx)
	if snap.Roster == nil {
		return newError(codeNotFound, "no roster: none stored in the desk and no TIMDESK_ROSTER_FILE")
	}
	now := s.now()
	onDuty := map[string]bool{}
	for _, a := range snap.Roster.OnDuty(now) {
		onDuty[a.ID] = true
	}
	var views []agentView
	seen := map[string]bool{}
	for _, a := range snap.Roster.Agents {
		seen[a.ID] = true
		views = append(views, agentView{ID: a.ID, Name: a.Name, Language: a.Language, Capacity: a.Capacity, OnDuty: onDuty[a.ID]})
	}
	for _, id := range snap.Roster.Supervisors {
		if seen[id] {
			for i := range views {
				if views[i].ID == id {
					views[i].Supervisor = true
				}
			}
			continue
		}
		seen[id] = true
		a, _ := snap.Roster.Agent(id)
		views = append(views, agentView{ID: id, Name: a.Name, Language: a.Language, Capacity: a.Capacity, Supervisor: true, OnDuty: onDuty[id]})
	}
	for i := range views {
		if p, ok := snap.Presence[views[i].ID]; ok {
			online, at := p.Online, p.At
			views[i].Online = &online
			if !at.IsZero() {
				views[i].PresenceAt = &at
			}
		} else if snap.Presence != nil {
			offline := false
			views[i].Online = &offline
		}
	}
	s.fillLoads(ctx, views)
	return c.JSON(agentsResponse{Agents: views, RosterVersion: snap.Version, RosterSource: snap.Source, PresenceKnown: snap.Presence != nil, DeskStale: snap.Stale})
}

// fillLoads counts each agent's open human consultations, four at a time; failures leave Load nil.
func (s *server) fillLoads(ctx context.Context, views []agentView) {
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range views {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := s.agentLoad(ctx, views[i].ID)
			if err != nil {
				s.log.Warn("count agent load", "agent", views[i].ID, "error", err)
				return
			}
			views[i].Load = &n
		}()
	}
	wg.Wait()
}

func (s *server) agentLoad(ctx context.Context, agent string) (int64, error) {
	resp, err := s.d.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: s.cfg.TemporalNamespace,
		Query:     desk.AgentLoadQuery(agent),
	})
	if err != nil {
		return 0, fmt.Errorf("count workflows: %w", err)
	}
	return resp.GetCount(), nil
}
