package desk

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestUserLanguagesStayBounded: 100,000 users each detected once (and 100,000 preferences set)
// leave at most MaxDetectedLanguages detections and MaxPreferredLanguages preferences, the most
// recent ones, in a state that still fits Temporal's 2 MiB payload limit with room to spare.
func TestUserLanguagesStayBounded(t *testing.T) {
	const users = 100_000
	st := NewState(nil)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	langs := []string{"fr", "es", "de", "vi", "en", "zh"}
	for i := range users {
		id := fmt.Sprintf("user-%06d-%s", i, "abcdefghijklmnopqrstu") // 32-byte IDs, Tencent's longest
		now := start.Add(time.Duration(i) * time.Second)
		st.ApplyLanguage(LanguagePreference{UserID: id, Language: langs[i%len(langs)], Detected: true}, now)
		st.ApplyLanguage(LanguagePreference{UserID: id, Language: "ja"}, now)
	}
	if n := len(st.Detected); n > MaxDetectedLanguages || n < MaxDetectedLanguages*9/10 {
		t.Errorf("detected languages = %d, want between %d and %d", n, MaxDetectedLanguages*9/10, MaxDetectedLanguages)
	}
	if n := len(st.Languages); n > MaxPreferredLanguages || len(st.PreferredAt) != n {
		t.Errorf("preferences = %d (times %d), want at most %d", n, len(st.PreferredAt), MaxPreferredLanguages)
	}
	newest := fmt.Sprintf("user-%06d-%s", users-1, "abcdefghijklmnopqrstu")
	oldest := fmt.Sprintf("user-%06d-%s", 0, "abcdefghijklmnopqrstu")
	if got := st.Detected[newest].Language; got != langs[(users-1)%len(langs)] {
		t.Errorf("newest user's language = %q", got)
	}
	if _, ok := st.Detected[oldest]; ok {
		t.Error("the oldest detection was kept")
	}
	if got := st.LanguageOf(newest); got != "ja" {
		t.Errorf("LanguageOf(newest) = %q, want the preference ja", got)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 1<<20 {
		t.Errorf("state is %d bytes as JSON, want under 1 MiB (Temporal's payload limit is 2 MiB)", len(raw))
	}
	t.Logf("state with %d detections and %d preferences: %d KiB", len(st.Detected), len(st.Languages), len(raw)>>10)
}

// TestDetectedLanguagesAgeOut: when the map outgrows its bound, detections older than
// DetectedLanguageTTL go even below the count target.
func TestDetectedLanguagesAgeOut(t *testing.T) {
	st := NewState(nil)
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range MaxDetectedLanguages / 2 {
		st.ApplyLanguage(LanguagePreference{UserID: fmt.Sprintf("old%d", i), Language: "fr", Detected: true}, old)
	}
	now := old.Add(DetectedLanguageTTL + time.Hour)
	for i := range MaxDetectedLanguages/2 + 1 {
		st.ApplyLanguage(LanguagePreference{UserID: fmt.Sprintf("new%d", i), Language: "de", Detected: true}, now)
	}
	if n := len(st.Detected); n != MaxDetectedLanguages/2+1 {
		t.Errorf("detected = %d, want only the %d recent ones", n, MaxDetectedLanguages/2+1)
	}
	if st.LanguageOf("old1") != "" || st.LanguageOf("new1") != "de" {
		t.Errorf("old1=%q new1=%q", st.LanguageOf("old1"), st.LanguageOf("new1"))
	}
}

func TestLanguageOf(t *testing.T) {
	st := NewState(nil)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	st.ApplyLanguage(LanguagePreference{UserID: "amy", Language: "fr-FR", Detected: true}, at)
	if got := st.LanguageOf("amy"); got != "fr" {
		t.Errorf("detected: %q", got)
	}
	st.ApplyLanguage(LanguagePreference{UserID: "amy", Language: "en"}, at)
	if got := st.LanguageOf("amy"); got != "en" {
		t.Errorf("preference wins: %q", got)
	}
	st.ApplyLanguage(LanguagePreference{UserID: "amy", Language: ""}, at)
	if got := st.LanguageOf("amy"); got != "fr" {
		t.Errorf("cleared preference falls back to the detection: %q", got)
	}
	st.ApplyLanguage(LanguagePreference{UserID: "amy", Language: "", Detected: true}, at)
	if got := st.LanguageOf("amy"); got != "fr" {
		t.Errorf("an empty detection changes nothing: %q", got)
	}
}

// TestForRoutingStaysSmall: at the languages' bounds the desk's state is hundreds of kilobytes;
// what routing reads of it (ForRouting) is the agents' part only, a few kilobytes.
func TestForRoutingStaysSmall(t *testing.T) {
	st := NewState(nil)
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for i := range MaxDetectedLanguages {
		st.ApplyLanguage(LanguagePreference{UserID: fmt.Sprintf("customer_%06d", i), Language: "vi", Detected: true}, now)
	}
	for i := range MaxPreferredLanguages {
		st.ApplyLanguage(LanguagePreference{UserID: fmt.Sprintf("pref_%06d", i), Language: "fr"}, now)
	}
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent_%02d", i)
		st.ApplyLanguage(LanguagePreference{UserID: ids[i], Language: "en"}, now.Add(time.Hour)) // newest: kept
		st.ApplyPresence(PresenceEvent{UserID: ids[i], Online: i%2 == 0, At: now})
	}
	full, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	view := st.ForRouting(ids[:10]) // the other 40 have a presence
	small, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Languages) != 50 || len(view.Presence) != 50 || len(view.Detected) != 0 {
		t.Errorf("routing view: %d languages, %d presences, %d detected; want 50, 50, 0", len(view.Languages), len(view.Presence), len(view.Detected))
	}
	if len(full) < 300_000 || len(small) > 8_000 {
		t.Errorf("state %d bytes, routing view %d bytes; want the view a few kilobytes of a state of hundreds", len(full), len(small))
	}
	t.Logf("desk state %d bytes, routing view %d bytes", len(full), len(small))
}
