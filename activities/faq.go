package activities

import (
	"fmt"
	"os"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// DefaultFAQThreshold is the minimum match score for the offline answerer to answer (0..1).
const DefaultFAQThreshold = 0.6

// FAQEntry is one question with its answer (TIMDESK_FAQ_FILE is a YAML list of them):
//
//   - q: ["how long does shipping take", "delivery time"]
//     a: "Orders ship within 24 hours and arrive in 3-5 days."
type FAQEntry struct {
	Q []string `yaml:"q" json:"q"`
	A string   `yaml:"a" json:"a"`
}

// LoadFAQ reads and validates a FAQ file; an empty path gives an empty FAQ.
func LoadFAQ(path string) ([]FAQEntry, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load faq: %w", err)
	}
	faq, err := ParseFAQ(data)
	if err != nil {
		return nil, fmt.Errorf("load faq %s: %w", path, err)
	}
	return faq, nil
}

// ParseFAQ decodes a FAQ document; every entry needs at least one question and an answer.
func ParseFAQ(data []byte) ([]FAQEntry, error) {
	var faq []FAQEntry
	if err := yaml.Unmarshal(data, &faq); err != nil {
		return nil, fmt.Errorf("parse faq: %w", err)
	}
	for i, e := range faq {
		if len(e.Q) == 0 || strings.TrimSpace(e.A) == "" {
			return nil, fmt.Errorf("parse faq: entry %d needs q and a", i)
		}
	}
	return faq, nil
}

// MatchFAQ returns the best entry for text and its score in 0..1: the share of a question
// variant's words (CJK: character pairs) found in the text, best over all variants.
func MatchFAQ(faq []FAQEntry, text string) (FAQEntry, float64) {
	tt := tokens(text)
	var best FAQEntry
	bestScore := 0.0
	for _, e := range faq {
		for _, q := range e.Q {
			qt := tokens(q)
			if len(qt) == 0 {
				continue
			}
			hit := 0
			for t := range qt {
				if tt[t] {
					hit++
				}
			}
			score := float64(hit) / float64(len(qt))
			if score > bestScore {
				best, bestScore = e, score
			}
		}
	}
	return best, bestScore
}

var stopWords = map[string]bool{
	"the": true, "a": true, "an": true, "is": true, "are": true, "i": true, "my": true, "to": true,
	"do": true, "does": true, "of": true, "for": true, "can": true, "you": true, "me": true, "it": true,
	"please": true, "how": true, "what": true, "?": true,
}

// tokens splits text into lower-case words for Latin scripts and overlapping character pairs
// for Han, kana and Hangul (which have no spaces).
func tokens(text string) map[string]bool {
	out := map[string]bool{}
	var word []rune
	var cjk []rune
	flushWord := func() {
		if len(word) > 0 {
			w := string(word)
			if !stopWords[w] {
				out[w] = true
			}
			word = word[:0]
		}
	}
	flushCJK := func() {
		switch {
		case len(cjk) == 1:
			out[string(cjk)] = true
		case len(cjk) > 1:
			for i := 0; i+1 < len(cjk); i++ {
				out[string(cjk[i:i+2])] = true
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			word = append(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}
