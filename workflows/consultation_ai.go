package workflows

import (
	"strings"
	"time"
	"unicode"

	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
)

// handleCustomerMessage records a customer message (language, translation for the desk) and
// hands it to the owner: the AI answers, the queue keeps it for the agent, an agent gets it relayed.
// While the AI owns the consultation and will answer, one Reply call (a local activity) brings the
// language, the translation for the transcript and the decision: one model call per message.
func (s *consultation) handleCustomerMessage(ctx workflow.Context, m InboundMessage) {
	count(ctx, MetricMessages, map[string]string{"role": "customer"})
	text := strings.TrimSpace(m.text())
	var reply *activities.ReplyResult
	var replyErr error
	if s.st.Owner == OwnerAI && text != "" && attachments(nonText(m.Body)) == "" && !s.wantsHuman(text) {
		reply, replyErr = s.reply(ctx, text)
	}
	e := s.customerEntry(ctx, m, reply)
	s.appendEntry(e)
	s.st.QueueIdleBy, s.st.ShiftGrace = time.Time{}, time.Time{} // counted afresh from this message
	s.resetIdle(ctx)
	switch s.st.Owner {
	case OwnerAI:
		s.aiTurn(ctx, e, reply, replyErr)
	case OwnerQueue:
		// kept in the transcript; relayed to the agent on assignment
	case OwnerAgent:
		s.relayLive(ctx, m, e)
	}
}

// customerEntry is the transcript entry of a customer message: its language and, for the desk,
// its translation — from reply when the AI answered it, else the script's language (a pure
// function, run here) and the Translate activity.
func (s *consultation) customerEntry(ctx workflow.Context, m InboundMessage, reply *activities.ReplyResult) TranscriptEntry {
	text := strings.TrimSpace(m.text())
	s.st.Step++
	e := TranscriptEntry{Seq: s.st.Step, At: s.now(ctx), Role: "customer", Sender: m.From, MsgKey: m.MsgKey, Text: text, Body: nonText(m.Body)}
	if text == "" {
		return e
	}
	lang := s.language(ctx, text, reply)
	// a short "ok" must not switch a Chinese customer to English
	if lang != "" && (s.st.Language == "" || languageEvidence(text) >= 6) {
		s.st.Language = lang
	}
	e.Language = lang
	deskLang := s.st.Policy.DeskLanguage
	switch {
	case !s.st.Policy.TranslationEnabled:
		e.TranslationStatus = activities.TranslationOff
	case lang == "" || lang == deskLang:
		e.TranslationStatus = activities.TranslationSame
	case reply != nil:
		e.TranslationStatus = reply.TranslationStatus
		if reply.TranslationStatus == activities.TranslationTranslated {
			e.Translated, e.TranslatedTo = reply.Translated, deskLang
		}
	default:
		tr := s.translate(ctx, text, lang, deskLang)
		e.TranslationStatus = tr.Status
		if tr.Status == activities.TranslationTranslated {
			e.Translated, e.TranslatedTo = tr.Text, deskLang
		}
	}
	return e
}

// language is the language of a customer's text: the Reply's when the AI answered it, else the
// DetectLanguage local activity's (the customer's preference recorded by the desk, the script,
// the desk's record of what they last wrote, the LLM for Latin-script text), read through the
// worker's desk cache.
func (s *consultation) language(ctx workflow.Context, text string, reply *activities.ReplyResult) string {
	if reply != nil {
		return reply.Language
	}
	var d activities.DetectResult
	if err := workflow.ExecuteLocalActivity(localCtx(ctx, 15*time.Second, time.Minute), llm.DetectLanguage,
		activities.DetectInput{Text: text, UserID: s.st.Customer}).Get(ctx, &d); err != nil {
		workflow.GetLogger(ctx).Warn("detect language failed", "error", err)
	}
	return d.Language
}

// reply runs the Reply activity locally: one model call or an FAQ lookup, recorded as one marker
// in the same workflow task instead of three activity events and a task more.
func (s *consultation) reply(ctx workflow.Context, text string) (*activities.ReplyResult, error) {
	deskLang := ""
	if s.st.Policy.TranslationEnabled {
		deskLang = s.st.Policy.DeskLanguage
	}
	var res activities.ReplyResult
	if err := workflow.ExecuteLocalActivity(localCtx(ctx, 30*time.Second, 90*time.Second), llm.Reply, activities.ReplyInput{
		Text: text, UserID: s.st.Customer, Language: s.st.Language, DeskLanguage: deskLang, Transcript: s.turns(),
	}).Get(ctx, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// relayLive relays a customer message to the agent who has the consultation (a non-text message
// as it came) and, once the agent has accepted, starts the reply deadline.
func (s *consultation) relayLive(ctx workflow.Context, m InboundMessage, e TranscriptEntry) {
	var ok bool
	if e.Text == "" && len(m.Body) > 0 {
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

// aiTurn lets the AI handle a customer message: what it cannot read goes to a person (or, for
// non-text elements that are no attachment, gets a notice); otherwise the answerer's decision
// (reply, or replyErr when the Reply activity failed) is carried out.
func (s *consultation) aiTurn(ctx workflow.Context, e TranscriptEntry, reply *activities.ReplyResult, replyErr error) {
	if s.aiCannotRead(ctx, e) {
		return
	}
	if reply == nil {
		workflow.GetLogger(ctx).Warn("answer failed; handing off", "error", replyErr)
		s.handoff(ctx, HandoffAIUnavailable, "", "The AI assistant is unavailable. The customer wrote: "+e.Text)
		return
	}
	res := reply.AnswerResult
	if res.Summary != "" {
		s.st.Summary = res.Summary
	}
	if s.applyAnswer(ctx, res) {
		s.markDelivered(e.Seq)
	}
}

// aiCannotRead handles, and reports, a message the AI must not answer: no text (a notice), an
// explicit request for a human, or an attachment (image, file, voice, video) — both hand off.
func (s *consultation) aiCannotRead(ctx workflow.Context, e TranscriptEntry) bool {
	attachment := attachments(e.Body)
	switch {
	case e.Text == "" && attachment == "":
		s.notice(ctx, "text_only")
	case e.Text != "" && s.wantsHuman(e.Text):
		s.handoff(ctx, HandoffCustomerRequested, "", "The customer asked for a human: "+e.Text)
	case attachment != "":
		summary := "The customer sent " + attachment + " the AI cannot read"
		if e.Text != "" {
			summary += ", with: " + e.Text
		}
		s.handoff(ctx, HandoffAttachment, "", summary)
	default:
		return false
	}
	return true
}

// applyAnswer carries out the answerer's decision: answer (unless below MinConfidence), clarify
// (at most MaxClarify times in a row), or hand off. It reports whether the customer's message
// counts as answered (false when a weak answer or too many questions hand off instead).
func (s *consultation) applyAnswer(ctx workflow.Context, res activities.AnswerResult) bool {
	switch res.Action {
	case activities.ActionAnswer:
		if res.Confidence < s.st.Policy.MinConfidence {
			s.handoff(ctx, HandoffLowConfidence, "", "")
			return false
		}
		s.st.ClarifyCount = 0
		s.replyAI(ctx, res)
	case activities.ActionClarify:
		s.st.ClarifyCount++
		if s.st.ClarifyCount > s.st.Policy.MaxClarify {
			s.handoff(ctx, HandoffRepeatedClarify, "", "")
			return false
		}
		s.replyAI(ctx, res)
	default:
		s.handoff(ctx, HandoffAIDecided, res.Reason, "")
	}
	return true
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
	count(ctx, MetricAIAnswers, map[string]string{"action": res.Action, "source": res.Source})
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
