package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
)

// handoff hands the customer from the AI to a person. trigger labels the hand-off counter;
// reason (the model's own words for an ai_decided hand-off, cut to maxHandoffReason runes) goes
// only into HandoffReason, the log and the agent's brief, never into a metric label.
func (s *consultation) handoff(ctx workflow.Context, trigger HandoffTrigger, reason, summary string) {
	s.st.HandoffReason = string(trigger)
	if reason = strings.TrimSpace(truncateRunes(strings.TrimSpace(reason), maxHandoffReason)); reason != "" {
		s.st.HandoffReason += ": " + reason
	}
	workflow.GetLogger(ctx).Info("hand-off", "trigger", string(trigger), "reason", reason)
	count(ctx, MetricHandoffs, map[string]string{"trigger": string(trigger)})
	if s.st.HandoffAt.IsZero() {
		s.st.HandoffAt = s.now(ctx)
	}
	switch {
	case summary == "":
	case s.st.Summary == "":
		s.st.Summary = summary
	default:
		s.st.Summary += " — " + summary
	}
	s.route(ctx, s.st.HandoffReason, "")
}

// route asks the Router and applies its decision: assigned (or a supervisor), an invalid
// transfer target, off hours (wait for the shift), or nobody available (retry later).
func (s *consultation) route(ctx workflow.Context, trigger, target string) {
	prevPhase, prevIdle, prevAgent := s.st.Phase, s.st.IdleDeadline, s.st.Agent
	res := s.askRouter(ctx, target)
	now := s.now(ctx)
	s.st.RoutingCount++
	s.st.LastRouting = &RoutingDecision{Trigger: trigger, Decision: res.Decision, Agent: res.Agent, Reason: res.Reason, NextShift: res.NextShift, At: now}
	switch res.Decision {
	case activities.DecisionAssigned, activities.DecisionSupervisor:
		s.assign(ctx, res, trigger)
	case activities.DecisionInvalidTarget:
		s.agentNotice(ctx, s.st.Agent, s.st.AgentLanguage, "transfer_invalid", res.Reason)
	case activities.DecisionOffHours:
		s.waitForShift(ctx, res, now)
	default:
		s.waitForAgent(ctx, res, now)
	}
	s.resetIdle(ctx)
	if queueRetry(prevPhase, s.st) && !prevIdle.IsZero() && prevIdle.Before(s.st.IdleDeadline) {
		// Routing again and finding nobody again is not the customer's activity: the queue's
		// inactivity deadline stays where the customer's last message (or the shift) put it.
		s.st.IdleDeadline = prevIdle
	}
	if prevAgent != "" && s.st.Agent != prevAgent {
		s.freeSlot(ctx, prevAgent, "reassigned") // escalated or transferred away
	}
}

// freeSlot tells the desk that this consultation no longer holds agent, so the desk wakes the
// queued consultations (the one waiting longest first) instead of leaving them to their back-off.
// A desk that is not running is only logged: the queue routes at its next retry.
func (s *consultation) freeSlot(ctx workflow.Context, agent, reason string) {
	err := workflow.SignalExternalWorkflow(ctx, DeskWorkflowID, "", SignalSlotFreed,
		desk.SlotFreed{Agent: agent, Consultation: s.workflowID, Reason: reason}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("telling the desk a slot is free failed; the queue routes at its next retry", "agent", agent, "error", err)
	}
}

// askRouter runs the Route activity; a failure counts as nobody available.
func (s *consultation) askRouter(ctx workflow.Context, target string) activities.RouteResult {
	in := activities.RouteInput{ConsultationID: s.workflowID, Customer: s.st.Customer, Exclude: s.st.TimedOut, Current: s.st.Agent, Target: target,
		Language: s.st.Language, Since: s.waitingSince(s.now(ctx))}
	var res activities.RouteResult
	if err := workflow.ExecuteActivity(activityCtx(ctx, 20*time.Second, 2*time.Minute, 0), router.Route, in).Get(ctx, &res); err != nil {
		workflow.GetLogger(ctx).Error("route failed", "error", err)
		return activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "routing failed: " + err.Error()}
	}
	return res
}

