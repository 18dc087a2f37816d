package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// deadlineTimer is the one durable timer for the earliest deadline. It is kept while it fires no
// later than that deadline: when the deadline moves later (every customer message pushes the
// inactivity deadline out) the timer fires early and the loop arms the next one, so a busy
// consultation starts one timer per timeout instead of cancelling and starting one per message.
// It is cancelled when the earliest deadline moves earlier or no deadline is left.
type deadlineTimer struct {
	at     time.Time
	future workflow.Future
	cancel workflow.CancelFunc
}

// wait blocks until there is work or the earliest deadline (kind at) passes.
func (s *consultation) wait(ctx workflow.Context, kind string, at, now time.Time) error {
	if s.timer != nil && (kind == "" || s.timer.at.After(at)) {
		s.timer.cancel()
		s.timer = nil
	}
	if kind == "" {
		return workflow.Await(ctx, s.hasWork)
	}
	if s.timer == nil {
		tctx, cancel := workflow.WithCancel(ctx)
		f := workflow.NewTimerWithOptions(tctx, at.Sub(now), workflow.TimerOptions{Summary: "deadline " + kind})
		s.timer = &deadlineTimer{at: at, future: f, cancel: cancel}
	}
	t := s.timer
	if err := workflow.Await(ctx, func() bool { return s.hasWork() || t.future.IsReady() }); err != nil {
		return err
	}
	if t.future.IsReady() {
		s.timer = nil
	}
	return nil
}

// nextDeadline is the earliest pending deadline (ties: list order).
func (s *consultation) nextDeadline() (string, time.Time) {
	kind, at := "", time.Time{}
	for _, d := range []Deadline{
		{DeadlineAccept, s.st.AcceptDeadline}, {DeadlineReply, s.st.ReplyDeadline},
		{DeadlineShift, s.st.ShiftWaitUntil}, {DeadlineRetryRoute, s.st.RetryRouteAt},
		{DeadlineIdle, s.st.IdleDeadline},
	} {
		if !d.At.IsZero() && (kind == "" || d.At.Before(at)) {
			kind, at = d.Kind, d.At
		}
	}
	return kind, at
}

// fire handles a deadline that has passed.
func (s *consultation) fire(ctx workflow.Context, kind string) {
	now := s.now(ctx)
	s.st.Step++
	switch kind {
	case DeadlineAccept:
		s.st.AcceptDeadline = time.Time{}
		s.escalate(ctx, "accept_timeout")
	case DeadlineReply:
		if !s.st.ReplyNudged {
			s.st.ReplyNudged = true
			s.st.ReplyDeadline = now.Add(s.st.Policy.ReplyTimeout)
			s.agentNotice(ctx, s.st.Agent, s.st.AgentLanguage, "nudge", s.st.Policy.ReplyTimeout.String())
			return
		}
		s.st.ReplyDeadline = time.Time{}
		s.escalate(ctx, "reply_timeout")
	case DeadlineShift:
		s.st.ShiftWaitUntil = time.Time{}
		s.route(ctx, "shift_start", "")
	case DeadlineRetryRoute:
		s.st.RetryRouteAt = time.Time{}
		s.route(ctx, "retry", "")
	case DeadlineIdle:
		s.st.IdleDeadline = time.Time{}
		s.acceptClose(CloseRequest{Reason: reasonInactivity, By: "timdesk"})
	}
}

// resetIdle restarts the inactivity timer for the current owner.
func (s *consultation) resetIdle(ctx workflow.Context) {
	now := s.now(ctx)
	p := s.st.Policy
	switch s.st.Owner {
	case OwnerAgent:
		s.st.IdleDeadline = now.Add(p.HumanIdleTimeout)
	case OwnerQueue:
		from := now
		if s.st.ShiftWaitUntil.After(from) {
			from = s.st.ShiftWaitUntil
		}
		s.st.IdleDeadline = from.Add(p.QueueIdleTimeout)
	default:
		s.st.IdleDeadline = now.Add(p.AIIdleTimeout)
	}
	unaccepted := s.st.Owner == OwnerQueue || (s.st.Owner == OwnerAgent && !s.st.Accepted)
	if unaccepted {
		if by := s.queueIdleBy(now); by.Before(s.st.IdleDeadline) {
			s.st.IdleDeadline = by
		}
	}
}

// queueIdleBy is the latest inactivity deadline while no agent has accepted: QueueIdleTimeout
// after the last customer (or agent) message in the transcript, or — once per message, for the
// shift the customer was told about — after the awaited shift's start when that is later.
func (s *consultation) queueIdleBy(now time.Time) time.Time {
	p := s.st.Policy
	if s.st.QueueIdleBy.IsZero() {
		last := now
		for i := len(s.st.Transcript) - 1; i >= 0; i-- {
			if e := s.st.Transcript[i]; e.Role == "customer" || e.Role == "agent" {
				last = e.At
				break
			}
		}
		s.st.QueueIdleBy = last.Add(p.QueueIdleTimeout)
	}
	if s.st.Owner == OwnerQueue && s.st.ShiftGrace.IsZero() && s.st.ShiftWaitUntil.After(s.st.QueueIdleBy) {
		s.st.ShiftGrace = s.st.ShiftWaitUntil
		s.st.QueueIdleBy = s.st.ShiftWaitUntil.Add(p.QueueIdleTimeout)
	}
	return s.st.QueueIdleBy
}

// awaitDeadline fires the earliest deadline when it has passed (reporting true), else waits until
// it passes or work arrives.
func (s *consultation) awaitDeadline(ctx workflow.Context) (bool, error) {
	kind, at := s.nextDeadline()
	now := workflow.Now(ctx)
	if kind != "" && !now.Before(at) {
		s.since = at.UTC()
		s.fire(ctx, kind)
		return true, nil
	}
	return false, s.wait(ctx, kind, at, now)
}

// hasWork: a close, a message or a wake-up is waiting to be handled.
func (s *consultation) hasWork() bool {
	return s.closeReq != nil || len(s.inbox) > 0 || len(s.agentInbox) > 0 || s.routeNow != nil
}
