package desk

import (
	"strings"
	"unicode"

	"github.com/abadojack/whatlanggo"
)

// DetectLanguage guesses the language of text: from its script "zh", "ja", "ko", "ru", "ar", "th",
// "he", "el", "hi"; for Latin script "en", "fr", "es", "de", "pt", "it", "vi", "id", "nl", "tr" or
// "pl" (detectLatin). It returns "" when it cannot tell (a word or two shared by several
// languages, digits, emoji); the LLM decides those where one is configured.
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
	case latin*2 >= total:
		return detectLatin(text)
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

// latinWords are frequent short words of the Latin-script languages detectLatin knows; a short
// chat message is usually decided by them.
var latinWords = map[string][]string{
	"fr": {"je", "tu", "il", "nous", "vous", "est", "et", "mon", "ma", "mes", "votre", "vos", "pour", "pas", "ne", "qui", "dans", "sur", "avec",
		"bonjour", "merci", "où", "commande", "colis", "remboursement", "oui", "s'il", "plaît", "voudrais", "une", "des", "les", "suis", "c'est", "au", "aux"},
	"es": {"el", "los", "las", "yo", "es", "y", "mi", "mis", "para", "por", "qué", "dónde", "donde", "está", "hola", "gracias", "pedido", "quiero",
		"con", "favor", "sí", "una", "necesito", "ayuda", "paquete", "devolver", "del", "cómo", "cuándo"},
	"de": {"der", "die", "das", "ein", "eine", "ich", "du", "er", "wir", "ist", "und", "oder", "mein", "meine", "für", "nicht", "was", "wo", "bitte",
		"danke", "hallo", "bestellung", "paket", "mit", "ja", "nein", "möchte", "wie", "wann", "zurückgeben", "hilfe", "schön"},
	"pt": {"os", "um", "uma", "eu", "você", "é", "meu", "minha", "não", "onde", "olá", "obrigado", "obrigada", "quero", "sim", "pedido", "encomenda",
		"ajuda", "preciso", "devolver", "com", "para", "está", "como", "quando"},
	"it": {"il", "lo", "gli", "io", "è", "mio", "mia", "per", "non", "che", "dove", "ciao", "grazie", "ordine", "vorrei", "sì", "sono", "aiuto",
		"pacco", "restituire", "come", "quando", "buongiorno"},
	"vi": {"tôi", "bạn", "là", "và", "của", "không", "có", "cho", "được", "đơn", "hàng", "xin", "chào", "cảm", "ơn", "giúp", "muốn", "trả", "lại"},
	"id": {"saya", "anda", "adalah", "dan", "atau", "untuk", "tidak", "apa", "dimana", "halo", "terima", "kasih", "pesanan", "mau", "dengan", "ya",
		"bisa", "tolong", "bantuan", "paket", "kapan"},
	"nl": {"de", "het", "een", "ik", "jij", "je", "wij", "is", "en", "of", "mijn", "voor", "niet", "wat", "waar", "alstublieft", "dank", "bedankt",
		"hallo", "bestelling", "pakket", "met", "ja", "nee", "wil"},
	"tr": {"ve", "bir", "bu", "ben", "sen", "değil", "ne", "nerede", "merhaba", "teşekkürler", "teşekkür", "sipariş", "istiyorum", "evet", "hayır",
		"yardım", "için", "mı", "mi"},
	"pl": {"i", "w", "nie", "jest", "to", "się", "na", "że", "z", "do", "jak", "gdzie", "dzień", "dobry", "dziękuję", "zamówienie", "proszę",
		"chcę", "tak", "paczka", "pomoc"},
}

// latinLexicon maps each word of latinWords to its languages.
var latinLexicon = func() map[string][]string {
	out := map[string][]string{}
	for lang, words := range latinWords {
		for _, w := range words {
			out[w] = append(out[w], lang)
		}
	}
	return out
}()

// whatlangCodes are the whatlanggo languages detectLatin accepts, by ISO 639-1 code.
var whatlangCodes = map[whatlanggo.Lang]string{
	whatlanggo.Eng: "en", whatlanggo.Fra: "fr", whatlanggo.Spa: "es", whatlanggo.Deu: "de", whatlanggo.Por: "pt",
	whatlanggo.Ita: "it", whatlanggo.Vie: "vi", whatlanggo.Ind: "id", whatlanggo.Nld: "nl", whatlanggo.Tur: "tr",
	whatlanggo.Pol: "pl",
}

// whatlangMinConfidence is the trigram detector's confidence below which detectLatin says "".
const whatlangMinConfidence = 0.3

// detectLatin guesses a Latin-script language: Vietnamese from its letters, then a vote of
// frequent words (one clear winner), then whatlanggo's trigram model restricted to the languages
// above when it is confident. "" when none of them can tell.
func detectLatin(text string) string {
	for _, r := range text {
		// ơ ư đ ă and the precomposed tone-marked vowels (U+1EA0–U+1EF9) are Vietnamese only.
		if r == 'ơ' || r == 'ư' || r == 'đ' || r == 'ă' || r == 'Ơ' || r == 'Ư' || r == 'Đ' || r == 'Ă' || (r >= 0x1EA0 && r <= 0x1EF9) {
			return "vi"
		}
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	votes := map[string]int{}
	for _, w := range words {
		for _, lang := range latinLexicon[w] {
			votes[lang]++
		}
	}
	best, bestVotes, second := "", 0, 0
	for _, lang := range []string{"fr", "es", "de", "pt", "it", "vi", "id", "nl", "tr", "pl"} { // fixed order: deterministic
		switch v := votes[lang]; {
		case v > bestVotes:
			best, bestVotes, second = lang, v, bestVotes
		case v > second:
			second = v
		}
	}
	if bestVotes > second && (bestVotes >= 2 || len(words) <= 2) {
		return best
	}
	info := whatlanggo.DetectWithOptions(text, whatlanggo.Options{Whitelist: whatlangWhitelist})
	if code, ok := whatlangCodes[info.Lang]; ok && info.Confidence >= whatlangMinConfidence {
		return code
	}
	return ""
}

// whatlangWhitelist restricts whatlanggo to whatlangCodes.
var whatlangWhitelist = func() map[whatlanggo.Lang]bool {
	out := map[whatlanggo.Lang]bool{}
	for l := range whatlangCodes {
		out[l] = true
	}
	return out
}()
