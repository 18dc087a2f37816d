package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
)

func TestReply(t *testing.T) {
	cases := []struct {
		name    string
		model   string // the model's content
		in      ReplyInput
		want    ReplyResult
		errType string
	}{
		{"French: the model tells the language and translates",
			`{"language":"fr","translation":"How long does delivery take?","action":"answer","answer":"3 à 5 jours.","confidence":0.9,"reason":"faq","summary":"asks about shipping"}`,
			ReplyInput{Text: "Combien de temps prend la livraison ?", DeskLanguage: "en"},
			ReplyResult{AnswerResult: AnswerResult{Action: ActionAnswer, Answer: "3 à 5 jours.", Confidence: 0.9, Reason: "faq", Summary: "asks about shipping", Source: "llm"},
				Language: "fr", Translated: "How long does delivery take?", TranslationStatus: TranslationTranslated}, ""},
		{"the script wins over the model's language",
			`{"language":"ja","translation":"How long does shipping take","action":"answer","answer":"3-5 天。","confidence":0.8}`,
			ReplyInput{Text: "多久发货", DeskLanguage: "en"},
			ReplyResult{AnswerResult: AnswerResult{Action: ActionAnswer, Answer: "3-5 天。", Confidence: 0.8, Source: "llm"},
				Language: "zh", Translated: "How long does shipping take", TranslationStatus: TranslationTranslated}, ""},
		{"already in the desk language",
			`{"language":"en","translation":"","action":"clarify","answer":"Which order?","confidence":0.7}`,
			ReplyInput{Text: "where is my order", DeskLanguage: "en"},
			ReplyResult{AnswerResult: AnswerResult{Action: ActionClarify, Answer: "Which order?", Confidence: 0.7, Source: "llm"},
				Language: "en", TranslationStatus: TranslationSame}, ""},
		{"no translation given for a foreign message",
			`{"language":"de","action":"handoff","confidence":2}`,
			ReplyInput{Text: "Ich möchte mit einem Menschen sprechen", DeskLanguage: "en"},
			ReplyResult{AnswerResult: AnswerResult{Action: ActionHandoff, Confidence: 1, Source: "llm"},
				Language: "de", TranslationStatus: TranslationFailed}, ""},
		{"no desk language: translation off; empty answer hands off",
			`{"language":"fr","translation":"x","action":"answer","answer":" ","confidence":0.9}`,
			ReplyInput{Text: "Bonjour", DeskLanguage: ""},
			ReplyResult{AnswerResult: AnswerResult{Action: ActionHandoff, Answer: " ", Reason: "empty_answer", Confidence: 0.9, Source: "llm"},
				Language: "fr", TranslationStatus: TranslationOff}, ""},
		{"not JSON: retried error type", `Sure! Here is the answer.`, ReplyInput{Text: "hello", DeskLanguage: "en"}, ReplyResult{}, ErrTypeLLMBadReply},
		{"empty text: bad input", `{}`, ReplyInput{Text: "  "}, ReplyResult{}, ErrTypeBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, srv := newOpenAIFake(t, func(chatReq) (int, string) { return 200, c.model })
			l := NewLLM(LLMConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-test"}, demoFAQ)
			env := activityEnv()
			register(env, l)
			v, err := env.ExecuteActivity(l.Reply, c.in)
			if c.errType != "" {
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || appErr.Type() != c.errType {
					t.Fatalf("error %v, want type %s", err, c.errType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got ReplyResult
			if err := v.Get(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if f.count() != 1 {
				t.Errorf("%d model calls, want exactly 1", f.count())
			}
			req := f.last()
			if req.ResponseFormat == nil || req.ResponseFormat.Type != "json_object" {
				t.Errorf("response_format %+v, want json_object", req.ResponseFormat)
			}
			if n := len(req.Messages); req.Messages[n-1].Content != c.in.Text {
				t.Errorf("last message %q, want the customer's text", req.Messages[n-1].Content)
			}
			if sys := req.Messages[0].Content; !strings.Contains(sys, "3-5 days.") || (c.in.DeskLanguage == "en" && !strings.Contains(sys, "into English")) {
				t.Errorf("system prompt lacks the FAQ or the desk language: %q", sys)
			}
		})
	}
}

func TestReplyOffline(t *testing.T) {
	l := NewLLM(LLMConfig{}, demoFAQ)
	env := activityEnv()
	register(env, l)
	cases := []struct {
		text, lang, action, answer string
	}{
		{"怎么退款", "zh", ActionAnswer, "30 天内可退款。"},
		{"how long does shipping take", "en", ActionAnswer, "3-5 days."},
		{"Bonjour tout le monde", "fr", ActionHandoff, ""},
		{"12345 ?", "", ActionHandoff, ""},
	}
	for _, c := range cases {
		v, err := env.ExecuteActivity(l.Reply, ReplyInput{Text: c.text, DeskLanguage: "en"})
		if err != nil {
			t.Fatal(err)
		}
		var got ReplyResult
		if err := v.Get(&got); err != nil {
			t.Fatal(err)
		}
		if got.Language != c.lang || got.Action != c.action || got.Answer != c.answer || got.TranslationStatus != TranslationOff || got.Source != "faq" {
			t.Errorf("%q: got %+v, want %s %s %q off faq", c.text, got, c.lang, c.action, c.answer)
		}
	}
}

// TestReplyUserLanguage: the desk's record of the customer decides the language as for
// DetectLanguage — a preference over the script, what they last wrote when the script cannot tell.
func TestReplyUserLanguage(t *testing.T) {
	l := NewLLM(LLMConfig{}, demoFAQ)
	l.UserLanguage = func(_ context.Context, id string) (string, string) {
		switch id {
		case "pref":
			return "ja", "zh"
		case "seen":
			return "", "fr"
		}
		return "", ""
	}
	env := activityEnv()
	register(env, l)
	cases := []struct{ user, text, want string }{
		{"pref", "怎么退款", "ja"},
		{"seen", "12345 ?", "fr"},
		{"seen", "怎么退款", "zh"},
		{"", "12345 ?", ""},
	}
	for _, c := range cases {
		v, err := env.ExecuteActivity(l.Reply, ReplyInput{Text: c.text, UserID: c.user})
		if err != nil {
			t.Fatal(err)
		}
		var got ReplyResult
		if err := v.Get(&got); err != nil {
			t.Fatal(err)
		}
		if got.Language != c.want {
			t.Errorf("user %q, %q: language %q, want %q", c.user, c.text, got.Language, c.want)
		}
	}
}
