package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sashabaranov/go-openai"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
)

// DefaultLLMModel is the chat model used when TIMDESK_LLM_MODEL is empty.
const DefaultLLMModel = "gpt-4o-mini"

// Translation statuses (TranslateResult.Status and the workflow's transcript).
const (
	TranslationTranslated = "translated" // Text is the translation
	TranslationSame       = "same"       // source and target agree; Text is the original
	TranslationOff        = "off"        // no LLM configured; Text is the original
	TranslationFailed     = "failed"     // the LLM failed; Text is the original
)

// Answer actions (AnswerResult.Action).
const (
	ActionAnswer  = "answer"
	ActionClarify = "clarify"
	ActionHandoff = "handoff"
)

// LLMConfig configures the OpenAI-compatible chat-completions endpoint. The LLM counts as
// configured when BaseURL or APIKey is set; HTTPClient defaults to one with a 60 s timeout.
type LLMConfig struct {
	BaseURL    string
	APIKey     string
	Model      string
	HTTPClient *http.Client
}

// LLM answers and translates through an OpenAI-compatible endpoint, or, without one, answers
// from the FAQ alone and leaves translation off. Its methods are Temporal activities; go-openai
// never retries, Temporal does.
type LLM struct {
	client *openai.Client
	model  string
	faq    []FAQEntry
	// FAQThreshold is the offline answerer's minimum match score (default DefaultFAQThreshold).
	FAQThreshold float64
	// UserLanguage, when set, reads the desk's record of a user's language for DetectLanguage
	// (the worker wires Router.UserLanguage).
	UserLanguage func(ctx context.Context, userID string) (preferred, detected string)
}

// NewLLM builds the LLM activities; faq grounds the answers (and is the whole answerer offline).
func NewLLM(cfg LLMConfig, faq []FAQEntry) *LLM {
	l := &LLM{faq: faq, model: cfg.Model, FAQThreshold: DefaultFAQThreshold}
	if l.model == "" {
		l.model = DefaultLLMModel
	}
	if cfg.BaseURL == "" && cfg.APIKey == "" {
		return l
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	if cfg.HTTPClient != nil {
		oc.HTTPClient = cfg.HTTPClient
	} else {
		oc.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	l.client = openai.NewClientWithConfig(oc)
	return l
}

// Enabled reports whether an LLM is configured (otherwise: offline FAQ, translation off).
func (l *LLM) Enabled() bool { return l != nil && l.client != nil }

// TranslateInput asks for Text in Target; Source may be empty (detected).
type TranslateInput struct {
	Text   string `json:"text"`
	Target string `json:"target"`
	Source string `json:"source,omitempty"`
}

// TranslateResult is the translation (or the original, see Status).
type TranslateResult struct {
	Text   string `json:"text"`
	Source string `json:"source,omitempty"`
	Target string `json:"target"`
	Status string `json:"status"`
}

// Translate translates one text with one chat completion: the text is the last user message and
// the reply's content is the translation only. No LLM → Status "off" with the original text. On
// error it returns the original text with Status "failed" and the classified error.
func (l *LLM) Translate(ctx context.Context, in TranslateInput) (TranslateResult, error) {
	target := desk.NormalizeLanguage(in.Target)
	source := desk.NormalizeLanguage(in.Source)
	if source == "" {
		source = desk.DetectLanguage(in.Text)
	}
	res := TranslateResult{Text: in.Text, Source: source, Target: target}
	switch {
	case !l.Enabled():
		res.Status = TranslationOff
		return res, nil
	case strings.TrimSpace(in.Text) == "" || target == "" || source == target:
		res.Status = TranslationSame
		return res, nil
	}
	from := "the source language (detect it)"
	if source != "" {
		from = desk.LanguageName(source)
	}
	req := openai.ChatCompletionRequest{
		Model:       l.model,
		Temperature: 0,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: fmt.Sprintf(
				"You are a translation engine for a customer-service chat. Translate the user's message from %s into %s. "+
					"Reply with the translation only: no quotes, notes, explanations or greetings. Keep names, numbers, URLs and emoji.",
				from, desk.LanguageName(target))},
			{Role: openai.ChatMessageRoleUser, Content: in.Text},
		},
	}
	resp, err := l.client.CreateChatCompletion(ctx, req)
	if err != nil {
		res.Status = TranslationFailed
		return res, classifyLLM("translate", err)
	}
	if len(resp.Choices) == 0 || strings.TrimSpace(resp.Choices[0].Message.Content) == "" {
		res.Status = TranslationFailed
		return res, fmt.Errorf("translate: empty reply")
	}
	res.Text = strings.TrimSpace(resp.Choices[0].Message.Content)
	res.Status = TranslationTranslated
	return res, nil
}

