package userid

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		id   string
		want string // "" = valid, else the error text
	}{
		{"a", ""}, {"user_01-abc", ""}, {strings.Repeat("z", 32), ""}, {"用户", ""},
		{"", "invalid user id: empty"},
		{strings.Repeat("z", 33), "invalid user id: 33 bytes, at most 32"},
		{"a\tb", "invalid user id: control character"},
		{"a\u0085b", "invalid user id: control character"},
		{"\xc3", "invalid user id: not valid UTF-8"},
		{"a\ufffdb", "invalid user id: U+FFFD (a replaced invalid character)"},
	}
	for _, tt := range tests {
		err := Validate(tt.id)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tt.id, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) = %v, want %q wrapping ErrInvalid", tt.id, err, tt.want)
		}
	}
}