// waitForShift queues the consultation until the next shift starts (an hour when the roster has
// none soon) and tells the customer when, once per shift. A shift the consultation will have
// closed before (nobody came at the one it was told about) is not announced; the notice is kept
// in one field, not a Notified key per day, so the state stays bounded.
func (s *consultation) waitForShift(ctx workflow.Context, res activities.RouteResult, now time.Time) {
	s.unassign()
	s.st.setPhase(PhaseWaitingShift)
	s.enterQueue(now)
	if res.NextShift.IsZero() {
		s.st.RetryRouteAt = now.Add(time.Hour)
	} else {
		s.st.ShiftWaitUntil = res.NextShift.UTC()
	}
	s.syncSearchAttributes(ctx)
	key := "off_hours:" + res.NextShiftLocal
	s.resetIdle(ctx)
	if s.st.OffHoursNotice == key || (!s.st.ShiftWaitUntil.IsZero() && s.st.IdleDeadline.Before(s.st.ShiftWaitUntil)) {
		return
	}
	s.st.OffHoursNotice = key
	when := res.NextShiftLocal
	if when == "" {
		when = "-"
	}
	s.notice(ctx, "off_hours", when)
}

// waitForAgent queues the consultation to route again after RetryRouteAfter, doubling up to
// maxRetryRouteAfter; the customer hears "busy" once, and their place in the queue when they
// enter it and when it changes materially (tellQueuePosition).
func (s *consultation) waitForAgent(ctx workflow.Context, res activities.RouteResult, now time.Time) {
	s.unassign()
	s.st.setPhase(PhaseWaitingAgent)
	s.enterQueue(now)
	exp := s.st.Unavailable
	if len(res.TimedOutAvailable) > 0 {
		exp = max(exp, s.newRound(res.TimedOutAvailable))
	}
	wait := s.st.Policy.RetryRouteAfter << min(exp, 5)
	s.st.Unavailable++
	s.st.RetryRouteAt = now.Add(min(wait, max(maxRetryRouteAfter, s.st.Policy.RetryRouteAfter)))
	s.syncSearchAttributes(ctx)
	entered := !s.st.Notified["busy"]
	if entered {
		s.st.Notified["busy"] = true
		s.notice(ctx, "busy")
	}
	s.tellQueuePosition(ctx, entered)
}

// enterQueue records since when the customer waits for a person (waitingSince).
func (s *consultation) enterQueue(now time.Time) {
	s.st.QueuedSince = s.waitingSince(now)
}

// waitingSince is the customer's place in the queue: since they were queued, else the hand-off
// when nobody has answered them since, else now.
func (s *consultation) waitingSince(now time.Time) time.Time {
	switch {
	case !s.st.QueuedSince.IsZero():
		return s.st.QueuedSince
	case !s.st.HandoffAt.IsZero():
		return s.st.HandoffAt
	}
	return now
}

// tellQueuePosition tells the customer their place in the queue when they enter it, and again
// when it changed materially since they were last told: halved, or next in line. Nothing when
// visibility cannot tell. The place counts the customers queued since earlier (QueuedSince), the
// order WakeQueued serves the queue in.
func (s *consultation) tellQueuePosition(ctx workflow.Context, entered bool) {
	var res activities.QueuePositionResult
	in := activities.QueuePositionInput{Since: s.st.QueuedSince, ConsultationID: s.workflowID}
	if err := workflow.ExecuteActivity(activityCtx(ctx, 10*time.Second, time.Minute, 3), router.QueuePosition, in).Get(ctx, &res); err != nil {
		workflow.GetLogger(ctx).Warn("queue position unknown", "error", err)
		return
	}
	pos, told := res.Position, s.st.QueuePosition
	if pos <= 0 {
		return
	}
	if entered || told == 0 || (pos < told && (pos*2 <= told || pos == 1)) {
		s.st.QueuePosition = pos
		s.notice(ctx, "queue_position", pos)
	}
}

// newRound starts the next ladder round: everyone usable timed out, so nobody is excluded at the
// next retry. The back-off keeps growing with the rounds (the exponent it returns), so agents who
// do not answer are not asked again every few minutes.
func (s *consultation) newRound(available []string) int {
	s.st.Round = max(s.st.Round, 1) + 1
	s.st.TimedOut = nil
	s.st.LastRouting.Reason += fmt.Sprintf("; ladder exhausted, starting round %d (%s available again)",
		s.st.Round, strings.Join(available, ", "))
	return s.st.Round - 2
}

// queueRetry reports whether a routing that started in phase prev left the consultation waiting
// in the queue as before: nobody free (again), or nobody on duty with no shift start to wait for.
func queueRetry(prev string, st ConsultationState) bool {
	if prev != PhaseWaitingAgent && prev != PhaseWaitingShift {
		return false
	}
	return st.Phase == PhaseWaitingAgent || (st.Phase == PhaseWaitingShift && st.ShiftWaitUntil.IsZero())
}

// waitingForAgent: queued with a routing retry pending (nobody was free, or no shift was found).
func (s *consultation) waitingForAgent() bool {
	return s.st.Owner == OwnerQueue && s.st.Phase != PhaseClosed && !s.st.RetryRouteAt.IsZero()
}

