package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"

	"github.com/timdesk/timdesk/tim"
)

// Error codes of the JSON error body {"error":{"code","message","requestID"}}; each maps to one
// HTTP status in errorStatus.
const (
	codeInvalid      = "invalid"      // 400
	codeUnauthorized = "unauthorized" // 401
	codeForbidden    = "forbidden"    // 403
	codeNotFound     = "not_found"    // 404
	codeMethod       = "method_not_allowed"
	codeTooLarge     = "too_large"            // 413
	codeEncoding     = "unsupported_encoding" // 415
	codeRateLimited  = "rate_limited"         // 429
	codeUpstream     = "upstream"             // 502
	codeUnavailable  = "unavailable"          // 503
	codeTimeout      = "timeout"              // 504
	codeInternal     = "internal"             // 500
)

// codeAgentClaimRequired (403): a login-system token asked for a roster agent's or supervisor's
// UserSig without the agent claim (TIMDESK_AUTH_JWT_AGENT_CLAIM).
const codeAgentClaimRequired = "agent_claim_required"

// errorStatus is the one code → HTTP status table.
var errorStatus = map[string]int{
	codeInvalid:      http.StatusBadRequest,
	codeUnauthorized: http.StatusUnauthorized,
	codeForbidden:    http.StatusForbidden,
	codeNotFound:     http.StatusNotFound,
	codeMethod:       http.StatusMethodNotAllowed,
	codeTooLarge:     http.StatusRequestEntityTooLarge,
	codeEncoding:     http.StatusUnsupportedMediaType,
	codeRateLimited:  http.StatusTooManyRequests,
	codeUpstream:     http.StatusBadGateway,
	codeUnavailable:  http.StatusServiceUnavailable,
	codeTimeout:      http.StatusGatewayTimeout,
	codeInternal:     http.StatusInternalServerError,

	codeAgentClaimRequired: http.StatusForbidden,
}

// apiError is an error whose message is safe to show to the client. err (optional) is the cause,
// logged but never sent.
type apiError struct {
	code    string
	message string
	err     error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.code + ": " + e.message + ": " + e.err.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.err }

// newError returns an apiError with a client-safe message.
func newError(code, message string) *apiError { return &apiError{code: code, message: message} }

// wrapError returns an apiError with a client-safe message and a cause that is only logged.
func wrapError(code, message string, cause error) *apiError {
	return &apiError{code: code, message: message, err: cause}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
	// ActionStatus, ErrorCode and ErrorInfo answer a refused Tencent callback in Tencent's own
	// shape too (ErrorInfo is the same client-safe message), so Tencent's callback log shows why.
	ActionStatus string `json:"ActionStatus,omitempty"`
	ErrorCode    int    `json:"ErrorCode,omitempty"`
	ErrorInfo    string `json:"ErrorInfo,omitempty"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestID"`
}

// classify turns any error into a code and a client-safe message. Unknown errors become
// (codeInternal, generic message).
func classify(err error) (code, message string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code, ae.message
	}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code == http.StatusRequestEntityTooLarge {
		// The server's BodyLimit (fasthttp refuses the request before any handler).
		return codeTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBodyBytes)
	}
	if errors.As(err, &fe) {
		return codeForStatus(fe.Code), fe.Message
	}
	var apiErr *tim.APIError
	var notFound *serviceerror.NotFound
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	switch {
	case errors.Is(err, tim.ErrCallbackSign), errors.Is(err, tim.ErrCallbackStale):
		return codeUnauthorized, "callback signature missing, wrong or stale"
	case errors.Is(err, tim.ErrCallbackAppID):
		return codeForbidden, "callback for another SdkAppid"
	case errors.Is(err, tim.ErrCallbackQuery):
		return codeInvalid, callbackQueryMessage(err)
	case errors.Is(err, tim.ErrInvalidUserID):
		return codeInvalid, "invalid userID: 1-32 bytes of UTF-8, no control characters"
	case errors.As(err, &apiErr):
		return codeUpstream, "Tencent IM rejected the request"
	case errors.As(err, &notFound):
		return codeNotFound, "not found"
	case errors.As(err, &unavailable):
		return codeUnavailable, "Temporal is unavailable"
	case errors.As(err, &deadline), errors.Is(err, context.DeadlineExceeded):
		return codeTimeout, "the request took too long"
	}
	return codeInternal, "internal error"
}

