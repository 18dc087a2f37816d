package desk

import "testing"

func TestDetectLanguage(t *testing.T) {
	cases := map[string]string{
		"你好，我想退款":                      "zh",
		"こんにちは":                        "ja",
		"注文はいつ届きますか":                   "ja",
		"안녕하세요":                        "ko",
		"Здравствуйте":                 "ru",
		"مرحبا":                        "ar",
		"สวัสดีครับ":                   "th",
		"How do I reset my password?":  "en",
		"hello":                        "en",
		"Bonjour, je voudrais un café": "",
		"12345 !!!":                    "",
		"订单 A17 refund":                "zh",
	}
	for text, want := range cases {
		if got := DetectLanguage(text); got != want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestNormalizeLanguage(t *testing.T) {
	for in, want := range map[string]string{"zh-CN": "zh", " EN ": "en", "pt_BR": "pt", "": "", "ja": "ja"} {
		if got := NormalizeLanguage(in); got != want {
			t.Errorf("NormalizeLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}
