package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/timdesk/timdesk/activities"
	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
)

// Translation cache and size bounds.
const (
	translationCacheSize = 2048
	translationCacheTTL  = 30 * time.Minute
	// maxModifiedBytes keeps MsgBody + CloudCustomData of a modified message under Tencent's 12 KB.
	maxModifiedBytes = 11 << 10
	// cloudDataKey is the CloudCustomData key holding the original of a translated message.
	cloudDataKey = "timdeskTranslation"
	// maxTranslateParts bounds the text elements of one message that are translated (one LLM
	// call each, in parallel): a message with more is delivered unchanged, so a sender cannot fan
	// one message out into hundreds of LLM calls.
	maxTranslateParts = 8
)

// translator translates customer ↔ customer messages inside the before-send callback, within a
// budget after which the original is delivered unchanged.
type translator struct {
	backend textTranslator
	budget  time.Duration
	now     func() time.Time
	log     *slog.Logger
	cache   *lruCache[translationKey, string]
	metrics *metrics
}

type translationKey struct{ source, target, text string }

func newTranslator(backend textTranslator, budget time.Duration, now func() time.Time,
	log *slog.Logger) *translator {
	if budget <= 0 {
		budget = defaultTranslateBudget
	}
	return &translator{
		backend: backend, budget: budget, now: now, log: log,
		cache: newLRU[translationKey, string](translationCacheSize, translationCacheTTL, now),
	}
}

// translationRecord is stored under cloudDataKey in the translated message's CloudCustomData.
type translationRecord struct {
	Source       string      `json:"source"`
	Target       string      `json:"target"`
	OriginalText string      `json:"originalText"`
	OriginalBody tim.MsgBody `json:"originalBody"`
}

// beforeSend returns the callback answer for a customer ↔ customer message written in source ("" =
// detect it) to a recipient who reads target ("" = unknown): the translated body (original kept in
// CloudCustomData) or Allow().
func (t *translator) beforeSend(ctx context.Context, m tim.C2CMsgCallback, source, target string) (tim.CallbackResponse, string) {
	start := t.now()
	resp, outcome := t.translateMessage(ctx, m, source, target)
	if t.metrics != nil {
		t.metrics.translations.WithLabelValues(outcome).Inc()
		if outcome == "translated" || outcome == "timeout" || outcome == "failed" {
			t.metrics.translateSeconds.Observe(t.now().Sub(start).Seconds())
		}
	}
	if outcome == "translated" {
		return resp, decisionTranslated
	}
	return tim.Allow(), decisionUntranslated
}

func (t *translator) translateMessage(ctx context.Context, m tim.C2CMsgCallback, source, target string) (tim.CallbackResponse, string) {
	type part struct {
		index int
		text  string
	}
	var parts []part
	for i, el := range m.MsgBody {
		if text, ok := el.Text(); ok && strings.TrimSpace(text) != "" {
			parts = append(parts, part{i, text})
		}
	}
	if len(parts) == 0 {
		return tim.Allow(), "no_text"
	}
	if len(parts) > maxTranslateParts {
		return tim.Allow(), "too_many_parts"
	}
	if target == "" {
		return tim.Allow(), "recipient_unknown"
	}
	if source == "" {
		source = desk.DetectLanguage(m.MsgBody.Text())
	}
	if source == "" {
		return tim.Allow(), "source_unknown"
	}
	if sameLanguage(source, target) {
		return tim.Allow(), "same_language"
	}
	if !t.backend.Enabled() {
		return tim.Allow(), "off"
	}

	ctx, cancel := context.WithTimeout(ctx, t.budget)
	defer cancel()
	type result struct {
		index int
		text  string
		ok    bool
	}
	results := make(chan result, len(parts)) // buffered: a late translator never blocks
	for _, p := range parts {
		key := translationKey{source, target, p.text}
		if cached, ok := t.cache.Get(key); ok {
			results <- result{p.index, cached, true}
			continue
		}
		go func() {
			out, err := t.backend.Translate(ctx, activities.TranslateInput{Text: p.text, Source: source, Target: target})
			ok := err == nil && out.Status == "translated" && out.Text != ""
			if ok {
				t.cache.Put(key, out.Text)
			} else if err != nil {
				t.log.Debug("translate failed", "error", err)
			}
			results <- result{p.index, out.Text, ok}
		}()
	}
	translated := make(map[int]string, len(parts))
	for range parts {
		select {
		case r := <-results:
			if !r.ok {
				return tim.Allow(), "failed"
			}
			translated[r.index] = r.text
		case <-ctx.Done():
			return tim.Allow(), "timeout"
		}
	}

	body := make(tim.MsgBody, len(m.MsgBody))
	copy(body, m.MsgBody)
	original := make(tim.MsgBody, 0, len(parts))
	for _, p := range parts {
		original = append(original, m.MsgBody[p.index])
		body[p.index] = tim.TextElem(translated[p.index])
	}
	cloud, err := mergeCloudCustomData(m.CloudCustomData, translationRecord{
		Source: source, Target: target, OriginalText: m.MsgBody.Text(), OriginalBody: original,
	})
	if err != nil {
		return tim.Allow(), "failed"
	}
	encoded, err := json.Marshal(body)
	if err != nil || len(encoded)+len(cloud) > maxModifiedBytes {
		return tim.Allow(), "too_large"
	}
	return tim.AllowModified(body, cloud), "translated"
}

// sameLanguage compares primary language subtags ("zh-CN" = "zh").
func sameLanguage(a, b string) bool {
	primary := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		if i := strings.IndexAny(s, "-_"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	return primary(a) == primary(b)
}

// mergeCloudCustomData adds rec under cloudDataKey to the message's existing CloudCustomData: a JSON
// object keeps its other keys; any other existing value is kept as a string under "customData".
func mergeCloudCustomData(existing string, rec translationRecord) (string, error) {
	obj := map[string]json.RawMessage{}
	if strings.TrimSpace(existing) != "" {
		if err := json.Unmarshal([]byte(existing), &obj); err != nil || obj == nil {
			obj = map[string]json.RawMessage{}
			raw, err := json.Marshal(existing)
			if err != nil {
				return "", err
			}
			obj["customData"] = raw
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	obj[cloudDataKey] = raw
	out, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	return string(out), nil
}
