package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/desk"
)

// ReplyInput is one customer message while the AI owns the consultation: Text is the message,
// Language the customer's language so far ("" unknown), DeskLanguage the language the transcript
// is translated into for agents ("" no translation), Transcript the conversation before it.
type ReplyInput struct {
	Text string `json:"text"`
	// UserID, when set, is the customer: the desk's record of their language (LLM.UserLanguage) —
	// a preference set through the admin API wins, what they last wrote decides when the script
	// cannot — as for DetectLanguage.
	UserID       string `json:"userID,omitempty"`
	Language     string `json:"language,omitempty"`
	DeskLanguage string `json:"deskLanguage,omitempty"`
	Transcript   []Turn `json:"transcript,omitempty"`
}

// ReplyResult is everything the AI's turn needs from one model call: the message's language,
// its translation into the desk language (TranslationStatus as in TranslateResult) and the
// answerer's decision.
type ReplyResult struct {
	AnswerResult
	Language          string `json:"language,omitempty"`
	Translated        string `json:"translated,omitempty"`
	TranslationStatus string `json:"translationStatus"`
}

// Reply answers a customer message with one chat completion (response_format json_object) that
// returns the message's language, its translation into the desk language and the decision
// {"action","answer","confidence","reason","summary"}, grounded in the FAQ and the transcript:
// one model call per customer message instead of one each for language, translation and answer.
// The language is the customer's preference recorded by the desk, else the script's
// (desk.DetectLanguage), else the desk's record of what they last wrote, else the model's guess.
// Without an LLM: that language, translation off, and the offline FAQ answerer.
func (l *LLM) Reply(ctx context.Context, in ReplyInput) (ReplyResult, error) {
	if strings.TrimSpace(in.Text) == "" {
		return ReplyResult{}, temporal.NewNonRetryableApplicationError("reply: empty text", ErrTypeBadInput, nil)
	}
	script := desk.DetectLanguage(in.Text)
	if in.UserID != "" && l.UserLanguage != nil {
		switch preferred, seen := l.UserLanguage(ctx, in.UserID); {
		case preferred != "":
			script = preferred
		case script == "":
			script = seen
		}
	}
	deskLang := desk.NormalizeLanguage(in.DeskLanguage)
	if !l.Enabled() {
		return ReplyResult{AnswerResult: l.answerOffline(AnswerInput{Text: in.Text}), Language: script, TranslationStatus: TranslationOff}, nil
	}
	lang := "the language of the customer's latest message"
	if script != "" {
		lang = desk.LanguageName(script)
	}
	translation := `"translation":""`
	translateRule := "Leave translation empty."
	if deskLang != "" {
		translation = `"translation":"the customer's latest message translated into ` + desk.LanguageName(deskLang) + `"`
		translateRule = "Translate the customer's latest message into " + desk.LanguageName(deskLang) +
			" for the human agents (leave it empty when it is already in " + desk.LanguageName(deskLang) + ")."
	}
	system := "You are the first-line customer-service assistant. Answer only from the FAQ below and the conversation; " +
		"never invent policies, prices or order details. Reply with a JSON object only: " +
		`{"language":"ISO 639-1 code of the customer's latest message",` + translation +
		`,"action":"answer|clarify|handoff","answer":"text for the customer","confidence":0.0-1.0,"reason":"short reason","summary":"one-paragraph summary for a human agent"}. ` +
		"Use answer when the FAQ covers the question, clarify when one short question would let you answer, handoff when the customer wants a human, " +
		"is upset, or the FAQ does not cover it. Write answer in " + lang + ". Write summary in English. " + translateRule +
		"\n\nFAQ:\n" + l.faqText()
	var raw struct {
		AnswerResult
		Language    string `json:"language"`
		Translation string `json:"translation"`
	}
	if err := l.chatJSON(ctx, "reply", system, in.Transcript, in.Text, &raw); err != nil {
		return ReplyResult{}, err
	}
	out := ReplyResult{AnswerResult: raw.AnswerResult, Language: script}
	if out.Language == "" {
		out.Language = languageCode(raw.Language)
	}
	out.normalize()
	translated := strings.TrimSpace(raw.Translation)
	switch {
	case deskLang == "":
		out.TranslationStatus = TranslationOff
	case out.Language == deskLang:
		out.TranslationStatus = TranslationSame
	case translated != "" && translated != strings.TrimSpace(in.Text):
		out.Translated, out.TranslationStatus = translated, TranslationTranslated
	case out.Language == "":
		out.TranslationStatus = TranslationSame // unknown language the model left as it is
	default:
		out.TranslationStatus = TranslationFailed
	}
	return out, nil
}

// languageCode is a model's ISO 639-1 answer normalised, or "" when it is not one.
func languageCode(s string) string {
	code := desk.NormalizeLanguage(strings.Trim(s, " \t\n\"'."))
	if len(code) < 2 || len(code) > 3 || strings.ContainsFunc(code, func(r rune) bool { return r < 'a' || r > 'z' }) || code == "und" {
		return ""
	}
	return code
}
