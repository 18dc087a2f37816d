package workflows

import (
	"strings"
	"testing"
)

func TestCloudTranslationFits(t *testing.T) {
	tests := []struct {
		name     string
		original string
		sent     string
		want     string
	}{
		{"short", "Hi", "你好", `{"timdeskTranslation":{"originalText":"Hi","source":"en","target":"zh"}}`},
		{"too long together", strings.Repeat("a", 7000), strings.Repeat("b", 7000), ""},
		{"escaped characters count", "say \"hi\"\n", "说\"嗨\"", `{"timdeskTranslation":{"originalText":"say \"hi\"\n","source":"en","target":"zh"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cloudTranslation("en", "zh", tt.original, tt.sent); got != tt.want {
				t.Errorf("cloudTranslation = %q, want %q", got, tt.want)
			}
		})
	}
	if got := cloudNotice("rating"); got != `{"timdeskNotice":"rating"}` {
		t.Errorf("cloudNotice = %s", got)
	}
}
