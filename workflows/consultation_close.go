package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/tim"
)

// close ends the consultation: goodbye, rating prompt and agent note, status "closed", the rating
// window; then it completes, or continues as the customer's next consultation when messages came
// in while closing.
func (s *consultation) close(ctx workflow.Context, req CloseRequest) (ConsultationResult, error) {
	prompted := s.sayGoodbye(ctx, req)
	s.st.ClosedBy, s.st.CloseNote = req.By, req.Reason
	s.st.AcceptDeadline, s.st.ReplyDeadline, s.st.ShiftWaitUntil, s.st.RetryRouteAt, s.st.IdleDeadline = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	s.syncSearchAttributes(ctx)
	if s.st.Agent != "" {
		s.freeSlot(ctx, s.st.Agent, "closed")
	}
	if prompted {
		if err := s.awaitRating(ctx); err != nil {
			return ConsultationResult{}, err
		}
	}
	if err := s.outlastReplays(ctx); err != nil {
		return ConsultationResult{}, err
	}
	// Messages that arrive while closing start the customer's next consultation.
	if err := s.quiesce(ctx); err != nil {
		return ConsultationResult{}, err
	}
	if len(s.inbox) > 0 {
		return ConsultationResult{}, s.startNext(ctx)
	}
	return ConsultationResult{Customer: s.st.Customer, Reason: req.Reason, ClosedBy: req.By, Steps: s.st.Step, ClosedAt: s.now(ctx), Rating: s.st.Rating}, nil
}

// sayGoodbye closes the phase and sends the goodbye, the rating prompt (once per consultation;
// it reports whether it asked) and a note to the agent who did not close it.
func (s *consultation) sayGoodbye(ctx workflow.Context, req CloseRequest) (prompted bool) {
	s.st.setPhase(PhaseClosed)
	goodbye := "goodbye"
	if req.Reason == reasonInactivity {
		goodbye = "goodbye_inactive"
	}
	s.notice(ctx, goodbye)
	if s.st.Policy.RatingPrompt && !s.st.RatingAsked {
		s.st.RatingAsked, prompted = true, true
		s.notice(ctx, "rating")
	}
	if s.st.Agent != "" && req.By != s.st.Agent {
		s.agentNotice(ctx, s.st.Agent, s.st.AgentLanguage, "closed_agent", req.Reason)
	}
	return prompted
}

// awaitRating waits Policy.RatingWindow for the rating: a reply of 1-5 is recorded and thanked,
// anything else stays in the inbox and starts the customer's next consultation.
func (s *consultation) awaitRating(ctx workflow.Context) error {
	s.st.RatingUntil = s.now(ctx).Add(s.st.Policy.RatingWindow)
	if _, err := workflow.AwaitWithTimeout(ctx, s.st.Policy.RatingWindow, func() bool { return len(s.inbox) > 0 }); err != nil {
		return err
	}
	s.st.RatingUntil = time.Time{}
	if len(s.inbox) == 0 {
		return nil
	}
	r := parseRating(s.inbox[0].text())
	if r == 0 {
		return nil
	}
	m := s.inbox[0]
	s.inbox = s.inbox[1:]
	s.st.Rating = r
	s.st.Step++
	s.appendEntry(TranscriptEntry{Seq: s.st.Step, At: s.now(ctx), Role: "customer", Sender: m.From, MsgKey: m.MsgKey, Text: m.text(), Delivered: true})
	s.notice(ctx, "rating_thanks")
	return nil
}

// replayWindow is how long after a callback reached the API a replay of it can still pass the
// signature check: RequestTime may be up to tim.CallbackWindow ahead of the API's clock when the
// callback first arrives, and a replay is accepted until tim.CallbackWindow after RequestTime.
const replayWindow = 2 * tim.CallbackWindow

// outlastReplays keeps the closed run open until no replay of a message it took can pass the
// signature check any more. While the run is open Temporal drops a replayed signal by its request
// ID (and the dedupe window drops a replayed update); once it has completed, a replay would start
// a new run that answers the message again. A new message meanwhile starts the customer's next
// consultation, as in the rating window.
func (s *consultation) outlastReplays(ctx workflow.Context) error {
	wait := s.lastInbound.Add(replayWindow).Sub(workflow.Now(ctx))
	if s.lastInbound.IsZero() || wait <= 0 || len(s.inbox) > 0 {
		return nil
	}
	_, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return len(s.inbox) > 0 })
	return err
}

// startNext continues as the customer's next consultation with the messages that arrived while
// closing: a fresh state that keeps the dedupe window, the language and the step count.
func (s *consultation) startNext(ctx workflow.Context) error {
	workflow.GetLogger(ctx).Info("messages arrived while closing; starting a new consultation", "pending", len(s.inbox))
	st := freshState(s.st.Customer, s.st.ServiceAccount, s.now(ctx), workflow.GetInfo(ctx).WorkflowExecution.RunID)
	st.Runs = 0 // the next run counts itself
	// Step goes on from this consultation's: send keys (workflow ID/FirstRunID/Step) must not
	// repeat this consultation's when this run is also its first run (FirstRunID).
	st.Step, st.Seen, st.Language = s.st.Step, s.st.Seen, s.st.Language
	next := s.in
	next.Carry = &CarryOver{Pending: s.inbox, State: st}
	return workflow.NewContinueAsNewError(ctx, ConsultationWorkflow, next)
}