// DetectInput is the text whose language is wanted.
type DetectInput struct {
	Text string `json:"text"`
	// UserID, when set, is the writer: the desk's record of their language (LLM.UserLanguage)
	// comes first when set through the admin API, and decides when the text alone cannot.
	UserID string `json:"userID,omitempty"`
}

// DetectResult is an ISO 639-1 code ("" when unknown) and how it was found: "preference" (set
// through the admin API), "script" (the text: desk.DetectLanguage), "desk" (what the user was
// last detected writing, the text alone could not tell), "llm" or "none".
type DetectResult struct {
	Language string `json:"language"`
	Method   string `json:"method"`
}

// DetectLanguage tries the script heuristics first and asks the LLM only when they cannot tell.
func (l *LLM) DetectLanguage(ctx context.Context, in DetectInput) (DetectResult, error) {
	var detected string
	if in.UserID != "" && l.UserLanguage != nil {
		preferred, seen := l.UserLanguage(ctx, in.UserID)
		if preferred != "" {
			return DetectResult{Language: preferred, Method: "preference"}, nil
		}
		detected = seen
	}
	if lang := desk.DetectLanguage(in.Text); lang != "" {
		return DetectResult{Language: lang, Method: "script"}, nil
	}
	if detected != "" {
		return DetectResult{Language: detected, Method: "desk"}, nil
	}
	if !l.Enabled() || strings.TrimSpace(in.Text) == "" {
		return DetectResult{Method: "none"}, nil
	}
	resp, err := l.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model:       l.model,
		Temperature: 0,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "Identify the language of the user's message. Reply with its ISO 639-1 code only (for example en, fr, de, es), or und if you cannot tell."},
			{Role: openai.ChatMessageRoleUser, Content: in.Text},
		},
	})
	if err != nil {
		return DetectResult{}, classifyLLM("detect language", err)
	}
	if len(resp.Choices) == 0 {
		return DetectResult{Method: "none"}, nil
	}
	code := languageCode(resp.Choices[0].Message.Content)
	if code == "" {
		return DetectResult{Method: "none"}, nil
	}
	return DetectResult{Language: code, Method: "llm"}, nil
}

// Turn is one transcript line given to the answerer.
type Turn struct {
	Role string `json:"role"` // "customer", "assistant" (AI or system notices) or "agent"
	Text string `json:"text"`
}

// AnswerInput is the conversation so far; Text is the latest customer message (also last in
// Transcript or not, either works) and Language the customer's language.
type AnswerInput struct {
	Text       string `json:"text"`
	Language   string `json:"language,omitempty"`
	Transcript []Turn `json:"transcript,omitempty"`
}

// AnswerResult is the answerer's decision.
type AnswerResult struct {
	Action     string  `json:"action"` // answer | clarify | handoff
	Answer     string  `json:"answer,omitempty"`
	Confidence float64 `json:"confidence"`
	Reason     string  `json:"reason,omitempty"`
	Summary    string  `json:"summary,omitempty"`
	Source     string  `json:"source"` // "llm" or "faq"
}

