package workflows

import (
	"errors"
	"fmt"
	"strings"
)

// ConsultationIDPrefix starts every consultation's workflow ID.
const ConsultationIDPrefix = "consultation/"

// ConsultationID is the workflow ID of a customer's consultation: ConsultationIDPrefix followed by
// EncodeUserID(customer).
//
// The rule: ASCII letters, digits and "-_.@" stay as they are; every other byte of the UTF-8 ID is
// written %XX (uppercase hex), as in a URL. The common IDs stay readable ("consultation/u_42"),
// and every UserID Tencent accepts (any UTF-8 up to 32 bytes: 客户_王, ユーザー, عميل, emoji) becomes
// an ID of at most 13+96 printable ASCII characters, which Temporal carries in gRPC headers
// (grpc-go refuses non-ASCII header values). "客户_王" → "consultation/%E5%AE%A2%E6%88%B7_%E7%8E%8B".
// DecodeUserID reverses it. The TimdeskCustomer search attribute keeps the raw ID, so an operator
// can search by what the customer is called. Nothing is released yet, so no workflow ever used
// another form and there is nothing to migrate.
func ConsultationID(customer string) string { return ConsultationIDPrefix + EncodeUserID(customer) }

// CustomerOf returns the customer of a consultation workflow ID (the inverse of ConsultationID).
func CustomerOf(workflowID string) (string, error) {
	enc, ok := strings.CutPrefix(workflowID, ConsultationIDPrefix)
	if !ok {
		return "", fmt.Errorf("customer of %q: %w: no %q prefix", workflowID, ErrBadEncodedID, ConsultationIDPrefix)
	}
	return DecodeUserID(enc)
}

// ErrBadEncodedID marks a string that EncodeUserID cannot have produced.
var ErrBadEncodedID = errors.New("malformed encoded user ID")

const upperHex = "0123456789ABCDEF"

// keptByte reports whether EncodeUserID writes b as it is.
func keptByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	case b == '-', b == '_', b == '.', b == '@':
		return true
	}
	return false
}

// EncodeUserID writes a UserID (any bytes) as printable ASCII: bytes keptByte accepts stay, every
// other byte becomes %XX with uppercase hex. It is injective, and DecodeUserID reverses it.
func EncodeUserID(id string) string {
	n := 0
	for i := 0; i < len(id); i++ {
		if !keptByte(id[i]) {
			n++
		}
	}
	if n == 0 {
		return id
	}
	var b strings.Builder
	b.Grow(len(id) + 2*n)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if keptByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0f])
	}
	return b.String()
}

// DecodeUserID reverses EncodeUserID. It accepts only what EncodeUserID produces (kept bytes and
// %XX with uppercase hex for the others), so every ID has exactly one encoded form; anything else
// is ErrBadEncodedID.
func DecodeUserID(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keptByte(c) {
			b.WriteByte(c)
			continue
		}
		if c != '%' || i+2 >= len(s) {
			return "", fmt.Errorf("decode user ID: %w: byte %d", ErrBadEncodedID, i)
		}
		hi, lo := strings.IndexByte(upperHex, s[i+1]), strings.IndexByte(upperHex, s[i+2])
		if hi < 0 || lo < 0 || keptByte(byte(hi<<4|lo)) {
			return "", fmt.Errorf("decode user ID: %w: escape at byte %d", ErrBadEncodedID, i)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}
