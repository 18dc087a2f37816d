package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
)

// Activity receivers: workflows refer to activity methods through nil pointers; the worker
// registers the real instances.
var (
	llm    *activities.LLM
	im     *activities.IM
	router *activities.Router
)

const (
	// maxRetryRouteAfter caps the back-off between routing attempts while nobody is available.
	maxRetryRouteAfter = 30 * time.Minute
	reasonInactivity   = "inactivity"
	triggerAttachment  = "attachment" // hand-off: the customer sent an image, file, voice or video
	untranslatedMark   = "[untranslated] "
	agentNoticeMark    = "[timdesk] "
)

func activityCtx(ctx workflow.Context, startToClose, scheduleToClose time.Duration, attempts int32) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    startToClose,
		ScheduleToCloseTimeout: scheduleToClose,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        attempts,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
}

// withLocalOptions: quick reads (Policy).
func withLocalOptions(ctx workflow.Context) workflow.Context {
	return activityCtx(ctx, 10*time.Second, time.Minute, 3)
}

func (s *consultation) now(ctx workflow.Context) time.Time { return workflow.Now(ctx).UTC() }

// ---- customer messages ----

func (s *consultation) handleCustomerMessage(ctx workflow.Context, m InboundMessage) {
	text := strings.TrimSpace(m.text())
	s.st.Step++
	e := TranscriptEntry{Seq: s.st.Step, At: s.now(ctx), Role: "customer", Sender: m.From, MsgKey: m.MsgKey, Text: text, Body: nonText(m.Body)}
	if text != "" {
		var d activities.DetectResult
		if err := workflow.ExecuteActivity(activityCtx(ctx, 15*time.Second, time.Minute, 3), llm.DetectLanguage,
			activities.DetectInput{Text: text}).Get(ctx, &d); err != nil {
			workflow.GetLogger(ctx).Warn("detect language failed", "error", err)
		}
		// a short "ok" must not switch a Chinese customer to English
		if d.Language != "" && (s.st.Language == "" || languageEvidence(text) >= 6) {
			s.st.Language = d.Language
		}
		e.Language = d.Language
		deskLang := s.st.Policy.DeskLanguage
		switch {
		case !s.st.Policy.TranslationEnabled:
			e.TranslationStatus = activities.TranslationOff
		case d.Language == "" || d.Language == deskLang:
			e.TranslationStatus = activities.TranslationSame
		default:
			tr := s.translate(ctx, text, d.Language, deskLang)
			e.TranslationStatus = tr.Status
			if tr.Status == activities.TranslationTranslated {
				e.Translated, e.TranslatedTo = tr.Text, deskLang
			}
		}
	}
	s.appendEntry(e)
	s.st.QueueIdleBy, s.st.ShiftGrace = time.Time{}, time.Time{} // counted afresh from this message
	s.resetIdle(ctx)
	switch s.st.Owner {
	case OwnerAI:
		s.aiTurn(ctx, e)
	case OwnerQueue:
		// kept in the transcript; relayed to the agent on assignment
	case OwnerAgent:
		ok := false
		if text == "" && len(m.Body) > 0 {
			ok = s.sendMsg(ctx, s.st.Agent, "", m.Body, true)
		} else {
			ok = s.relay(ctx, []TranscriptEntry{e})
		}
		if ok {
			s.markDelivered(e.Seq)
		}
		if s.st.Accepted && s.st.ReplyDeadline.IsZero() {
			s.st.ReplyDeadline = s.now(ctx).Add(s.st.Policy.ReplyTimeout)
			s.st.ReplyNudged = false
		}
	}
}

