package desk

import (
	"strings"
	"unicode"
)

// DetectLanguage guesses the language of text from its script: "zh", "ja", "ko", "ru", "ar",
// "th", "he", "el", "hi", or "en" for Latin text made of common English words. It returns "" when
// the script alone cannot tell (other Latin-script languages, digits, emoji); the LLM decides those.
func DetectLanguage(text string) string {
	var han, kana, hangul, cyr, arabic, thai, hebrew, greek, deva, latin, total int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
		case unicode.Is(unicode.Arabic, r):
			arabic++
		case unicode.Is(unicode.Thai, r):
			thai++
		case unicode.Is(unicode.Hebrew, r):
			hebrew++
		case unicode.Is(unicode.Greek, r):
			greek++
		case unicode.Is(unicode.Devanagari, r):
			deva++
		case unicode.Is(unicode.Latin, r):
			latin++
		default:
			continue
		}
		total++
	}
	if total == 0 {
		return ""
	}
	switch {
	case kana > 0:
		return "ja"
	case hangul*2 >= total:
		return "ko"
	case han*2 >= total || (han > 0 && han*4 >= latin):
		return "zh"
	case cyr*2 >= total:
		return "ru"
	case arabic*2 >= total:
		return "ar"
	case thai*2 >= total:
		return "th"
	case hebrew*2 >= total:
		return "he"
	case greek*2 >= total:
		return "el"
	case deva*2 >= total:
		return "hi"
	case latin == total && looksEnglish(text):
		return "en"
	}
	return ""
}

var englishWords = map[string]bool{
	"the": true, "a": true, "an": true, "is": true, "are": true, "i": true, "you": true, "my": true,
	"how": true, "what": true, "when": true, "where": true, "can": true, "do": true, "does": true,
	"to": true, "of": true, "and": true, "for": true, "in": true, "it": true, "hello": true, "hi": true,
	"please": true, "thanks": true, "thank": true, "order": true, "help": true, "want": true, "need": true,
	"refund": true, "password": true, "shipping": true, "agent": true, "human": true, "yes": true, "no": true,
	"with": true, "me": true, "your": true, "not": true, "have": true, "will": true, "be": true, "ok": true,
	"okay": true, "hey": true, "why": true, "who": true, "this": true, "that": true, "on": true, "at": true,
}

func looksEnglish(text string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	if len(words) == 0 {
		return false
	}
	hits := 0
	for _, w := range words {
		if englishWords[w] {
			hits++
		}
	}
	// short texts: one known word is enough; longer ones need about a fifth
	return hits > 0 && (len(words) <= 3 || hits*5 >= len(words))
}

// NormalizeLanguage lower-cases a language tag and keeps its primary subtag ("zh-CN" → "zh").
func NormalizeLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i > 0 {
		tag = tag[:i]
	}
	return tag
}

// languageNames names the languages prompts and notices refer to.
var languageNames = map[string]string{
	"zh": "Chinese (Simplified)", "en": "English", "ja": "Japanese", "ko": "Korean", "ru": "Russian",
	"ar": "Arabic", "th": "Thai", "he": "Hebrew", "el": "Greek", "hi": "Hindi", "fr": "French",
	"de": "German", "es": "Spanish", "pt": "Portuguese", "it": "Italian", "vi": "Vietnamese",
	"id": "Indonesian", "ms": "Malay", "tr": "Turkish", "nl": "Dutch", "pl": "Polish",
}

// LanguageName is the English name of a language code, or the code itself when unknown.
func LanguageName(code string) string {
	if n, ok := languageNames[NormalizeLanguage(code)]; ok {
		return n
	}
	return code
}
