package desk

import (
	"strings"
	"unicode"

	"github.com/abadojack/whatlanggo"
)

// DetectLanguage guesses the language of text: from its script "zh", "ja", "ko", "ru", "ar", "th",
// "he", "el", "hi"; for Latin script "en", "fr", "es", "de", "pt", "it", "vi", "id", "nl", "tr" or
// "pl" (detectLatin, where English is one candidate among the others, not a first guess). It
// returns "" when it cannot tell (a word or two shared by several languages such as "no", "a",
// "ok", digits, emoji): a wrong language stored for a user is worse than none, because a message
// to them would then not be translated; "" leaves the decision to the recipient's preference, a
// later longer message or the LLM where one is configured.
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
	case latin*2 >= total:
		return detectLatin(text)
	}
	return ""
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

// latinWords are frequent words of the Latin-script languages detectLatin knows; a short chat
// message is usually decided by them. A word counts for every language it is listed under, so a
// word several languages share decides nothing. Words common in English and in another language
// ("no", "a", "i", "in", "me", "on", "do", "to", "is", "of", "will", "come") are in no list at
// all: English is the usual wrong guess for a short European or Vietnamese message, and a short
// English message must not become Polish or Dutch for its "to" or "is".
// Vietnamese is listed without diacritics too ("toi", "giup"): with them, its letters decide
// first.
var latinWords = map[string][]string{
	"en": {"the", "are", "you", "your", "my", "how", "what", "when", "where", "why", "who", "does", "and", "for", "with", "it",
		"hello", "hi", "hey", "please", "thanks", "thank", "want", "need", "help", "password", "shipping", "human", "yes", "not",
		"have", "has", "this", "that", "there", "would", "could", "should", "been", "was", "received", "arrived", "yet",
		"still", "package", "parcel", "order", "delivery", "account", "money", "back", "wrong", "broken", "damaged", "from",
		"just", "about", "which", "today", "yesterday", "they", "them", "our", "we", "any", "i'm", "it's", "don't", "can't",
		"good", "morning", "evening", "much", "late", "again", "cancel", "status", "never", "came", "got", "ship", "address"},
	"fr": {"je", "tu", "il", "elle", "nous", "vous", "est", "et", "mon", "ma", "mes", "votre", "vos", "pour", "pas", "ne", "qui", "dans",
		"sur", "avec", "bonjour", "merci", "où", "commande", "commandé", "colis", "remboursement", "oui", "s'il", "plaît",
		"voudrais", "une", "des", "les", "suis", "c'est", "au", "aux", "hier", "reçu", "j'ai", "livré", "encore", "toujours",
		"mais", "quand", "comment", "aide", "aujourd'hui", "n'est", "ai", "été", "ça", "avez", "pouvez", "rien", "bien", "salut",
		"bonsoir", "produit", "beaucoup"},
	"es": {"el", "los", "las", "yo", "es", "y", "mi", "mis", "para", "por", "qué", "dónde", "donde", "está", "hola", "gracias", "pedido",
		"quiero", "con", "favor", "sí", "una", "necesito", "ayuda", "paquete", "devolver", "del", "cómo", "cuándo", "ha", "llegado",
		"todavía", "pero", "tengo", "recibido", "ayer", "hoy", "buenos", "buenas", "días", "tardes", "noches", "puede", "puedo", "usted",
		"cuenta", "muy", "nada", "llegó", "producto"},
	"de": {"der", "die", "das", "ein", "eine", "ich", "du", "er", "wir", "ist", "und", "oder", "mein", "meine", "meiner", "meinem",
		"für", "nicht", "was", "wo", "bitte", "danke", "hallo", "bestellung", "paket", "mit", "ja", "nein", "möchte", "wie", "wann",
		"zurückgeben", "hilfe", "schön", "habe", "hat", "noch", "kein", "keine", "bekommen", "gestern", "heute", "kann",
		"können", "sie", "guten", "tag", "morgen", "abend", "geliefert", "warum", "sind", "auf", "zu"},
	"pt": {"os", "um", "uma", "eu", "você", "é", "meu", "minha", "não", "onde", "olá", "obrigado", "obrigada", "quero", "sim",
		"pedido", "encomenda", "ajuda", "preciso", "devolver", "com", "para", "está", "como", "quando", "ainda", "chegou"},
	"it": {"il", "lo", "gli", "io", "è", "mio", "mia", "per", "non", "che", "dove", "ciao", "grazie", "ordine", "vorrei", "sì", "sono",
		"aiuto", "pacco", "restituire", "quando", "buongiorno", "ancora", "arrivato"},
	"vi": {"tôi", "bạn", "là", "và", "của", "không", "có", "cho", "được", "đơn", "hàng", "xin", "chào", "cảm", "ơn", "giúp", "muốn",
		"trả", "lại", "toi", "ban", "khong", "giup", "muon", "duoc", "cua", "chao", "cam", "roi", "chua", "nhe", "minh", "gi",
		"nhieu", "giao", "tien", "hoan", "nhan", "sao", "vay", "dau", "oi", "anh", "chi", "em", "kiem", "tra", "khi", "nao", "hang",
		"don", "bi", "hong", "nay"},
	"id": {"saya", "anda", "adalah", "dan", "atau", "untuk", "tidak", "apa", "dimana", "halo", "terima", "kasih", "pesanan", "mau",
		"dengan", "ya", "bisa", "tolong", "bantuan", "paket", "kapan", "sudah", "belum", "sampai"},
	"nl": {"de", "het", "een", "ik", "jij", "je", "wij", "en", "mijn", "voor", "niet", "wat", "waar", "alstublieft", "dank",
		"bedankt", "hallo", "bestelling", "pakket", "met", "ja", "nee", "wil", "nog", "geen"},
	"tr": {"ve", "bir", "bu", "ben", "sen", "değil", "ne", "nerede", "merhaba", "teşekkürler", "teşekkür", "sipariş", "istiyorum",
		"evet", "hayır", "yardım", "için", "mı", "mi"},
	"pl": {"w", "nie", "jest", "się", "na", "że", "z", "jak", "gdzie", "dzień", "dobry", "dziękuję", "zamówienie",
		"proszę", "chcę", "tak", "paczka", "pomoc"},
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

// whatlangMinConfidence is the trigram detector's confidence below which detectLatin says "";
// whatlangMinLetters is the least letters it is asked about (on fewer, trigrams guess).
const (
	whatlangMinConfidence = 0.5
	whatlangMinLetters    = 16
)

// latinOrder is the fixed order the vote is counted in (deterministic ties).
var latinOrder = []string{"en", "fr", "es", "de", "pt", "it", "vi", "id", "nl", "tr", "pl"}

// detectLatin guesses a Latin-script language: Vietnamese from its letters, then a vote of
// frequent words in which English takes part like every other language (one clear winner: at
// least two words, or the only word of a one- or two-word text), then whatlanggo's trigram model
// restricted to the languages above when the text is long enough, the model confident and not
// contradicted by a single-word lead in the vote. "" when none of them can tell.
func detectLatin(text string) string {
	letters := 0
	for _, r := range text {
		// ơ ư đ ă and the precomposed tone-marked vowels (U+1EA0–U+1EF9) are Vietnamese only.
		if r == 'ơ' || r == 'ư' || r == 'đ' || r == 'ă' || r == 'Ơ' || r == 'Ư' || r == 'Đ' || r == 'Ă' || (r >= 0x1EA0 && r <= 0x1EF9) {
			return "vi"
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	words := strings.FieldsFunc(strings.ToLower(strings.ReplaceAll(text, "’", "'")), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	votes := map[string]int{}
	for _, w := range words {
		for _, lang := range latinLexicon[w] {
			votes[lang]++
		}
	}
	best, bestVotes, second := "", 0, 0
	for _, lang := range latinOrder {
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
	if letters < whatlangMinLetters {
		return ""
	}
	info := whatlanggo.DetectWithOptions(text, whatlanggo.Options{Whitelist: whatlangWhitelist})
	code, ok := whatlangCodes[info.Lang]
	if !ok || info.Confidence < whatlangMinConfidence || (bestVotes > second && code != best) {
		return "" // unsure, or the words point elsewhere: two weak signals that disagree
	}
	return code
}

// whatlangWhitelist restricts whatlanggo to whatlangCodes.
var whatlangWhitelist = func() map[whatlanggo.Lang]bool {
	out := map[whatlanggo.Lang]bool{}
	for l := range whatlangCodes {
		out[l] = true
	}
	return out
}()
