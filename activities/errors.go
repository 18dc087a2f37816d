package activities

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sashabaranov/go-openai"
	"go.temporal.io/sdk/temporal"

	"github.com/timdesk/timdesk/tim"
)

// Application error types of activity failures. Workflows and retry policies match on these
// strings, never on Go type names. All are permanent (NonRetryableErrorTypes) except
// ErrTypeLLMBadReply, which is retried: the model may answer properly next time.
const (
	// ErrTypeBadInput: the activity input cannot work (empty text, unknown agent...).
	ErrTypeBadInput = "BadInput"
	// ErrTypeLLMRejected: the LLM endpoint refused the request (400/401/403/404/422).
	ErrTypeLLMRejected = "LLMRejected"
	// ErrTypeLLMBadReply: the model's reply could not be used (not the JSON asked for); retried.
	ErrTypeLLMBadReply = "LLMBadReply"
	// ErrTypeIMRejected: Tencent IM rejected the request for good (parameters, quota, callback).
	ErrTypeIMRejected = "IMRejected"
	// ErrTypeIMNotImported: a sender or recipient account is not imported, even after importing.
	ErrTypeIMNotImported = "IMNotImported"
	// ErrTypeIMAuth: the admin UserSig is refused even after re-signing (wrong key or app).
	ErrTypeIMAuth = "IMAuth"
)

// NonRetryableErrorTypes lists the permanent error types above (all but ErrTypeLLMBadReply), for
// retry policies.
var NonRetryableErrorTypes = []string{
	ErrTypeBadInput, ErrTypeLLMRejected, ErrTypeIMRejected, ErrTypeIMNotImported, ErrTypeIMAuth,
}

// classifyLLM turns a go-openai error into a Temporal one: 4xx client errors (except 408/409/429)
// are permanent; everything else (429, 5xx, network, timeouts) is returned wrapped for a retry.
func classifyLLM(op string, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: llm refused (HTTP %d)", op, status), ErrTypeLLMRejected, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// classifyIM turns a tim error into a Temporal one: retryable and re-sign codes are retried
// (the tim client re-signs), not-imported and other permanent codes are not.
func classifyIM(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, tim.ErrInvalidRequest):
		return temporal.NewNonRetryableApplicationError(op+": invalid request", ErrTypeBadInput, err)
	case tim.IsNotImported(err):
		return temporal.NewNonRetryableApplicationError(op+": account not imported", ErrTypeIMNotImported, err)
	case tim.IsRetryable(err):
		return fmt.Errorf("%s: %w", op, err)
	case tim.IsResign(err):
		return temporal.NewNonRetryableApplicationError(op+": admin signature refused", ErrTypeIMAuth, err)
	}
	var apiErr *tim.APIError
	if errors.As(err, &apiErr) && apiErr.Permanent() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: tencent im error %d", op, apiErr.Code), ErrTypeIMRejected, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