// routeAtOnce handles route_now (an agent came online): route now instead of at RetryRouteAt.
// If that finds the ladder exhausted, the new round starts at once too (the one who came online
// may have timed out before). If nobody is free after all, the retry already planned and its
// back-off stay, so a wake-up never pushes the next attempt later.
func (s *consultation) routeAtOnce(ctx workflow.Context, req desk.RouteNow) {
	prevAt, prevUnavailable, prevRound := s.st.RetryRouteAt, s.st.Unavailable, s.st.Round
	s.st.Step++
	s.st.RetryRouteAt = time.Time{}
	trigger := "agent_online"
	s.route(ctx, trigger, "")
	if s.st.Round != prevRound && s.waitingForAgent() {
		exhausted := s.st.LastRouting.Reason
		s.st.RetryRouteAt = time.Time{}
		s.route(ctx, trigger, "")
		s.st.LastRouting.Reason = fmt.Sprintf("round %d at once (%s): %s", s.st.Round, exhausted, s.st.LastRouting.Reason)
	}
	if s.waitingForAgent() && prevAt.Before(s.st.RetryRouteAt) {
		s.st.RetryRouteAt, s.st.Unavailable = prevAt, prevUnavailable
	}
	if s.st.LastRouting != nil && req.Reason != "" {
		s.st.LastRouting.Reason += " (woken: " + req.Reason + ")"
	}
}

func (s *consultation) unassign() {
	s.st.Agent, s.st.AgentName, s.st.AgentLanguage, s.st.Accepted = "", "", "", false
	s.st.AcceptDeadline, s.st.ReplyDeadline, s.st.ReplyNudged = time.Time{}, time.Time{}, false
}

// assign hands the consultation to res.Agent: brief the agent, relay the customer's messages
// (From=customer, never shown on the customer's devices) and start the accept timer.
func (s *consultation) assign(ctx workflow.Context, res activities.RouteResult, trigger string) {
	now := s.now(ctx)
	s.unassign()
	s.st.Unavailable, s.st.QueuePosition = 0, 0
	s.st.Agent, s.st.AgentName, s.st.AgentLanguage = res.Agent, res.AgentName, res.AgentLanguage
	s.st.setPhase(PhaseAwaitingAccept)
	accept := res.AcceptTimeout
	if accept <= 0 {
		accept = s.st.Policy.AcceptTimeout
	}
	if res.ReplyTimeout > 0 {
		s.st.Policy.ReplyTimeout = res.ReplyTimeout
	}
	s.st.AcceptDeadline = now.Add(accept)
	s.st.ShiftWaitUntil, s.st.RetryRouteAt = time.Time{}, time.Time{}
	s.syncSearchAttributes(ctx)
	s.briefAgent(ctx, res, trigger)
	if !s.st.Notified["connecting"] {
		s.st.Notified["connecting"] = true
		s.notice(ctx, "connecting")
	}
}

// briefAgent sends the new agent the hand-off notice (rung, customer, language, trigger,
// summary) and relays the customer's recent messages.
func (s *consultation) briefAgent(ctx workflow.Context, res activities.RouteResult, trigger string) {
	summary := s.st.Summary
	if summary == "" {
		summary = "-"
	}
	lang := s.st.Language
	if lang == "" {
		lang = "?"
	}
	rungLang := res.AgentLanguage
	if _, ok := notices["handoff"][rungLang]; !ok {
		rungLang = "en"
	}
	rung := rungLabel(res.Decision, rungLang)
	s.agentNotice(ctx, res.Agent, res.AgentLanguage, "handoff", rung, s.st.Customer, lang, trigger, summary)
	var backlog []TranscriptEntry
	for _, e := range s.st.Transcript {
		if e.Role == "customer" {
			backlog = append(backlog, e)
		}
	}
	if len(backlog) > relayBacklog {
		backlog = backlog[len(backlog)-relayBacklog:]
	}
	if s.relay(ctx, backlog) {
		for _, e := range backlog {
			s.markDelivered(e.Seq)
		}
	}
}

// escalate: the agent did not answer in time; never pick them again in this consultation.
func (s *consultation) escalate(ctx workflow.Context, trigger string) {
	count(ctx, MetricEscalations, map[string]string{"trigger": trigger})
	if a := s.st.Agent; a != "" {
		if !slices.Contains(s.st.TimedOut, a) {
			s.st.TimedOut = append(s.st.TimedOut, a)
		}
		s.agentNotice(ctx, a, s.st.AgentLanguage, "reassigned", trigger)
	}
	s.route(ctx, trigger, "")
}

// truncateRunes is s cut to at most n runes.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
