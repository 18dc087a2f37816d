package tim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
)

// ErrInvalidRequest reports a request rejected by the client before sending (missing required
// fields, too many items). It is permanent.
var ErrInvalidRequest = errors.New("invalid request")

// ErrBadResponse reports an HTTP 200 response whose body is not a Tencent JSON envelope (for
// example a proxy's HTML page). It is treated as transient.
var ErrBadResponse = errors.New("malformed response")

// APIError is a failure reported by Tencent IM: either a non-zero ErrorCode in the response
// envelope (HTTPStatus 200) or a non-200 HTTP status (Code 0). Command is the REST command
// (e.g. CommandSendMsg). Its text never contains the secret key or the admin UserSig.
type APIError struct {
	HTTPStatus int
	Code       int
	Info       string
	Command    string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("tim %s: http %d: %s", e.Command, e.HTTPStatus, e.Info)
	}
	return fmt.Sprintf("tim %s: error %d: %s", e.Command, e.Code, e.Info)
}

// Retryable reports a transient failure worth retrying with backoff (TENCENT_IM.md 3.13):
// HTTP 408/429/5xx, frequency limits, internal errors and timeouts, and 70050 (too many failed
// verifications: wait at least a minute).
func (e *APIError) Retryable() bool {
	if e.Code == 0 {
		return e.HTTPStatus == 408 || e.HTTPStatus == 429 || e.HTTPStatus >= 500
	}
	switch e.Code {
	case 60007, 60011, 60018, 60019, // frequency limits
		60008, 60014, // service / account translation timeout
		20004, 20005, // network / internal
		70169, 70202, 70500, 70050, // account service timeouts; too many failed verifications
		90992, 90994, 90995, 91000, // messaging internal
		10002, 10023, // group internal; group send rate
		30006, 30007, 40006, 20028, // relation/profile internal; concurrent modification
		80003: // before-send callback failed and console says "don't deliver"
		return true
	}
	return false
}

// Resign reports an authentication failure of the admin UserSig: regenerate it once, then fail
// hard. The client already did that re-sign before returning such an error.
func (e *APIError) Resign() bool {
	switch e.Code {
	case 70001, 70002, 70003, 70005, 70009, 70013, 70014, 70016, 70020, 60004, 60005, 20002:
		return true
	}
	return false
}

// Permanent reports a failure that will not go away by retrying: everything that is neither
// Retryable nor Resign (unknown codes included).
func (e *APIError) Permanent() bool { return !e.Retryable() && !e.Resign() }

// RateLimited reports a frequency-limit code (60007, 60011, 60018, 60019, 10023) or HTTP 429.
func (e *APIError) RateLimited() bool {
	switch e.Code {
	case 60007, 60011, 60018, 60019, 10023:
		return true
	}
	return e.Code == 0 && e.HTTPStatus == 429
}

// NotImported reports that an account in the request does not exist (70107, 20003, 90012,
// 90048, 90008): import it, then resend.
func (e *APIError) NotImported() bool {
	switch e.Code {
	case 70107, 20003, 90012, 90048, 90008:
		return true
	}
	return false
}

// IsRetryable reports whether err is transient: a Retryable *APIError, ErrBadResponse, a
// network error, a timeout, or an unexpected EOF. Cancellation and everything else is not.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Retryable()
	}
	if errors.Is(err, ErrBadResponse) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	// *url.Error itself satisfies net.Error; judge what it wraps (a bad scheme is permanent,
	// a refused/reset connection, DNS failure or timeout is transient).
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		err = urlErr.Err
	}
	_, isNet := errors.AsType[net.Error](err)
	return isNet
}

// IsResign reports an admin UserSig authentication failure (*APIError.Resign).
func IsResign(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && apiErr.Resign()
}

// IsPermanent reports a failure retries cannot fix: a Permanent or Resign *APIError (the client
// has already re-signed once), ErrInvalidRequest, ErrInvalidUserID, ErrInvalidExpiry or
// ErrNoSecretKey.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrInvalidUserID) ||
		errors.Is(err, ErrInvalidExpiry) || errors.Is(err, ErrNoSecretKey) {
		return true
	}
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && !apiErr.Retryable()
}

// IsRateLimited reports a frequency-limit *APIError.
func IsRateLimited(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && apiErr.RateLimited()
}

// IsNotImported reports an account-not-imported *APIError (70107/20003/90012/90048/90008).
func IsNotImported(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && apiErr.NotImported()
}
