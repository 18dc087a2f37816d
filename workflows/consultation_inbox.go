package workflows

import (
	"errors"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/desk"
)

// registerHandlers sets the "state" query and the "agent_message" update; its validator refuses
// a message without sender and one whose callback stopped waiting (AnswerBy).
func (s *consultation) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (ConsultationState, error) {
		return s.snapshot(), nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateAgentMessage,
		func(ctx workflow.Context, m InboundMessage) (AgentMessageResult, error) {
			return s.acceptAgent(ctx, m), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, m InboundMessage) error {
			if m.From == "" {
				return errors.New("agent message: From is required")
			}
			// Validators are not in history (a rejection writes nothing); workflow.Now is the time
			// of the task delivering the update.
			if !m.AnswerBy.IsZero() && workflow.Now(ctx).After(m.AnswerBy) {
				return errAgentMessageExpired()
			}
			return nil
		}},
	)
}

// snapshot is the query view: the state with its pending deadlines listed.
func (s *consultation) snapshot() ConsultationState {
	st := s.st
	st.Deadlines = nil
	for _, d := range []Deadline{
		{DeadlineAccept, s.st.AcceptDeadline}, {DeadlineReply, s.st.ReplyDeadline},
		{DeadlineShift, s.st.ShiftWaitUntil}, {DeadlineRetryRoute, s.st.RetryRouteAt},
		{DeadlineIdle, s.st.IdleDeadline},
	} {
		if !d.At.IsZero() && st.Phase != PhaseClosed {
			st.Deadlines = append(st.Deadlines, d)
		}
	}
	if !s.st.RatingUntil.IsZero() {
		st.Deadlines = append(st.Deadlines, Deadline{DeadlineRating, s.st.RatingUntil})
	}
	if st.Transcript == nil {
		st.Transcript = []TranscriptEntry{}
	}
	return st
}

// remember adds key to the bounded dedupe window; it reports false when the key was seen.
func (s *consultation) remember(key string, owned bool) bool {
	if key == "" {
		return true
	}
	if _, ok := s.seen[key]; ok {
		return false
	}
	s.st.Seen = append(s.st.Seen, SeenKey{Key: key, Owned: owned})
	if len(s.st.Seen) > dedupeWindow {
		s.st.Seen = s.st.Seen[len(s.st.Seen)-dedupeWindow:]
		s.seen = make(map[string]int, len(s.st.Seen))
		for i, k := range s.st.Seen {
			s.seen[k.Key] = i
		}
	} else {
		s.seen[key] = len(s.st.Seen) - 1
	}
	return true
}

// acceptCustomer queues a customer message unless its MsgKey was seen.
func (s *consultation) acceptCustomer(ctx workflow.Context, m InboundMessage) {
	if !s.remember(m.MsgKey, false) {
		workflow.GetLogger(ctx).Info("duplicate customer message dropped", "msgKey", m.MsgKey)
		return
	}
	s.lastInbound = workflow.Now(ctx)
	s.inbox = append(s.inbox, m)
}

// acceptRouteNow keeps one pending route_now request (a burst of them routes once).
func (s *consultation) acceptRouteNow(r desk.RouteNow) {
	if s.routeNow == nil {
		s.routeNow = &r
	}
}

func (s *consultation) acceptClose(c CloseRequest) {
	if s.closeReq == nil {
		if c.Reason == "" {
			c.Reason = "closed"
		}
		s.closeReq = &c
	}
}

// acceptAgent answers the agent_message update: owned messages are queued for the main loop.
func (s *consultation) acceptAgent(ctx workflow.Context, m InboundMessage) AgentMessageResult {
	s.updates++ // a duplicate counts towards Temporal's updates per run too
	if i, ok := s.seen[m.MsgKey]; ok && m.MsgKey != "" {
		return AgentMessageResult{Owned: s.st.Seen[i].Owned, Reason: "duplicate"}
	}
	res := AgentMessageResult{Owned: true, Reason: "owner"}
	switch {
	case s.closeReq != nil || s.st.Phase == PhaseClosed:
		res = AgentMessageResult{Reason: "closed"}
	case slices.Contains(s.st.TimedOut, m.From) && s.st.Agent != m.From:
		res = AgentMessageResult{Reason: "timed_out", Owner: s.st.Agent}
	case s.st.Owner != OwnerAgent || s.st.Agent == "":
		res = AgentMessageResult{Reason: "no_agent"}
	case s.st.Agent != m.From:
		res = AgentMessageResult{Reason: "not_owner", Owner: s.st.Agent}
	}
	s.remember(m.MsgKey, res.Owned)
	s.lastInbound = workflow.Now(ctx)
	if res.Owned {
		s.agentInbox = append(s.agentInbox, m)
	}
	workflow.GetLogger(ctx).Info("agent message", "from", m.From, "owned", res.Owned, "reason", res.Reason)
	return res
}
