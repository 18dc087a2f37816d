package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
)

// handleAgentMessage handles a message the owning agent sent (the API dropped the original): the
// first one accepts the consultation; a slash command runs; text goes to the customer translated,
// non-text elements as they came.
func (s *consultation) handleAgentMessage(ctx workflow.Context, m InboundMessage) {
	text := strings.TrimSpace(m.text())
	count(ctx, MetricMessages, map[string]string{"role": "agent"})
	if !s.st.Accepted && s.st.Agent == m.From {
		if !s.st.HandoffAt.IsZero() {
			observe(ctx, MetricFirstHumanReply, s.now(ctx).Sub(s.st.HandoffAt))
			s.st.HandoffAt = time.Time{}
		}
		s.st.Accepted = true
		s.st.AcceptDeadline = time.Time{}
		s.st.setPhase(PhaseWithAgent)
	}
	s.st.ReplyDeadline, s.st.ReplyNudged = time.Time{}, false
	s.st.QueueIdleBy, s.st.ShiftGrace = time.Time{}, time.Time{} // counted afresh from this message
	s.resetIdle(ctx)
	switch {
	case isCommand(text):
		s.command(ctx, m.From, text)
	case text != "":
		s.sendAgentText(ctx, m, text)
	case len(m.Body) > 0: // an image, file...: forwarded as is
		e := TranscriptEntry{Role: "agent", Sender: m.From, MsgKey: m.MsgKey, Text: "(non-text message)", Body: nonText(m.Body)}
		e.Delivered = s.sendMsg(ctx, s.st.Customer, "", m.Body, false)
		s.st.Step++
		e.Seq, e.At = s.st.Step, s.now(ctx)
		s.appendEntry(e)
	}
}

// sendAgentText sends an agent's text to the customer in the customer's language (the original,
// marked, when translation fails; a translated reply carries its original in CloudCustomData),
// then the message's non-text elements as their own message.
func (s *consultation) sendAgentText(ctx workflow.Context, m InboundMessage, text string) {
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
	if body := nonText(m.Body); len(body) > 0 {
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
		s.returnToAI(ctx, from)
	default:
		s.agentNotice(ctx, from, s.st.AgentLanguage, "unknown_command", fields[0])
	}
}

// returnToAI gives the consultation back to the AI (/ai), telling the agent and the customer.
func (s *consultation) returnToAI(ctx workflow.Context, from string) {
	freed := s.st.Agent
	s.unassign()
	s.st.setPhase(PhaseAI)
	s.st.ClarifyCount, s.st.Summary, s.st.Unavailable = 0, "", 0
	s.st.HandoffAt = time.Time{}
	s.st.Notified["connecting"] = false
	s.st.LastRouting = &RoutingDecision{Trigger: "agent_command", Decision: "ai", Agent: "", Reason: from + " returned the consultation to the AI", At: s.now(ctx)}
	s.syncSearchAttributes(ctx)
	s.resetIdle(ctx)
	s.agentNotice(ctx, from, "", "returned_to_ai")
	s.notice(ctx, "back_to_ai")
	if freed != "" {
		s.freeSlot(ctx, freed, "returned_to_ai")
	}
}
