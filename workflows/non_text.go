package workflows

import (
	"strings"

	"github.com/timdesk/timdesk/tim"
)

// maxTranscriptBodyBytes bounds the non-text bodies kept in the transcript (TranscriptEntry.Body),
// which the state query returns and continue-as-new carries: past it the oldest entries lose
// their Body (BodyDropped) first. Tencent caps one message at 12 KB, so the relay backlog (20
// messages) always fits.
const maxTranscriptBodyBytes = 256 << 10

// nonText returns the elements of body that are not text (images, files, sounds, videos, faces,
// locations, custom elements and types timdesk does not know), in order; nil when there is none.
// It looks only at MsgType: MsgContent is forwarded as it came, never decoded in workflow code.
func nonText(body tim.MsgBody) tim.MsgBody {
	var out tim.MsgBody
	for _, el := range body {
		if el.MsgType != tim.MsgTypeText {
			out = append(out, el)
		}
	}
	return out
}

// attachmentKind names an element a person has to look at because the AI cannot read it
// ("image", "file", "voice", "video"); "" for every other element (text, face, location, custom).
func attachmentKind(msgType string) string {
	switch msgType {
	case tim.MsgTypeImage:
		return "image"
	case tim.MsgTypeFile:
		return "file"
	case tim.MsgTypeSound:
		return "voice message"
	case tim.MsgTypeVideoFile:
		return "video"
	}
	return ""
}

// attachments describes body's attachments for the agent's hand-off summary ("an image and a
// file"); "" when body has none.
func attachments(body tim.MsgBody) string {
	var kinds []string
	seen := map[string]bool{}
	for _, el := range body {
		if k := attachmentKind(el.MsgType); k != "" && !seen[k] {
			seen[k] = true
			kinds = append(kinds, k)
		}
	}
	for i, k := range kinds {
		if strings.IndexByte("aeiou", k[0]) >= 0 {
			kinds[i] = "an " + k
		} else {
			kinds[i] = "a " + k
		}
	}
	switch len(kinds) {
	case 0:
		return ""
	case 1:
		return kinds[0]
	}
	return strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1]
}

// bodySize is the size of body's elements in bytes (types and raw contents).
func bodySize(body tim.MsgBody) int {
	n := 0
	for _, el := range body {
		n += len(el.MsgType) + len(el.MsgContent)
	}
	return n
}

// trimBodies drops the Body of the oldest transcript entries until the bodies kept fit in
// maxTranscriptBodyBytes.
func trimBodies(entries []TranscriptEntry) {
	total := 0
	for _, e := range entries {
		total += bodySize(e.Body)
	}
	for i := 0; i < len(entries) && total > maxTranscriptBodyBytes; i++ {
		if len(entries[i].Body) == 0 {
			continue
		}
		total -= bodySize(entries[i].Body)
		entries[i].Body, entries[i].BodyDropped = nil, true
	}
}