// temporalError maps a failed Temporal call of an admin handler: not found → 404 with notFoundMsg
// (which workflow was missing); a call cut short by the request's deadline or cancellation → 504
// (is the worker running?). Everything else is left to classify (Unavailable 503, DeadlineExceeded
// 504, unknown 500).
func temporalError(ctx context.Context, notFoundMsg string, err error) error {
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return wrapError(codeNotFound, notFoundMsg, err)
	case ctx.Err() != nil:
		return wrapError(codeTimeout, "Temporal did not answer in time (is the worker running?)", err)
	}
	return err
}

func codeForStatus(status int) string {
	for code, s := range errorStatus {
		if s == status && code != codeInternal {
			return code
		}
	}
	if status >= 500 {
		return codeInternal
	}
	return codeInvalid
}

// errorHandler is the app's single error mapper (STYLE 13): typed errors become their status and a
// JSON body; anything else is logged with the request ID and answered with a generic 500.
//
// A refused Tencent callback (POST /tim/callback) is the exception: it is answered HTTP 200 with
// ErrorCode 1 (and the same error object). Tencent counts any other status as a failed callback,
// and a failed before-send callback is delivered by default (fail-open, TENCENT_IM.md §4.3): a
// 401 for a skewed clock let a customer's message reach the service account with no consultation,
// an agent's reach the customer raw. ErrorCode 1 refuses the send whatever the console's policy. The
// status the refusal has elsewhere stays in the log (refusedStatus), the access log and
// timdesk_callbacks_total{decision="refused_<code>"}. m may be nil (no metrics).
func errorHandler(logger *slog.Logger, m *metrics) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		code, message := classify(err)
		status, ok := errorStatus[code]
		if !ok {
			status = http.StatusInternalServerError
		}
		var fe *fiber.Error
		if errors.As(err, &fe) && fe.Code >= 400 && fe.Code < 600 {
			status = fe.Code
		}
		rid := requestID(c)
		if rid == "" { // refused by the server before the middleware ran (body over BodyLimit...)
			rid = newRequestID()
			c.Set(fiber.HeaderXRequestID, rid)
		}
		callback := isCallback(c)
		switch {
		case callback && status >= 500:
			logger.Error("callback failed", "requestID", rid, "route", routeLabel(c), "code", code,
				"refusedStatus", status, "errorCode", 1, "error", err)
		case callback:
			// A refused callback is a client error (Tencent misconfigured, or someone else posting),
			// never a Temporal outage: say which rule it broke.
			logger.Warn("callback refused", "requestID", rid, "code", code, "refusedStatus", status,
				"errorCode", 1, "reason", message)
		case status >= 500:
			logger.Error("request failed", "requestID", rid, "method", c.Method(), "route", routeLabel(c),
				"status", status, "error", err)
		default:
			logger.Debug("request rejected", "requestID", rid, "method", c.Method(), "route", routeLabel(c),
				"status", status, "code", code, "error", err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		body := errorBody{Error: errorDetail{Code: code, Message: message, RequestID: rid}}
		if callback {
			body.ActionStatus, body.ErrorCode, body.ErrorInfo = "FAIL", 1, message
			c.Locals(localRefusedStatus, status)
			if m != nil {
				m.observeCallbackRefusal(commandLabel(c.Query("CallbackCommand")), code)
			}
			return c.Status(http.StatusOK).JSON(body)
		}
		if status == http.StatusUnauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="timdesk"`)
		}
		return c.Status(status).JSON(body)
	}
}

// localRefusedStatus holds, for a refused callback answered 200, the HTTP status the refusal has
// off the callback path (for the access log).
const localRefusedStatus = "refusedStatus"

// isCallback reports whether c is a POST to the Tencent callback. Fiber (not case-sensitive, not
// strict) routes /tim/callback/ and /TIM/Callback to the callback too; a middleware's refusal has
// no route yet, so the path is compared the same way. Tencent only POSTs; another method keeps
// its plain HTTP status (404).
func isCallback(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodPost && strings.EqualFold(strings.TrimSuffix(c.Path(), "/"), callbackPath)
}

// callbackQueryMessage names what was wrong with a callback query (a parameter missing, malformed
// or given twice); the text after ErrCallbackQuery is built by tim from parameter names only.
func callbackQueryMessage(err error) string {
	const prefix = "malformed callback query"
	_, detail, ok := strings.Cut(err.Error(), tim.ErrCallbackQuery.Error()+": ")
	if !ok || detail == "" || len(detail) > 100 {
		return prefix
	}
	return prefix + ": " + detail
}