// aiTurn lets the answerer decide: answer, clarify or hand off. An attachment the AI cannot
// read (image, file, voice, video) goes to a person; other non-text elements alone get a notice.
func (s *consultation) aiTurn(ctx workflow.Context, e TranscriptEntry) {
	attachment := attachments(e.Body)
	switch {
	case e.Text == "" && attachment == "":
		s.notice(ctx, "text_only")
		return
	case e.Text != "" && s.wantsHuman(e.Text):
		s.handoff(ctx, "customer_requested", "The customer asked for a human: "+e.Text)
		return
	case attachment != "":
		summary := "The customer sent " + attachment + " the AI cannot read"
		if e.Text != "" {
			summary += ", with: " + e.Text
		}
		s.handoff(ctx, triggerAttachment, summary)
		return
	}
	var res activities.AnswerResult
	err := workflow.ExecuteActivity(activityCtx(ctx, 30*time.Second, 90*time.Second, 3), llm.Answer, activities.AnswerInput{
		Text: e.Text, Language: s.st.Language, Transcript: s.turns(),
	}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Warn("answer failed; handing off", "error", err)
		s.handoff(ctx, "ai_unavailable", "The AI assistant is unavailable. The customer wrote: "+e.Text)
		return
	}
	if res.Summary != "" {
		s.st.Summary = res.Summary
	}
	switch res.Action {
	case activities.ActionAnswer:
		if res.Confidence < s.st.Policy.MinConfidence {
			s.handoff(ctx, "low_confidence", "")
			return
		}
		s.st.ClarifyCount = 0
		s.replyAI(ctx, res)
	case activities.ActionClarify:
		s.st.ClarifyCount++
		if s.st.ClarifyCount > s.st.Policy.MaxClarify {
			s.handoff(ctx, "repeated_clarify", "")
			return
		}
		s.replyAI(ctx, res)
	default:
		reason := res.Reason
		if reason == "" {
			reason = "ai_handoff"
		}
		s.handoff(ctx, reason, "")
	}
	s.markDelivered(e.Seq)
}

func (s *consultation) replyAI(ctx workflow.Context, res activities.AnswerResult) {
	text := res.Answer
	e := TranscriptEntry{Role: "ai", Sender: s.st.ServiceAccount, Text: text}
	// FAQ answers are in the FAQ's language; LLM answers are already in the customer's.
	if res.Source == "faq" && s.st.Policy.TranslationEnabled && s.st.Language != "" {
		tr := s.translate(ctx, text, "", s.st.Language)
		e.TranslationStatus = tr.Status
		if tr.Status == activities.TranslationTranslated {
			e.Translated, e.TranslatedTo, text = tr.Text, s.st.Language, tr.Text
		}
	}
	e.Delivered = s.sendTo(ctx, s.st.Customer, text, false)
	s.st.Step++
	e.Seq, e.At = s.st.Step, s.now(ctx)
	s.appendEntry(e)
}

