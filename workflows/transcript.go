package workflows

import "unicode/utf8"

// Bounds of the transcript's texts (Text and Translated of each entry), which the state query
// returns and continue-as-new carries next to everything else in one payload (Temporal refuses
// payloads over 2 MiB). maxTranscript entries of Tencent's longest messages (12 KB, plus a
// translation, plus JSON escaping of characters such as '<') would be several MiB, so past
// maxTranscriptTextBytes the oldest entries' texts are cut to a prefix of trimmedTextBytes
// (TextTrimmed). A cut text is never empty, so relays of old entries on assignment send the
// same messages as before, only shorter.
const (
	maxTranscriptTextBytes = 1 << 20
	trimmedTextBytes       = 256
)

// trimTexts cuts the texts of the oldest entries until the texts kept, JSON-encoded, fit in
// maxTranscriptTextBytes.
func trimTexts(entries []TranscriptEntry) {
	total := transcriptTextSize(entries)
	for i := 0; i < len(entries) && total > maxTranscriptTextBytes; i++ {
		e := &entries[i]
		before := jsonStringSize(e.Text) + jsonStringSize(e.Translated)
		text, cut1 := cutText(e.Text)
		translated, cut2 := cutText(e.Translated)
		if !cut1 && !cut2 {
			continue
		}
		e.Text, e.Translated, e.TextTrimmed = text, translated, true
		total -= before - jsonStringSize(e.Text) - jsonStringSize(e.Translated)
	}
}

// transcriptTextSize is the JSON-encoded size of the entries' texts.
func transcriptTextSize(entries []TranscriptEntry) int {
	n := 0
	for _, e := range entries {
		n += jsonStringSize(e.Text) + jsonStringSize(e.Translated)
	}
	return n
}

// cutText shortens s to at most trimmedTextBytes on a rune boundary, followed by "…"; it
// reports whether it cut anything.
func cutText(s string) (string, bool) {
	if len(s) <= trimmedTextBytes+len("…") {
		return s, false
	}
	n := trimmedTextBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n == 0 { // no rune boundary in the prefix (invalid UTF-8): cut at the byte limit
		n = trimmedTextBytes
	}
	return s[:n] + "…", true
}

// jsonStringSize is an upper bound of s's size as a JSON string as encoding/json writes it
// (quotes, escapes, '<' '>' '&' as \u003c..., invalid bytes as \ufffd).
func jsonStringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			n += jsonByteSize(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028' || r == '\u2029':
			n += 6 // \ufffd, \u2028, \u2029
		default:
			n += size
		}
		i += size
	}
	return n
}

// jsonByteSize is the JSON-encoded size of an ASCII byte (encoding/json escapes HTML characters).
func jsonByteSize(c byte) int {
	switch c {
	case '"', '\\', '\n', '\r', '\t':
		return 2
	case '<', '>', '&':
		return 6
	}
	if c < 0x20 {
		return 6
	}
	return 1
}

// maxSendTextBytes bounds a text timdesk sends (JSON-encoded, without quotes): Tencent refuses a
// message over 12 KB for good (80002/93000), and the MsgBody around the text takes a few bytes.
const maxSendTextBytes = 12<<10 - 128

// fitText returns the first candidate that fits in maxSendTextBytes; when none does, the last
// one cut to fit, ending in "…".
func fitText(candidates ...string) string {
	for _, c := range candidates {
		if jsonStringSize(c)-2 <= maxSendTextBytes {
			return c
		}
	}
	last := candidates[len(candidates)-1]
	const ellipsis = "…"
	n, size := 0, 0
	for n < len(last) {
		_, w := utf8.DecodeRuneInString(last[n:])
		if size+jsonStringSize(last[n:n+w])-2 > maxSendTextBytes-len(ellipsis) {
			break
		}
		size += jsonStringSize(last[n:n+w]) - 2
		n += w
	}
	return last[:n] + ellipsis
}
