package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// openAIFake speaks the chat-completions wire format; reply decides the content (or an error
// status) from the decoded request.
type openAIFake struct {
	mu       sync.Mutex
	requests []chatReq
	reply    func(req chatReq) (status int, content string)
}

type chatReq struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	auth string
}

func newOpenAIFake(t *testing.T, reply func(chatReq) (int, string)) (*openAIFake, *httptest.Server) {
	t.Helper()
	f := &openAIFake{reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req chatReq
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		req.auth = r.Header.Get("Authorization")
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		status, content := f.reply(req)
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"message":"` + content + `","type":"server_error"}}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]string{"role": "assistant", "content": content}}},
		})
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *openAIFake) last() chatReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func (f *openAIFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

var demoFAQ = []FAQEntry{
	{Q: []string{"how long does shipping take", "delivery time"}, A: "3-5 days."},
	{Q: []string{"退款", "怎么退款"}, A: "30 天内可退款。"},
}

// register registers an activity struct the way the worker does (skipping non-activity methods
// such as LLM.Enabled).
func register(env *testsuite.TestActivityEnvironment, acts any) {
	env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
}

func activityEnv() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	return s.NewTestActivityEnvironment()
}

func TestTranslate(t *testing.T) {
	f, srv := newOpenAIFake(t, func(req chatReq) (int, string) { return 200, "  你好，世界  \n" })
	l := NewLLM(LLMConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-test", Model: "m1"}, nil)
	env := activityEnv()
	register(env, l)
	v, err := env.ExecuteActivity(l.Translate, TranslateInput{Text: "Hello, world", Target: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	var res TranslateResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Text != "你好，世界" || res.Status != TranslationTranslated || res.Target != "zh" || res.Source != "en" {
		t.Errorf("result = %+v", res)
	}
	req := f.last()
	if req.Model != "m1" || req.auth != "Bearer sk-test" || req.ResponseFormat != nil {
		t.Errorf("request model=%s auth=%q format=%v", req.Model, req.auth, req.ResponseFormat)
	}
	if n := len(req.Messages); req.Messages[n-1].Role != "user" || req.Messages[n-1].Content != "Hello, world" {
		t.Errorf("last message = %+v, want the text as the last user message", req.Messages[n-1])
	}
	if !strings.Contains(req.Messages[0].Content, "Chinese") {
		t.Errorf("system prompt does not name the target: %q", req.Messages[0].Content)
	}

	// same language: no request
	before := f.count()
	v, _ = env.ExecuteActivity(l.Translate, TranslateInput{Text: "你好", Target: "zh"})
	_ = v.Get(&res)
	if res.Status != TranslationSame || f.count() != before {
		t.Errorf("same language: %+v, %d requests", res, f.count()-before)
	}
}

func TestTranslateOffWithoutLLM(t *testing.T) {
	l := NewLLM(LLMConfig{}, nil)
	if l.Enabled() {
		t.Fatal("enabled without base URL or key")
	}
	env := activityEnv()
	register(env, l)
	v, err := env.ExecuteActivity(l.Translate, TranslateInput{Text: "你好", Target: "en"})
	if err != nil {
		t.Fatal(err)
	}
	var res TranslateResult
	_ = v.Get(&res)
	if res.Status != TranslationOff || res.Text != "你好" {
		t.Errorf("result = %+v, want the original with status off", res)
	}
}

func TestLLMErrorsAreClassified(t *testing.T) {
	cases := []struct {
		status       int
		nonRetryable bool
	}{
		{http.StatusUnauthorized, true},
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			_, srv := newOpenAIFake(t, func(chatReq) (int, string) { return c.status, "nope" })
			l := NewLLM(LLMConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-secret-value"}, nil)
			env := activityEnv()
			register(env, l)
			_, err := env.ExecuteActivity(l.Translate, TranslateInput{Text: "hello there", Target: "zh"})
			if err == nil {
				t.Fatal("no error")
			}
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("error %T %v", err, err)
			}
			if appErr.NonRetryable() != c.nonRetryable {
				t.Errorf("non-retryable = %v, want %v (%v)", appErr.NonRetryable(), c.nonRetryable, err)
			}
			if c.nonRetryable && appErr.Type() != ErrTypeLLMRejected {
				t.Errorf("type = %s", appErr.Type())
			}
			if strings.Contains(err.Error(), "sk-secret-value") {
				t.Error("API key in the error")
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    AnswerResult
		wantErr bool
	}{
		{"answer", `{"action":"answer","answer":"3-5 天","confidence":0.9,"reason":"faq","summary":"asks shipping"}`,
			AnswerResult{Action: ActionAnswer, Answer: "3-5 天", Confidence: 0.9, Reason: "faq", Summary: "asks shipping", Source: "llm"}, false},
		{"handoff", `{"action":"handoff","confidence":0.2,"reason":"angry","summary":"s"}`,
			AnswerResult{Action: ActionHandoff, Confidence: 0.2, Reason: "angry", Summary: "s", Source: "llm"}, false},
		{"fenced json", "```json\n{\"action\":\"clarify\",\"answer\":\"which order?\",\"confidence\":0.7}\n```",
			AnswerResult{Action: ActionClarify, Answer: "which order?", Confidence: 0.7, Source: "llm"}, false},
		{"unknown action", `{"action":"dance","answer":"x","confidence":2}`,
			AnswerResult{Action: ActionHandoff, Answer: "x", Confidence: 1, Reason: "unknown_action", Source: "llm"}, false},
		{"empty answer", `{"action":"answer","answer":"","confidence":0.9}`,
			AnswerResult{Action: ActionHandoff, Confidence: 0.9, Reason: "empty_answer", Source: "llm"}, false},
		{"not json", "I think you should wait.", AnswerResult{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, srv := newOpenAIFake(t, func(chatReq) (int, string) { return 200, c.content })
			l := NewLLM(LLMConfig{BaseURL: srv.URL + "/v1"}, demoFAQ)
			env := activityEnv()
			register(env, l)
			v, err := env.ExecuteActivity(l.Answer, AnswerInput{Text: "多久发货？", Language: "zh", Transcript: []Turn{
				{Role: "customer", Text: "你好"}, {Role: "assistant", Text: "您好！"}, {Role: "customer", Text: "多久发货？"},
			}})
			if c.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got AnswerResult
			_ = v.Get(&got)
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			req := f.last()
			if req.ResponseFormat == nil || req.ResponseFormat.Type != "json_object" {
				t.Errorf("response_format = %+v, want json_object", req.ResponseFormat)
			}
			sys := req.Messages[0].Content
			if !strings.Contains(sys, "3-5 days.") || !strings.Contains(sys, "Chinese") {
				t.Errorf("system prompt not grounded in the FAQ / language: %q", sys)
			}
			roles := []string{}
			for _, m := range req.Messages[1:] {
				roles = append(roles, m.Role)
			}
			if strings.Join(roles, ",") != "user,assistant,user" || req.Messages[len(req.Messages)-1].Content != "多久发货？" {
				t.Errorf("transcript roles = %v", roles)
			}
		})
	}
}

func TestAnswerOffline(t *testing.T) {
	l := NewLLM(LLMConfig{}, demoFAQ)
	env := activityEnv()
	register(env, l)
	cases := []struct {
		text   string
		action string
		answer string
	}{
		{"Hi, how long does shipping take to Berlin?", ActionAnswer, "3-5 days."},
		{"我想退款", ActionAnswer, "30 天内可退款。"},
		{"my cat ate the parcel", ActionHandoff, ""},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			v, err := env.ExecuteActivity(l.Answer, AnswerInput{Text: c.text})
			if err != nil {
				t.Fatal(err)
			}
			var got AnswerResult
			_ = v.Get(&got)
			if got.Action != c.action || got.Answer != c.answer || got.Source != "faq" {
				t.Errorf("got %+v, want %s %q", got, c.action, c.answer)
			}
		})
	}
}

func TestDetectLanguageActivity(t *testing.T) {
	f, srv := newOpenAIFake(t, func(chatReq) (int, string) { return 200, "fr" })
	l := NewLLM(LLMConfig{BaseURL: srv.URL + "/v1"}, nil)
	env := activityEnv()
	register(env, l)
	var res DetectResult
	v, _ := env.ExecuteActivity(l.DetectLanguage, DetectInput{Text: "これは日本語です"})
	_ = v.Get(&res)
	if res.Language != "ja" || res.Method != "script" || f.count() != 0 {
		t.Errorf("script: %+v (requests %d)", res, f.count())
	}
	v, _ = env.ExecuteActivity(l.DetectLanguage, DetectInput{Text: "Bonjour, je voudrais un remboursement"})
	_ = v.Get(&res)
	if res.Language != "fr" || res.Method != "script" || f.count() != 0 {
		t.Errorf("French from the text: %+v (requests %d)", res, f.count())
	}
	v, _ = env.ExecuteActivity(l.DetectLanguage, DetectInput{Text: "la"}) // French, Spanish or Italian
	_ = v.Get(&res)
	if res.Language != "fr" || res.Method != "llm" {
		t.Errorf("llm: %+v", res)
	}
}

// TestDetectLanguageReadsTheDesk: the consultation's language comes from the desk when it knows
// the user — a preference set through the admin API wins over the text; what the user was last
// detected writing decides when the text alone cannot.
func TestDetectLanguageReadsTheDesk(t *testing.T) {
	f, srv := newOpenAIFake(t, func(chatReq) (int, string) { return 200, "it" })
	l := NewLLM(LLMConfig{BaseURL: srv.URL + "/v1"}, nil)
	l.UserLanguage = func(_ context.Context, id string) (string, string) {
		switch id {
		case "amy":
			return "ja", "fr"
		case "bob":
			return "", "es"
		}
		return "", ""
	}
	env := activityEnv()
	register(env, l)
	for _, tt := range []struct {
		in        DetectInput
		lang, how string
	}{
		{DetectInput{Text: "Hello, I need help", UserID: "amy"}, "ja", "preference"},
		{DetectInput{Text: "la", UserID: "bob"}, "es", "desk"},
		{DetectInput{Text: "Wo ist mein Paket?", UserID: "bob"}, "de", "script"},
		{DetectInput{Text: "la", UserID: "carol"}, "it", "llm"},
	} {
		var res DetectResult
		v, err := env.ExecuteActivity(l.DetectLanguage, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&res)
		if res.Language != tt.lang || res.Method != tt.how {
			t.Errorf("DetectLanguage(%+v) = %+v, want %s by %s", tt.in, res, tt.lang, tt.how)
		}
	}
	if f.count() != 1 {
		t.Errorf("LLM asked %d times, want once (carol)", f.count())
	}
}

func TestMatchFAQ(t *testing.T) {
	faq, err := ParseFAQ([]byte("- q: [\"reset password\", \"忘记密码\"]\n  a: \"Use Forgot password.\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{
		"How do I reset my password?": true,
		"我忘记密码了":                      true,
		"password":                    false, // half a variant: 0.5 < threshold
		"where is my order":           false,
	} {
		_, score := MatchFAQ(faq, text)
		if (score >= DefaultFAQThreshold) != want {
			t.Errorf("MatchFAQ(%q) score %.2f, want match=%v", text, score, want)
		}
	}
	if _, err := ParseFAQ([]byte("- q: []\n  a: x\n")); err == nil {
		t.Error("entry without questions accepted")
	}
}

func TestDemoFAQLoads(t *testing.T) {
	faq, err := LoadFAQ("../deploy/demo/faq.yaml")
	if err != nil || len(faq) < 8 {
		t.Fatalf("demo faq: %d entries, %v", len(faq), err)
	}
}
