package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/timdesk/timdesk/activities"
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
	// maxHandoffReason bounds the model's hand-off reason kept in the state (runes).
	maxHandoffReason = 200
	untranslatedMark = "[untranslated] "
	agentNoticeMark  = "[timdesk] "
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

// localCtx runs local activities (short steps whose result lands in the same workflow task as
// one marker event): at most 3 attempts of startToClose within scheduleToClose.
func localCtx(ctx workflow.Context, startToClose, scheduleToClose time.Duration) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    startToClose,
		ScheduleToCloseTimeout: scheduleToClose,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 3, NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
}

// withLocalOptions: quick reads (Policy, from the worker's desk cache), run as local activities.
func withLocalOptions(ctx workflow.Context) workflow.Context {
	return localCtx(ctx, 10*time.Second, time.Minute)
}

func (s *consultation) now(ctx workflow.Context) time.Time { return workflow.Now(ctx).UTC() }

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
		Since: s.since,
	}
	if in.Since.IsZero() {
		in.Since = s.now(ctx)
	}
	if relay {
		in.From = s.st.Customer
	}
	// A local activity: one marker event instead of three activity events and a workflow task
	// more. Exactly once stays: the key fixes MsgSeq/MsgRandom (Tencent drops a resend within
	// 120 s), and Since makes a run repeated later (a crashed worker's task) look in the
	// recipient's history before sending again.
	lao := workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, lao), im.Send, in).Get(ctx, nil); err != nil {
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
