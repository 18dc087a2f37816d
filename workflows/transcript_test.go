package workflows

import (
	"encoding/json"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/timdesk/timdesk/tim"
)

// maxPayloadBytes is Temporal's default blob size error limit (limit.blobSize.error): a
// continue-as-new input above it breaks the consultation.
const maxPayloadBytes = 2 << 20

// TestTranscriptCarryFitsPayloadLimit: a transcript full of the longest messages Tencent delivers
// (12 KB, translated) — including text that grows when JSON-escaped — still continues-as-new
// within the 2 MiB payload limit; the newest entries keep their text and no entry's text becomes
// empty (relays on assignment send one message per entry either way).
func TestTranscriptCarryFitsPayloadLimit(t *testing.T) {
	big := tim.MsgElement{MsgType: tim.MsgTypeCustom, MsgContent: json.RawMessage(`"` + strings.Repeat("x", 11<<10) + `"`)}
	cases := []struct {
		name       string
		text       string
		translated string
		body       tim.MsgBody
	}{
		{name: "latin 12 KB", text: strings.Repeat("a", 12<<10), translated: strings.Repeat("b", 12<<10)},
		{name: "CJK 12 KB", text: strings.Repeat("你", 4<<10), translated: strings.Repeat("y", 12<<10)},
		{name: "escaped 12 KB", text: strings.Repeat("<", 12<<10), translated: strings.Repeat("&\x01", 6<<10)},
		{name: "with bodies", text: strings.Repeat("a", 12<<10), translated: strings.Repeat("b", 12<<10), body: tim.MsgBody{big}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &consultation{st: ConsultationState{Customer: "cust1", Notified: map[string]bool{}}}
			for i := 1; i <= 2*maxTranscript; i++ {
				s.appendEntry(TranscriptEntry{Seq: i, Role: "customer", MsgKey: "k", Text: c.text, Translated: c.translated,
					TranslatedTo: "en", Body: c.body})
			}
			p, err := converter.GetDefaultDataConverter().ToPayload(ConsultationInput{Customer: "cust1", Carry: &CarryOver{State: s.snapshot()}})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Size(); got >= maxPayloadBytes {
				t.Errorf("continue-as-new input = %d bytes, want under %d", got, maxPayloadBytes)
			}
			for _, e := range s.st.Transcript {
				if e.Text == "" || e.Translated == "" {
					t.Fatalf("entry %d lost its text entirely", e.Seq)
				}
			}
			last := s.st.Transcript[len(s.st.Transcript)-1]
			if last.Text != c.text || last.Translated != c.translated || last.TextTrimmed {
				t.Errorf("newest entry trimmed: %d/%d bytes kept", len(last.Text), len(last.Translated))
			}
		})
	}
}

// TestTrimTexts: the oldest entries' texts are shortened first, to a non-empty prefix ending in
// "…" on a rune boundary, until the texts fit maxTranscriptTextBytes; short texts are kept.
func TestTrimTexts(t *testing.T) {
	long := strings.Repeat("长", maxTranscriptTextBytes/6)
	entries := []TranscriptEntry{{Seq: 1, Text: long}, {Seq: 2, Text: "hi"}, {Seq: 3, Text: long, Translated: long}, {Seq: 4, Text: long}}
	trimTexts(entries)
	for i, want := range []bool{true, false, true, false} {
		e := entries[i]
		if e.TextTrimmed != want {
			t.Errorf("entry %d: trimmed=%v, want %v", e.Seq, e.TextTrimmed, want)
		}
		if want && (!strings.HasSuffix(e.Text, "…") || !strings.HasPrefix(e.Text, "长") || len(e.Text) > trimmedTextBytes+len("…")) {
			t.Errorf("entry %d: trimmed text %q is not a short prefix", e.Seq, e.Text)
		}
	}
	if entries[1].Text != "hi" || entries[3].Text != long {
		t.Error("entries that fit were changed")
	}
	if got := transcriptTextSize(entries); got > maxTranscriptTextBytes {
		t.Errorf("texts kept = %d bytes, want at most %d", got, maxTranscriptTextBytes)
	}
}