// Answer asks the model for {"action","answer","confidence","reason","summary"} with
// response_format json_object, grounded in the FAQ and the transcript. Without an LLM it matches
// the FAQ: above FAQThreshold it answers, below it hands off (reason "no_faq_match").
func (l *LLM) Answer(ctx context.Context, in AnswerInput) (AnswerResult, error) {
	if strings.TrimSpace(in.Text) == "" {
		return AnswerResult{}, temporal.NewNonRetryableApplicationError("answer: empty text", ErrTypeBadInput, nil)
	}
	if !l.Enabled() {
		return l.answerOffline(in), nil
	}
	lang := "the customer's language"
	if in.Language != "" {
		lang = desk.LanguageName(in.Language)
	}
	system := "You are the first-line customer-service assistant. Answer only from the FAQ below and the conversation; " +
		"never invent policies, prices or order details. Reply with a JSON object only: " +
		`{"action":"answer|clarify|handoff","answer":"text for the customer","confidence":0.0-1.0,"reason":"short reason","summary":"one-paragraph summary for a human agent"}. ` +
		"Use answer when the FAQ covers the question, clarify when one short question would let you answer, handoff when the customer wants a human, " +
		"is upset, or the FAQ does not cover it. Write answer in " + lang + ". Write summary in English.\n\nFAQ:\n" + l.faqText()
	var out AnswerResult
	if err := l.chatJSON(ctx, "answer", system, in.Transcript, in.Text, &out); err != nil {
		return AnswerResult{}, err
	}
	out.normalize()
	return out, nil
}

// faqText is the FAQ as the prompts list it: "1. Q: a / b\n   A: answer".
func (l *LLM) faqText() string {
	var faq strings.Builder
	for i, e := range l.faq {
		fmt.Fprintf(&faq, "%d. Q: %s\n   A: %s\n", i+1, strings.Join(e.Q, " / "), e.A)
	}
	return faq.String()
}

// chatJSON asks the model for one JSON object (system prompt, then the transcript ending with
// text) and decodes it into out. op ("answer", "reply") names the call in errors; a reply that is
// not the JSON asked for is ErrTypeLLMBadReply (retried).
func (l *LLM) chatJSON(ctx context.Context, op, system string, transcript []Turn, text string, out any) error {
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: system}}
	for _, t := range transcript {
		role := openai.ChatMessageRoleUser
		if t.Role != "customer" {
			role = openai.ChatMessageRoleAssistant
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: role, Content: t.Text})
	}
	if n := len(transcript); n == 0 || transcript[n-1].Role != "customer" || transcript[n-1].Text != text {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: text})
	}
	resp, err := l.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model:          l.model,
		Temperature:    0.2,
		Messages:       msgs,
		ResponseFormat: &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject},
	})
	if err != nil {
		return classifyLLM(op, err)
	}
	if len(resp.Choices) == 0 {
		return fmt.Errorf("%s: empty reply", op)
	}
	content := strings.TrimSpace(resp.Choices[0].Message.Content)
	content = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(content, "```json"), "```"), "```")
	if err := json.Unmarshal([]byte(content), out); err != nil {
		activity.GetLogger(ctx).Warn("model reply is not json", "op", op, "error", err)
		return temporal.NewApplicationError(op+": model reply is not the JSON asked for", ErrTypeLLMBadReply)
	}
	return nil
}

// normalize marks a model decision as the LLM's and keeps it within the contract: a known
// action (anything else hands off), a non-empty answer for answer/clarify, confidence in [0, 1].
func (r *AnswerResult) normalize() {
	r.Source = "llm"
	r.Action = strings.ToLower(strings.TrimSpace(r.Action))
	switch r.Action {
	case ActionAnswer, ActionClarify:
		if strings.TrimSpace(r.Answer) == "" {
			r.Action, r.Reason = ActionHandoff, "empty_answer"
		}
	case ActionHandoff:
	default:
		r.Action, r.Reason = ActionHandoff, "unknown_action"
	}
	r.Confidence = min(max(r.Confidence, 0), 1)
}

func (l *LLM) answerOffline(in AnswerInput) AnswerResult {
	summary := "Customer asked: " + in.Text
	entry, score := MatchFAQ(l.faq, in.Text)
	threshold := l.FAQThreshold
	if threshold <= 0 {
		threshold = DefaultFAQThreshold
	}
	if score >= threshold {
		return AnswerResult{Action: ActionAnswer, Answer: entry.A, Confidence: score, Reason: "faq_match", Summary: summary, Source: "faq"}
	}
	return AnswerResult{Action: ActionHandoff, Confidence: score, Reason: "no_faq_match", Summary: summary, Source: "faq"}
}
