package workflows

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestConsultationID(t *testing.T) {
	tests := []struct {
		name, customer, want string
	}{
		{"ascii stays readable", "alice", "consultation/alice"},
		{"common punctuation stays", "u_42-a.b@x", "consultation/u_42-a.b@x"},
		{"chinese", "客户_王", "consultation/%E5%AE%A2%E6%88%B7_%E7%8E%8B"},
		{"japanese", "ユーザー", "consultation/%E3%83%A6%E3%83%BC%E3%82%B6%E3%83%BC"},
		{"arabic", "عميل", "consultation/%D8%B9%D9%85%D9%8A%D9%84"},
		{"emoji", "cat😺", "consultation/cat%F0%9F%98%BA"},
		{"percent is escaped", "100%", "consultation/100%25"},
		{"slash and space are escaped", "a/b c", "consultation/a%2Fb%20c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConsultationID(tt.customer)
			if got != tt.want {
				t.Fatalf("ConsultationID(%q) = %q, want %q", tt.customer, got, tt.want)
			}
			back, err := CustomerOf(got)
			if err != nil || back != tt.customer {
				t.Fatalf("CustomerOf(%q) = %q, %v; want %q", got, back, err, tt.customer)
			}
		})
	}
}

func TestDecodeUserIDRefuses(t *testing.T) {
	for _, s := range []string{"%", "%4", "%zz", "%e5", "%41" /* 'A' is kept, never escaped */, "a b", "客", "a%2"} {
		if got, err := DecodeUserID(s); !errors.Is(err, ErrBadEncodedID) {
			t.Errorf("DecodeUserID(%q) = %q, %v; want ErrBadEncodedID", s, got, err)
		}
	}
	if _, err := CustomerOf("desk/alice"); !errors.Is(err, ErrBadEncodedID) {
		t.Errorf("CustomerOf without the prefix: err = %v, want ErrBadEncodedID", err)
	}
}

// FuzzEncodeUserID: every byte string encodes to printable ASCII without '/', decodes back to
// itself, and a 32-byte ID stays within Temporal's 1,000-character ID limit.
func FuzzEncodeUserID(f *testing.F) {
	for _, s := range []string{"alice", "客户_王", "ユーザー", "عميل", "👩‍💻🚀", "abcdefghijklmnopqrstuvwxyz012345", "%25", "\x00\xff", "a/b", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		enc := EncodeUserID(id)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x21 || enc[i] > 0x7e || enc[i] == '/' {
				t.Fatalf("EncodeUserID(%q) = %q: byte %d (%#x) is not printable ASCII", id, enc, i, enc[i])
			}
		}
		back, err := DecodeUserID(enc)
		if err != nil || back != id {
			t.Fatalf("DecodeUserID(EncodeUserID(%q)) = %q, %v", id, back, err)
		}
		if len(id) <= 32 && len(ConsultationID(id)) > 1000 {
			t.Fatalf("ConsultationID(%q) is %d characters", id, len(ConsultationID(id)))
		}
		if utf8.ValidString(id) && !strings.HasPrefix(ConsultationID(id), ConsultationIDPrefix) {
			t.Fatal("prefix lost")
		}
		// Decoding arbitrary input never panics and, when it succeeds, re-encodes to the input.
		if dec, err := DecodeUserID(id); err == nil && EncodeUserID(dec) != id {
			t.Fatalf("DecodeUserID(%q) = %q, which encodes to %q", id, dec, EncodeUserID(dec))
		}
	})
}