// wantsHuman: an explicit request for a human (keywords: CJK as substrings, Latin as words).
func (s *consultation) wantsHuman(text string) bool {
	lower := strings.ToLower(text)
	padded := " " + strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return ' '
	}, lower) + " "
	for _, kw := range s.st.Policy.HumanKeywords {
		kw = strings.ToLower(strings.TrimSpace(kw))
		if kw == "" {
			continue
		}
		if isASCII(kw) {
			if strings.Contains(padded, " "+kw+" ") {
				return true
			}
		} else if strings.Contains(lower, kw) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// turns is the recent transcript for the answerer.
func (s *consultation) turns() []activities.Turn {
	start := max(0, len(s.st.Transcript)-answerContextSize)
	out := make([]activities.Turn, 0, len(s.st.Transcript)-start)
	for _, e := range s.st.Transcript[start:] {
		role := "assistant"
		switch e.Role {
		case "customer":
			role = "customer"
		case "agent":
			role = "agent"
		}
		out = append(out, activities.Turn{Role: role, Text: e.Text})
	}
	return out
}

// ---- hand-off, routing, escalation ----

func (s *consultation) handoff(ctx workflow.Context, trigger, summary string) {
	s.st.HandoffReason = trigger
	switch {
	case summary == "":
	case s.st.Summary == "":
		s.st.Summary = summary
	default:
		s.st.Summary += " — " + summary
	}
	s.route(ctx, trigger, "")
}

// route asks the Router and applies its decision.
func (s *consultation) route(ctx workflow.Context, trigger, target string) {
	prevPhase, prevIdle := s.st.Phase, s.st.IdleDeadline
	var res activities.RouteResult
	in := activities.RouteInput{ConsultationID: s.workflowID, Customer: s.st.Customer, Exclude: s.st.TimedOut, Current: s.st.Agent, Target: target,
		Language: s.st.Language}
	err := workflow.ExecuteActivity(activityCtx(ctx, 20*time.Second, 2*time.Minute, 0), router.Route, in).Get(ctx, &res)
	now := s.now(ctx)
	if err != nil {
		workflow.GetLogger(ctx).Error("route failed", "error", err)
		res = activities.RouteResult{Decision: activities.DecisionUnavailable, Reason: "routing failed: " + err.Error()}
	}
	s.st.RoutingCount++
	s.st.LastRouting = &RoutingDecision{Trigger: trigger, Decision: res.Decision, Agent: res.Agent, Reason: res.Reason, NextShift: res.NextShift, At: now}
	switch res.Decision {
	case activities.DecisionAssigned, activities.DecisionSupervisor:
		s.assign(ctx, res, trigger)
	case activities.DecisionInvalidTarget:
		s.st.Phase = prevPhase
		s.agentNotice(ctx, s.st.Agent, s.st.AgentLanguage, "transfer_invalid", res.Reason)
	case activities.DecisionOffHours:
		s.unassign()
		s.st.Owner, s.st.Status, s.st.Phase = OwnerQueue, desk.StatusQueued, PhaseWaitingShift
		if res.NextShift.IsZero() {
			s.st.RetryRouteAt = now.Add(time.Hour)
		} else {
			s.st.ShiftWaitUntil = res.NextShift.UTC()
		}
		s.syncSearchAttributes(ctx)
		// one field, not a Notified key per day, keeps the state bounded; and a shift the
		// consultation will have closed before (nobody came at the one it was told about) is not
		// announced
		key := "off_hours:" + res.NextShiftLocal
		s.resetIdle(ctx)
		notify := s.st.OffHoursNotice != key &&
			(s.st.ShiftWaitUntil.IsZero() || !s.st.IdleDeadline.Before(s.st.ShiftWaitUntil))
		if notify {
			s.st.OffHoursNotice = key
		}
		if notify {
			when := res.NextShiftLocal
			if when == "" {
				when = "-"
			}
			s.notice(ctx, "off_hours", when)
		}
	default:
		s.unassign()
		s.st.Owner, s.st.Status, s.st.Phase = OwnerQueue, desk.StatusQueued, PhaseWaitingAgent
		// back off: RetryRouteAfter, doubling up to maxRetryRouteAfter
		exp := s.st.Unavailable
		if len(res.TimedOutAvailable) > 0 {
			// the ladder is exhausted: everyone usable timed out. A new round (nobody excluded)
			// starts at the next retry; the back-off keeps growing with the rounds, so agents
			// who do not answer are not asked again every few minutes.
			s.st.Round = max(s.st.Round, 1) + 1
			s.st.TimedOut = nil
			exp = max(exp, s.st.Round-2)
			s.st.LastRouting.Reason += fmt.Sprintf("; ladder exhausted, starting round %d (%s available again)",
				s.st.Round, strings.Join(res.TimedOutAvailable, ", "))
		}
		wait := s.st.Policy.RetryRouteAfter << min(exp, 5)
		s.st.Unavailable++
		s.st.RetryRouteAt = now.Add(min(wait, max(maxRetryRouteAfter, s.st.Policy.RetryRouteAfter)))
		s.syncSearchAttributes(ctx)
		if !s.st.Notified["busy"] {
			s.st.Notified["busy"] = true
			s.notice(ctx, "busy")
		}
	}
	s.resetIdle(ctx)
	if queueRetry(prevPhase, s.st) && !prevIdle.IsZero() && prevIdle.Before(s.st.IdleDeadline) {
		// Routing again and finding nobody again is not the customer's activity: the queue's
		// inactivity deadline stays where the customer's last message (or the shift) put it.
		s.st.IdleDeadline = prevIdle
	}
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

// assign hands the consultation to res.Agent: relay the summary and the customer's messages
// (From=customer, never shown on the customer's devices) and start the accept timer.
func (s *consultation) assign(ctx workflow.Context, res activities.RouteResult, trigger string) {
	now := s.now(ctx)
	s.unassign()
	s.st.Unavailable = 0
	s.st.Agent, s.st.AgentName, s.st.AgentLanguage = res.Agent, res.AgentName, res.AgentLanguage
	s.st.Owner, s.st.Status, s.st.Phase = OwnerAgent, desk.StatusHuman, PhaseAwaitingAccept
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
	if !s.st.Notified["connecting"] {
		s.st.Notified["connecting"] = true
		s.notice(ctx, "connecting")
	}
}

// escalate: the agent did not answer in time; never pick them again in this consultation.
func (s *consultation) escalate(ctx workflow.Context, trigger string) {
	if a := s.st.Agent; a != "" {
		if !slices.Contains(s.st.TimedOut, a) {
			s.st.TimedOut = append(s.st.TimedOut, a)
		}
		s.agentNotice(ctx, a, s.st.AgentLanguage, "reassigned", trigger)
	}
	s.route(ctx, trigger, "")
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

// ---- agent messages ----

func (s *consultation) handleAgentMessage(ctx workflow.Context, m InboundMessage) {
	text := strings.TrimSpace(m.text())
	if !s.st.Accepted && s.st.Agent == m.From {
		s.st.Accepted = true
		s.st.AcceptDeadline = time.Time{}
		s.st.Phase = PhaseWithAgent
	}
	s.st.ReplyDeadline, s.st.ReplyNudged = time.Time{}, false
	s.st.QueueIdleBy, s.st.ShiftGrace = time.Time{}, time.Time{} // counted afresh from this message
	s.resetIdle(ctx)
	if isCommand(text) {
		s.command(ctx, m.From, text)
		return
	}
	body := nonText(m.Body)
	if text == "" {
		if len(m.Body) > 0 { // an image, file...: forwarded as is
			e := TranscriptEntry{Role: "agent", Sender: m.From, MsgKey: m.MsgKey, Text: "(non-text message)", Body: body}
			e.Delivered = s.sendMsg(ctx, s.st.Customer, "", m.Body, false)
			s.st.Step++
			e.Seq, e.At = s.st.Step, s.now(ctx)
			s.appendEntry(e)
		}
		return
	}
	e := TranscriptEntry{Role: "agent", Sender: m.From, MsgKey: m.MsgKey, Text: text, Language: s.st.AgentLanguage}
	out, cloud := text, ""
	if s.st.Language != "" {
		tr := s.translate(ctx, text, s.st.AgentLanguage, s.st.Language)
		e.TranslationStatus = tr.Status
		switch tr.Status {
		case activities.TranslationTranslated:
			e.Translated, e.TranslatedTo, out = tr.Text, s.st.Language, fitText(tr.Text, untranslatedMark+text, text)
			if out == tr.Text {
				cloud = cloudTranslation(s.st.AgentLanguage, s.st.Language, text, out)
			}
		case activities.TranslationFailed:
			out = fitText(untranslatedMark+text, text)
		}
	} else if !s.st.Policy.TranslationEnabled {
		e.TranslationStatus = activities.TranslationOff
	}
	e.Delivered = s.sendCloud(ctx, s.st.Customer, out, nil, false, cloud)
	if len(body) > 0 {
		// text + image...: the non-text elements follow as their own message (the API dropped
		// the original, so nothing else delivers them)
		e.Body = body
		e.Delivered = s.sendMsg(ctx, s.st.Customer, "", body, false) && e.Delivered
	}
	s.st.Step++
	e.Seq, e.At = s.st.Step, s.now(ctx)
	s.appendEntry(e)
}

// isCommand: the first word is a slash and letters only ("/close"); "/orders/42 ..." is text.
func isCommand(text string) bool {
	first, _, _ := strings.Cut(text, " ")
	if len(first) < 2 || first[0] != '/' {
		return false
	}
	for _, r := range first[1:] {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// command runs an agent slash command: /close, /transfer <agentID>, /ai.
func (s *consultation) command(ctx workflow.Context, from, text string) {
	fields := strings.Fields(text)
	s.st.Step++
	s.appendEntry(TranscriptEntry{Seq: s.st.Step, At: s.now(ctx), Role: "agent", Sender: from, Text: text, Delivered: true})
	switch strings.ToLower(fields[0]) {
	case "/close":
		s.acceptClose(CloseRequest{Reason: "agent_closed", By: from})
	case "/transfer":
		if len(fields) < 2 || fields[1] == s.st.Agent {
			s.agentNotice(ctx, from, s.st.AgentLanguage, "transfer_invalid", "usage: /transfer <agentID> (another agent)")
			return
		}
		s.route(ctx, "transfer", fields[1])
	case "/ai":
		s.unassign()
		s.st.Owner, s.st.Status, s.st.Phase = OwnerAI, desk.StatusAI, PhaseAI
		s.st.ClarifyCount, s.st.Summary, s.st.Unavailable = 0, "", 0
		s.st.Notified["connecting"] = false
		s.st.LastRouting = &RoutingDecision{Trigger: "agent_command", Decision: "ai", Agent: "", Reason: from + " returned the consultation to the AI", At: s.now(ctx)}
		s.syncSearchAttributes(ctx)
		s.resetIdle(ctx)
		s.agentNotice(ctx, from, "", "returned_to_ai")
		s.notice(ctx, "back_to_ai")
	default:
		s.agentNotice(ctx, from, s.st.AgentLanguage, "unknown_command", fields[0])
	}
}

// ---- close ----

func (s *consultation) close(ctx workflow.Context, req CloseRequest) (ConsultationResult, error) {
	s.st.Phase = PhaseClosed
	goodbye := "goodbye"
	if req.Reason == reasonInactivity {
		goodbye = "goodbye_inactive"
	}
	s.notice(ctx, goodbye)
	prompted := false
	if s.st.Policy.RatingPrompt && !s.st.RatingAsked {
		s.st.RatingAsked, prompted = true, true
		s.notice(ctx, "rating")
	}
	if s.st.Agent != "" && req.By != s.st.Agent {
		s.agentNotice(ctx, s.st.Agent, s.st.AgentLanguage, "closed_agent", req.Reason)
	}
	s.st.Status, s.st.ClosedBy, s.st.CloseNote = desk.StatusClosed, req.By, req.Reason
	s.st.AcceptDeadline, s.st.ReplyDeadline, s.st.ShiftWaitUntil, s.st.RetryRouteAt, s.st.IdleDeadline = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	s.syncSearchAttributes(ctx)

	// Wait a little for the rating: a reply of 1-5 is recorded, anything else starts the
	// customer's next consultation below.
	if prompted {
		s.st.RatingUntil = s.now(ctx).Add(s.st.Policy.RatingWindow)
		if _, err := workflow.AwaitWithTimeout(ctx, s.st.Policy.RatingWindow, func() bool { return len(s.inbox) > 0 }); err != nil {
			return ConsultationResult{}, err
		}
		s.st.RatingUntil = time.Time{}
		if len(s.inbox) > 0 {
			if r := parseRating(s.inbox[0].text()); r > 0 {
				m := s.inbox[0]
				s.inbox = s.inbox[1:]
				s.st.Rating = r
				s.st.Step++
				s.appendEntry(TranscriptEntry{Seq: s.st.Step, At: s.now(ctx), Role: "customer", Sender: m.From, MsgKey: m.MsgKey, Text: m.text(), Delivered: true})
				s.notice(ctx, "rating_thanks")
			}
		}
	}

	// Messages that arrive while closing start the customer's next consultation.
	s.drainSignals(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return ConsultationResult{}, err
	}
	s.drainSignals(ctx)
	if len(s.inbox) > 0 {
		workflow.GetLogger(ctx).Info("messages arrived while closing; starting a new consultation", "pending", len(s.inbox))
		next := s.in
		next.Carry = &CarryOver{Pending: s.inbox, State: ConsultationState{
			Customer: s.st.Customer, ServiceAccount: s.st.ServiceAccount, Owner: OwnerAI, Status: desk.StatusAI,
			Phase: PhaseAI, StartedAt: s.now(ctx), FirstRunID: workflow.GetInfo(ctx).WorkflowExecution.RunID, Runs: 0,
			// Step goes on from this consultation's: send keys (workflow ID/FirstRunID/Step) must
			// not repeat this consultation's when this run is also its first run (FirstRunID).
			Step: s.st.Step,
			Seen: s.st.Seen, Notified: map[string]bool{}, Language: s.st.Language,
		}}
		return ConsultationResult{}, workflow.NewContinueAsNewError(ctx, ConsultationWorkflow, next)
	}
	return ConsultationResult{Customer: s.st.Customer, Reason: req.Reason, ClosedBy: req.By, Steps: s.st.Step, ClosedAt: s.now(ctx), Rating: s.st.Rating}, nil
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

// languageEvidence weighs how much text there is to tell a language by (CJK characters count
// three times, since they carry more).
func languageEvidence(text string) int {
	n := 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r):
			n += 3
		case unicode.IsLetter(r):
			n++
		}
	}
	return n
}

// ---- sending and translating ----

// translate runs the Translate activity; translation off or a failure returns the original
// text with that status.
func (s *consultation) translate(ctx workflow.Context, text, source, target string) activities.TranslateResult {
	if !s.st.Policy.TranslationEnabled {
		return activities.TranslateResult{Text: text, Source: source, Target: target, Status: activities.TranslationOff}
	}
	if target == "" || (source != "" && source == target) {
		return activities.TranslateResult{Text: text, Source: source, Target: target, Status: activities.TranslationSame}
	}
	var res activities.TranslateResult
	err := workflow.ExecuteActivity(activityCtx(ctx, 20*time.Second, time.Minute, 3), llm.Translate,
		activities.TranslateInput{Text: text, Source: source, Target: target}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Warn("translate failed; delivering the original", "error", err)
		return activities.TranslateResult{Text: text, Source: source, Target: target, Status: activities.TranslationFailed}
	}
	return res
}

// sendTo sends text From=service account (or From=customer when relay) and reports success.
func (s *consultation) sendTo(ctx workflow.Context, to, text string, relay bool) bool {
	return s.sendMsg(ctx, to, text, nil, relay)
}

// sendMsg sends text, or body as is when set (non-text messages).
func (s *consultation) sendMsg(ctx workflow.Context, to, text string, body tim.MsgBody, relay bool) bool {
	return s.sendCloud(ctx, to, text, body, relay, "")
}

// sendCloud is sendMsg with the message's CloudCustomData (see cloudNotice, cloudTranslation).
func (s *consultation) sendCloud(ctx workflow.Context, to, text string, body tim.MsgBody, relay bool, cloud string) bool {
	s.st.Step++
	if text != "" {
		text = fitText(text) // Tencent refuses longer messages for good
	}
	in := activities.SendInput{
		Key:  fmt.Sprintf("%s/%s/%d", s.workflowID, s.st.FirstRunID, s.st.Step),
		From: s.st.ServiceAccount, To: to, Text: text, Relay: relay, Body: body, CloudCustomData: cloud,
	}
	if relay {
		in.From = s.st.Customer
	}
	ao := workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), im.Send, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("send failed", "to", to, "relay", relay, "error", err)
		return false
	}
	return true
}

// relay sends customer entries to the current agent in the agent's language; an entry's non-text
// elements (Body) follow its text as a message of their own, forwarded as they came.
func (s *consultation) relay(ctx workflow.Context, entries []TranscriptEntry) bool {
	ok := true
	for _, e := range entries {
		forward := len(e.Body) > 0
		if e.Text != "" || !forward {
			ok = s.relayText(ctx, e) && ok
		}
		if forward {
			ok = s.sendMsg(ctx, s.st.Agent, "", e.Body, true) && ok
		}
	}
	return ok
}

// relayText relays the text of a customer entry, translated to the agent's language (a
// placeholder when the entry has no text).
func (s *consultation) relayText(ctx workflow.Context, e TranscriptEntry) bool {
	text := e.Text
	if text == "" {
		text = agentNoticeMark + "(non-text message)"
	} else if e.Language != "" && e.Language != s.st.AgentLanguage {
		// translation + original when that fits one message, else the translation alone
		if e.TranslatedTo == s.st.AgentLanguage && e.Translated != "" {
			text = fitText(e.Translated+"\n("+e.Language+": "+e.Text+")", e.Translated)
		} else {
			tr := s.translate(ctx, e.Text, e.Language, s.st.AgentLanguage)
			switch tr.Status {
			case activities.TranslationTranslated:
				text = fitText(tr.Text+"\n("+e.Language+": "+e.Text+")", tr.Text)
			case activities.TranslationFailed:
				text = fitText(untranslatedMark+e.Text, e.Text)
			}
		}
	}
	return s.sendTo(ctx, s.st.Agent, text, true)
}

// notice sends a fixed text to the customer in the customer's language.
func (s *consultation) notice(ctx workflow.Context, key string, args ...any) {
	text, lang := noticeText(key, s.st.Language, args...)
	if s.st.Language != "" && lang != s.st.Language {
		text = s.translate(ctx, text, lang, s.st.Language).Text
	}
	e := TranscriptEntry{Role: "system", Sender: s.st.ServiceAccount, Text: text, Language: lang}
	e.Delivered = s.sendCloud(ctx, s.st.Customer, text, nil, false, cloudNotice(key))
	s.st.Step++
	e.Seq, e.At = s.st.Step, s.now(ctx)
	s.appendEntry(e)
}

// agentNotice sends a fixed text to an agent in the customer thread (relay, prefixed [timdesk]).
func (s *consultation) agentNotice(ctx workflow.Context, agent, lang, key string, args ...any) {
	if agent == "" {
		return
	}
	text, tl := noticeText(key, lang, args...)
	if lang != "" && tl != lang {
		text = s.translate(ctx, text, tl, lang).Text
	}
	s.sendTo(ctx, agent, agentNoticeMark+text, true)
}

func (s *consultation) appendEntry(e TranscriptEntry) {
	s.st.Transcript = append(s.st.Transcript, e)
	if n := len(s.st.Transcript); n > maxTranscript {
		s.st.TranscriptDropped += n - maxTranscript
		s.st.Transcript = slices.Clone(s.st.Transcript[n-maxTranscript:])
	}
	trimBodies(s.st.Transcript)
	trimTexts(s.st.Transcript)
}

func (s *consultation) markDelivered(seq int) {
	for i := range s.st.Transcript {
		if s.st.Transcript[i].Seq == seq {
			s.st.Transcript[i].Delivered = true
		}
	}
}
