// Package userid is Tencent IM's UserID rule: 1–32 bytes of UTF-8 without control characters.
// It imports no other package of timdesk, so the domain package (desk) checks user IDs without
// depending on the tim client and, through it, net/http.
package userid

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest UserID Tencent accepts, in bytes.
const MaxLen = 32

// ErrInvalid: a UserID that is empty, longer than MaxLen bytes, not UTF-8, or has control
// characters or U+FFFD. tim.ErrInvalidUserID is this error.
var ErrInvalid = errors.New("invalid user id")

// Validate checks id against the UserID rule. Errors wrap ErrInvalid and say which part failed.
func Validate(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalid)
	case len(id) > MaxLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(id), MaxLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	for _, r := range id {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("%w: control character", ErrInvalid)
		case r == utf8.RuneError:
			// JSON decoders turn invalid UTF-8 and lone surrogate escapes ("\ud800") into U+FFFD:
			// an ID holding it is most likely not the one that was sent.
			return fmt.Errorf("%w: U+FFFD (a replaced invalid character)", ErrInvalid)
		}
	}
	return nil
}
