package workflows

import "encoding/json"

// CloudCustomData of the messages timdesk sends to customers, for the customer's chat page (and
// any client): a notice names its kind, a translated agent reply carries the original.
//
//	{"timdeskNotice": "rating"}   the rating prompt (also "goodbye", "connecting", ... : the notice keys)
//	{"timdeskTranslation": {"source": "en", "target": "zh", "originalText": "..."}}
//
// The translation record has the shape the API stores for customer ↔ customer translations.
const (
	cloudNoticeKey      = "timdeskNotice"
	cloudTranslationKey = "timdeskTranslation"
)

// cloudNotice is the CloudCustomData of notice key.
func cloudNotice(key string) string {
	// A map of strings always marshals, with sorted keys: deterministic (workflowcheck flags
	// encoding/json's internal caches).
	b, _ := json.Marshal(map[string]string{cloudNoticeKey: key}) //workflowcheck:ignore
	return string(b)
}

// cloudTranslation is the CloudCustomData of a translated text (sent) whose original is
// original; "" when the text and the record together would not fit one message.
func cloudTranslation(source, target, original, sent string) string {
	rec := map[string]map[string]string{cloudTranslationKey: {"source": source, "target": target, "originalText": original}}
	b, _ := json.Marshal(rec) //workflowcheck:ignore (as in cloudNotice)
	if jsonStringSize(sent)-2+len(b) > maxSendTextBytes {
		return ""
	}
	return string(b)
}
