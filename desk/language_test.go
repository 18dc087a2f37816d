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
// Vietnamese, Indonesian, Dutch, Turkish or Polish are recognised, short and long, Vietnamese with
// and without diacritics; English takes part in the same vote, so a message sharing a word with
// English ("no", "a", "in", "me", "on", "will") is not English for it, and English messages with
// such words stay English. A text too short or too shared to tell is "" (unknown), never a guess:
// a wrong language stored for a user means messages to them are not translated.
func TestDetectLatinLanguages(t *testing.T) {
	tests := []struct{ text, want string }{
		// French
		{"Bonjour, je voudrais un café", "fr"},
		{"Bonjour, je voudrais un remboursement pour ma commande", "fr"},
		{"Où est mon colis ?", "fr"},
		{"merci", "fr"},
		{"Il a commandé hier", "fr"},
		{"Mon colis n'est pas arrivé", "fr"},
		{"Le produit est cassé", "fr"},
		{"Je n'ai toujours pas reçu mon colis", "fr"},
		{"Ma commande est en retard depuis une semaine", "fr"},
		{"Bonjour, j'ai commandé une robe la semaine dernière et je ne l'ai toujours pas reçue, pouvez-vous vérifier ?", "fr"},
		// Spanish
		{"Hola, quiero devolver mi pedido", "es"},
		{"¿Dónde está mi paquete?", "es"},
		{"gracias", "es"},
		{"Mi pedido no ha llegado", "es"},
		{"No, gracias", "es"},
		{"El producto llegó roto", "es"},
		{"Buenas tardes", "es"},
		{"Necesito una factura", "es"},
		{"Hola, hice un pedido hace dos semanas y todavía no ha llegado, ¿me pueden ayudar?", "es"},
		// German
		{"Hallo, ich möchte meine Bestellung zurückgeben", "de"},
		{"Wo ist mein Paket?", "de"},
		{"Danke schön", "de"},
		{"Ich will in meine Bestellung", "de"},
		{"Guten Morgen", "de"},
		{"Ich habe noch nichts bekommen", "de"},
		{"Das Paket ist beschädigt angekommen", "de"},
		{"Guten Tag, ich habe vor zwei Wochen eine Jacke bestellt und sie ist immer noch nicht angekommen.", "de"},
		// Vietnamese, with diacritics and without
		{"Xin chào, tôi muốn trả lại đơn hàng", "vi"},
		{"Cảm ơn", "vi"},
		{"Tôi cần giúp đỡ", "vi"},
		{"Khi nào giao hàng?", "vi"},
		{"Chào shop, mình đặt hàng tuần trước mà đến giờ vẫn chưa nhận được, shop kiểm tra giúp mình nhé", "vi"},
		{"Toi can giup do", "vi"},
		{"Xin chao", "vi"},
		{"Cam on ban", "vi"},
		{"Khi nao giao hang?", "vi"},
		{"Toi muon tra lai don hang nay vi bi hong", "vi"},
		{"Chao shop, minh dat hang tuan truoc ma den gio van chua nhan duoc, shop kiem tra giup minh nhe", "vi"},
		// the others
		{"Olá, quero devolver o meu pedido", "pt"},
		{"Ciao, vorrei restituire il mio ordine", "it"},
		{"Halo, saya mau refund pesanan saya", "id"},
		{"Hallo, waar is mijn pakket? Ik wil mijn bestelling", "nl"},
		{"Merhaba, siparişim nerede?", "tr"},
		{"Dzień dobry, gdzie jest moje zamówienie?", "pl"},
		// English, including its words other languages share
		{"I want a human please", "en"},
		{"Hello, I want a refund", "en"},
		{"No, thanks", "en"},
		{"ok thanks", "en"},
		{"hi", "en"},
		{"Good morning", "en"},
		{"Is my order on the way?", "en"},
		{"Can you help me?", "en"},
		{"Do you ship to Canada?", "en"},
		{"Do I need to sign for it?", "en"},
		{"It arrived damaged", "en"},
		{"My parcel is late again", "en"},
		{"Where is my package?", "en"},
		{"I was charged twice", "en"},
		{"Hi, I ordered a jacket two weeks ago and it still has not arrived, could you check on it for me?", "en"},
		// unknown: shared by several languages, a loanword, or no language at all
		{"la", ""},
		{"No", ""},
		{"Si", ""},
		{"ok", ""},
		{"a", ""},
		{"me", ""},
		{"in", ""},
		{"refund", ""},
		{"Xyzzy", ""},
	}
	for _, tt := range tests {
		if got := DetectLanguage(tt.text); got != tt.want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
