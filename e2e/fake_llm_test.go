package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeLLM is an OpenAI-compatible chat-completions server for the e2e tests. Translation requests
// (no response_format) are answered from a phrase table by the script of the text; answer requests
// (response_format json_object) answer refund questions and hand everything else off.
type fakeLLM struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests int
}

// phrases maps a text to its translation, both directions.
var phrases = map[string]string{
	"怎么退货？":                             "How do I return an item?",
	"我的包裹坏了，我要找人工":                      "My parcel is broken, I want a human agent",
	"Please send me your order number.": "请把您的订单号发给我。",
	"我的订单一直没到":                          "My order has not arrived",
	"Hello, I am looking into it.":      "您好，我正在处理。",
}

const refundAnswer = "您可以在“我的订单”中申请退货，7 天内无理由退货。"

// questionTag marks a numbered question, e.g. "怎么退货？ #q-kim-3".
var questionTag = regexp.MustCompile(`#q-[a-z0-9-]+`)

// taggedAnswer is the fake LLM's answer to the question tagged tag.
func taggedAnswer(tag string) string { return refundAnswer + " " + tag }

func newFakeLLM(tb testing.TB) *fakeLLM {
	f := &fakeLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to hand to go-openai (OPENAI_BASE_URL).
func (f *fakeLLM) URL() string { return f.srv.URL + "/v1" }

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()

	var content string
	if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object" {
		content = answerFor(req)
	} else {
		content = translate(req.Messages[len(req.Messages)-1].Content)
	}
	resp := map[string]any{
		"id":      "chatcmpl-e2e",
		"object":  "chat.completion",
		"created": 1700000000,
		"model":   req.Model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]string{"role": "assistant", "content": content},
			"finish_reason": "stop",
		}},
		"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func answerFor(req chatRequest) string {
	var all strings.Builder
	for _, m := range req.Messages {
		if m.Role == "user" {
			all.WriteString(m.Content)
		}
	}
	last := req.Messages[len(req.Messages)-1].Content
	// the Reply fields besides the decision: the message's language and its translation
	lang := "en"
	if strings.ContainsFunc(last, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
		lang = "zh"
	}
	translation := ""
	if lang != "en" {
		translation = translate(last)
	}
	if tag := questionTag.FindString(last); tag != "" {
		// A numbered question (the cluster fault test): its answer names it, so every answer can be
		// matched to its one question.
		b, _ := json.Marshal(map[string]any{
			"language": lang, "translation": translation,
			"action": "answer", "answer": taggedAnswer(tag), "confidence": 0.93,
			"reason": "refund policy is in the FAQ", "summary": "customer asks how to return an item",
		})
		return string(b)
	}
	if strings.Contains(last, "退货") || strings.Contains(strings.ToLower(last), "return an item") {
		b, _ := json.Marshal(map[string]any{
			"language": lang, "translation": translation,
			"action": "answer", "answer": refundAnswer, "confidence": 0.93,
			"reason": "refund policy is in the FAQ", "summary": "customer asks how to return an item",
		})
		return string(b)
	}
	b, _ := json.Marshal(map[string]any{
		"language": lang, "translation": translation,
		"action": "handoff", "answer": "", "confidence": 0.1,
		"reason": "needs a person", "summary": "customer needs help: " + all.String(),
	})
	return string(b)
}

// translate looks the text up in both directions; unknown text comes back unchanged, which the
// assertions would notice.
func translate(text string) string {
	text = strings.TrimSpace(text)
	if t, ok := phrases[text]; ok {
		return t
	}
	for k, v := range phrases {
		if v == text {
			return k
		}
	}
	return text
}
