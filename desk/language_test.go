package desk

import "testing"

func TestDetectLanguage(t *testing.T) {
	cases := map[string]string{
		"你好，我想退款":                     "zh",
		"こんにちは":                       "ja",
		"注文はいつ届きますか":                  "ja",
		"안녕하세요":                       "ko",
		"Здравствуйте":                "ru",
		"مرحبا":                       "ar",
		"สวัสดีครับ":                  "th",
		"How do I reset my password?": "en",
		"hello":                       "en",
		"12345 !!!":                   "",
		"订单 A17 refund":               "zh",
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

// TestDetectLatinLanguages: senders writing French, Spanish, German, Portuguese, Italian,
// Vietnamese, Indonesian, Dutch, Turkish or Polish are recognised (before, only English was), so
// customer↔customer messages in those languages get translated.
func TestDetectLatinLanguages(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Bonjour, je voudrais un café", "fr"},
		{"Bonjour, je voudrais un remboursement pour ma commande", "fr"},
		{"Où est mon colis ?", "fr"},
		{"merci", "fr"},
		{"Hola, quiero devolver mi pedido", "es"},
		{"¿Dónde está mi paquete?", "es"},
		{"gracias", "es"},
		{"Hallo, ich möchte meine Bestellung zurückgeben", "de"},
		{"Wo ist mein Paket?", "de"},
		{"Danke schön", "de"},
		{"Olá, quero devolver o meu pedido", "pt"},
		{"Ciao, vorrei restituire il mio ordine", "it"},
		{"Xin chào, tôi muốn trả lại đơn hàng", "vi"},
		{"Cảm ơn", "vi"},
		{"Halo, saya mau refund pesanan saya", "id"},
		{"Hallo, waar is mijn pakket? Ik wil mijn bestelling", "nl"},
		{"Merhaba, siparişim nerede?", "tr"},
		{"Dzień dobry, gdzie jest moje zamówienie?", "pl"},
		{"I want a human please", "en"},
		{"Hello, I want a refund", "en"},
		{"la", ""}, // French, Spanish and Italian alike
		{"Xyzzy", ""},
	}
	for _, tt := range tests {
		if got := DetectLanguage(tt.text); got != tt.want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