// quiesce accepts the signals still buffered, waits for running update handlers, and accepts
// what arrived meanwhile: after it nothing is in flight, so continue-as-new loses nothing.
func (s *consultation) quiesce(ctx workflow.Context) error {
	s.drainSignals(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	s.drainSignals(ctx)
	return nil
}

// parseRating reads a rating reply: "1".."5" (also full-width, "5分", "5 stars", "4/5") or 1-5 stars.
func parseRating(text string) int {
	t := strings.ToLower(strings.TrimSpace(text))
	if t == "" {
		return 0
	}
	if stars := strings.Count(t, "★") + strings.Count(t, "⭐"); stars > 0 {
		rest := strings.NewReplacer("★", "", "⭐", "", "\ufe0f", "", " ", "").Replace(t)
		if rest == "" && stars <= 5 {
			return stars
		}
		return 0
	}
	r := []rune(t)
	d := r[0]
	if d >= '１' && d <= '５' {
		d = d - '１' + '1'
	}
	if d < '1' || d > '5' {
		return 0
	}
	switch strings.TrimSpace(string(r[1:])) {
	case "", "分", "星", "star", "stars", "/5", "/ 5", "分!", "!":
		return int(d - '0')
	}
	return 0
}

// A run that never falls quiet for replayWindow continues as new all the same at these sizes,
// still far below Temporal's limits (51,200 events, 50 MiB, 2,000 updates per run; it suggests
// continuing at 4,096 events, 4 MiB or 1,800 updates).
const (
	forceContinueEvents  = 6144
	forceContinueBytes   = 6 << 20
	forceContinueUpdates = 1900
)

// shouldContinueAsNew: the test hook's message count is reached, or Temporal suggests it and no
// replay of a message this run took can pass the callback's signature check any more
// (replayWindow after the last one, as outlastReplays): Temporal drops a replayed signal by its
// request ID, and a replayed update by its ID, only in the run that took the message; the next
// run would record the replay (and drop it only then, by Seen). The run waits for the quiet in
// its usual steps (its history does not grow meanwhile) unless it reaches a forceContinue size.
func (s *consultation) shouldContinueAsNew(ctx workflow.Context) bool {
	if s.continueNext {
		return true
	}
	if s.in.MaxMessagesPerRun > 0 && s.handled >= s.in.MaxMessagesPerRun {
		return true
	}
	info := workflow.GetInfo(ctx)
	if !info.GetContinueAsNewSuggested() {
		return false
	}
	quiet := s.lastInbound.IsZero() || !workflow.Now(ctx).Before(s.lastInbound.Add(replayWindow))
	return quiet || tooLargeToWait(ctx, s.updates)
}

// tooLargeToWait: the run has reached a forceContinue size (its history, or updates accepted in
// it), so it continues as new without waiting for quiet.
func tooLargeToWait(ctx workflow.Context, updates int) bool {
	info := workflow.GetInfo(ctx)
	return info.GetCurrentHistoryLength() >= forceContinueEvents || info.GetCurrentHistorySize() >= forceContinueBytes ||
		updates >= forceContinueUpdates
}

// continueAsNew (Temporal suggests it, or MaxMessagesPerRun is reached) runs quiesce first —
// drain the signal channels, wait for running handlers, drain again — and continues with the
// whole state and the unprocessed messages (CarryOver).
func (s *consultation) continueAsNew(ctx workflow.Context) error {
	if err := s.quiesce(ctx); err != nil {
		return err
	}
	next := s.in
	next.Carry = &CarryOver{State: s.st, Pending: s.inbox, PendingAgent: s.agentInbox}
	next.Carry.State.Deadlines = nil
	if s.routeNow != nil && s.waitingForAgent() {
		// a wake-up not handled yet: the next run routes at once
		next.Carry.State.RetryRouteAt = s.now(ctx)
	}
	if !s.continueNext {
		next.Carry.Close = s.closeReq // a close that arrived while draining: the next run handles it
	}
	workflow.GetLogger(ctx).Info("continuing as new", "step", s.st.Step, "pending", len(s.inbox), "handled", s.handled)
	return workflow.NewContinueAsNewError(ctx, ConsultationWorkflow, next)
}

// drainSignals accepts the signals still buffered (see pumpSignals).
func (s *consultation) drainSignals(ctx workflow.Context) {
	receiveAsync(s.msgCh, func(m InboundMessage) { s.acceptCustomer(ctx, m) })
	receiveAsync(s.closeCh, s.acceptClose)
	if s.routeNowCh != nil {
		receiveAsync(s.routeNowCh, s.acceptRouteNow)
	}
}
